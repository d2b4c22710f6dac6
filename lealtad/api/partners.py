"""K4: the partner endpoint. A partner program, with its own key, turns its points into coins
for a customer it knows by document. Only partner keys reach it (lealtad.api.auth)."""

from typing import Annotated

from django.http import HttpResponse
from ninja import Router, Schema, Status
from pydantic import StrictInt, StrictStr, StringConstraints

from lealtad.api import paging
from lealtad.api import schemas as s
from lealtad.api.auth import PartnerAuth
from lealtad.coins import conversion_requests, partners

router = Router(tags=["partners"], auth=PartnerAuth())
PROBLEMS = {code: s.Problem for code in (400, 401, 403, 404, 409, 422, 429)}

Text = Annotated[StrictStr, StringConstraints(min_length=1, max_length=32, strip_whitespace=True)]


class ConversionIn(Schema):
    document_type: Text
    document_number: Text
    country: Annotated[StrictStr, StringConstraints(min_length=2, max_length=2)]
    partner_points: StrictInt
    reference: Annotated[
        StrictStr, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)
    ]


class PartnerConversionOut(Schema):  # not me_more.ConversionOut (one OpenAPI name)
    id: str
    reference: str
    partner: str
    customer_id: str
    partner_points: int
    coins: int
    balance_after: int
    created_at: str


def conversion_out(record) -> dict:
    return {
        "id": str(record.transaction_id),
        "reference": record.reference,
        "partner": record.partner.name,
        "customer_id": str(record.customer_id),
        "partner_points": record.partner_points,
        "coins": record.coins,
        "balance_after": record.transaction.balance_after,
        "created_at": record.created_at.isoformat(),
    }


@router.post(
    "/partner/conversions",
    response={200: PartnerConversionOut, 201: PartnerConversionOut, **PROBLEMS},
)
def convert(request, payload: ConversionIn):
    """K4: credit floor(partner_points × the partner's rate) coins to the customer's wallet.

    Idempotent by `reference`: the same reference again answers 200 with the same conversion and
    credits nothing; the same reference with other data is 409 `conversion_reference_reused`.
    Errors: 404 `not_found` (no customer with this document), 422 `validation_error`,
    422 `conversion_below_one_coin` (with `minimum`, the fewest points that make a coin),
    403 `customer_suspended`, 403 `forbidden` for any key but a partner's."""
    partner = request.auth.partner
    customer = partners.find_customer(
        payload.country, payload.document_type, payload.document_number
    )
    result = partners.convert(
        partner=partner,
        customer=customer,
        partner_points=payload.partner_points,
        reference=payload.reference,
    )
    return Status(201 if result.created else 200, conversion_out(result.record))


# --- A8: conversions the customer asked for in the app ---------------------------------------


class RequestOut(Schema):
    id: str
    reference: str
    status: str
    partner_points: int
    coins: int
    country: str
    document_type: str
    document_number: str
    reason: str
    created_at: str
    conversion: PartnerConversionOut | None


class RefusalIn(Schema):
    reason: Annotated[StrictStr, StringConstraints(max_length=200, strip_whitespace=True)] = ""


def request_out(request) -> dict:
    customer = request.customer
    return {
        "id": str(request.pk),
        "reference": request.reference,
        "status": request.status,
        "partner_points": request.partner_points,
        "coins": partners.coins_for_points(request.partner_points, request.partner.rate),
        "country": customer.country,
        "document_type": customer.document_type,
        "document_number": customer.document_number,
        "reason": request.reason,
        "created_at": request.created_at.isoformat(),
        "conversion": conversion_out(request.conversion) if request.conversion else None,
    }


@router.get("/partner/conversion-requests", response={200: list[RequestOut], **PROBLEMS})
def pending_requests(
    request, response: HttpResponse, limit: paging.Limit = 100, offset: paging.Offset = 0
):
    """A8: the conversions customers asked for in the app, oldest first, still waiting for this
    partner (only a partner with `app_conversion` gets any). For each, debit the customer's points
    on your side (find them by document), then confirm; or refuse."""
    partner = request.auth.partner
    rows, _next = paging.page(
        request, response, conversion_requests.pending_for(partner), limit, offset
    )
    return [request_out(r) for r in rows]


@router.post(
    "/partner/conversion-requests/{request_id}/confirm",
    response={200: RequestOut, 201: RequestOut, **PROBLEMS},
)
def confirm_request(request, request_id: str):
    """The points were debited: the coins are credited (201), once; confirming again answers
    200 and credits nothing. 409 `conversion_request_decided` if it was refused; 404 if it is
    not this partner's."""
    done, converted = conversion_requests.confirm(request.auth.partner, request_id)
    return Status(201 if converted else 200, request_out(done))


@router.post(
    "/partner/conversion-requests/{request_id}/refusal", response={200: RequestOut, **PROBLEMS}
)
def refuse_request(request, request_id: str, payload: RefusalIn):
    """The points cannot be debited (not enough, no such member…): nothing is credited and the
    customer sees the reason. 409 `conversion_request_decided` if it was converted."""
    return request_out(conversion_requests.refuse(request.auth.partner, request_id, payload.reason))
