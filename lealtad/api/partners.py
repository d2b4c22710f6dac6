"""K4: the partner endpoint. A partner program, with its own key, turns its points into coins
for a customer it knows by document. Only partner keys reach it (lealtad.api.auth)."""

from typing import Annotated

from ninja import Router, Schema, Status
from pydantic import StrictInt, StrictStr, StringConstraints

from lealtad.api import schemas as s
from lealtad.api.auth import PartnerAuth
from lealtad.coins import partners

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


class ConversionOut(Schema):
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


@router.post("/partner/conversions", response={200: ConversionOut, 201: ConversionOut, **PROBLEMS})
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
