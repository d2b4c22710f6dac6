"""The customer's own API for ratings (A5), coins given, converted and spent (A8, A9) and privacy
(API.md Part 2, "The customer's own API"). Customer tokens only (`CustomerAuth`): `request.auth`
is the customer and everything is theirs — another customer's rating, visit, voucher or
membership is 404. Endpoints parse, call one action (lealtad.ratings, lealtad.coins,
lealtad.customers.privacy) and render."""

from datetime import datetime
from typing import Annotated

from django.http import HttpResponse
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from pydantic import StrictBool, StrictInt, StrictStr, StringConstraints

from lealtad.api import paging
from lealtad.api import schemas as s
from lealtad.api.customer_auth import CustomerAuth
from lealtad.coins import causes, conversion_requests, vouchers
from lealtad.coins.actions import wallet_of
from lealtad.coins.models import Cause, PartnerConversion
from lealtad.coins.partners import coins_for_points
from lealtad.core.errors import NotFound
from lealtad.core.ids import parse_id
from lealtad.customers import privacy
from lealtad.customers.models import Membership
from lealtad.ratings import actions as ratings

router = Router(tags=["me"], auth=CustomerAuth())
PROBLEMS = {code: s.Problem for code in (400, 401, 403, 404, 409, 422)}
Text = Annotated[StrictStr, StringConstraints(max_length=4000)]


# --- ratings (A5) ----------------------------------------------------------------------------


class MessageOut(Schema):
    author: str
    body: str
    at: datetime
    read: bool
    automatic: bool


class MyRatingOut(Schema):
    id: str
    merchant: dict
    transaction_id: str
    score: int
    comment: str
    at: datetime
    unread: int
    messages: list[MessageOut]


class RateIn(Schema):
    transaction_id: s.Id
    score: StrictInt
    comment: Text | None = ""


class AnswerIn(Schema):
    body: Text


class VisitOut(Schema):
    transaction_id: str
    merchant: dict
    branch: str | None
    kind: str
    at: datetime


def rating_out(rating) -> dict:
    messages = list(rating.messages.all())
    return {
        "id": str(rating.pk),
        "merchant": {"id": str(rating.merchant_id), "name": rating.merchant.name},
        "transaction_id": str(rating.transaction_id),
        "score": rating.score,
        "comment": rating.comment,
        "at": rating.created_at,
        "unread": sum(1 for m in messages if m.author == "merchant" and m.read_at is None),
        "messages": [
            {
                "author": m.author,
                "body": m.body,
                "at": m.created_at,
                "read": m.read_at is not None,
                "automatic": m.automatic,
            }
            for m in messages
        ],
    }


@router.get("/me/ratings", response={200: list[MyRatingOut], **PROBLEMS})
def my_ratings(
    request, response: HttpResponse, limit: paging.Limit = 100, offset: paging.Offset = 0
):
    """The customer's ratings, newest first, each with the conversation (the merchant's replies
    and the customer's answers); `unread` counts the merchant's messages not opened yet."""
    rows = ratings.ratings_of(request.auth).prefetch_related("messages")
    rows, _next = paging.page(request, response, rows, limit, offset)
    return [rating_out(r) for r in rows]


@router.get("/me/ratings/visits", response={200: list[VisitOut], **PROBLEMS})
def rateable(request, response: HttpResponse, limit: paging.Limit = 100, offset: paging.Offset = 0):
    """The visits of the last 30 days still to rate."""
    return [
        {
            "transaction_id": str(v.pk),
            "merchant": {"id": str(v.merchant_id), "name": v.merchant.name},
            "branch": v.branch.name if v.branch_id else None,
            "kind": v.kind,
            "at": v.created_at,
        }
        for v in paging.page(
            request, response, ratings.rateable_visits(request.auth), limit, offset
        )[0]
    ]


@router.post("/me/ratings", response={201: MyRatingOut, **PROBLEMS})
def rate(request, payload: RateIn):
    """Rate one of the customer's visits once: again → 409 `already_rated`; another customer's
    visit → 404."""
    visit = ratings.get_visit_for(request.auth, payload.transaction_id)
    rating = ratings.rate_visit(
        visit,
        score=payload.score,
        comment=payload.comment or "",
        source="app",
        customer=request.auth,
    )
    return Status(201, rating_out(rating))


@router.get("/me/ratings/{rating_id}", response={200: MyRatingOut, **PROBLEMS})
def my_rating(request, rating_id: str):
    """One rating with its conversation; opening it marks the merchant's messages read."""
    rating = ratings.get_rating_of(request.auth, rating_id)
    ratings.customer_opened(rating)
    return rating_out(rating)


@router.post("/me/ratings/{rating_id}/messages", response={201: MyRatingOut, **PROBLEMS})
def answer(request, rating_id: str, payload: AnswerIn):
    """The customer answers on the conversation."""
    rating = ratings.get_rating_of(request.auth, rating_id)
    ratings.customer_reply(rating, body=payload.body)
    return Status(201, rating_out(rating))


# --- coins: causes and donations (A8) --------------------------------------------------------


class CauseOut(Schema):
    id: int
    name: str
    description: str


class DonateIn(Schema):
    cause_id: StrictInt | s.Id
    coins: StrictInt


class DonationOut(Schema):
    id: int
    cause: CauseOut
    coins: int
    transaction_id: str
    at: datetime
    balance: dict


def cause_out(cause) -> dict:
    return {"id": cause.pk, "name": cause.name, "description": cause.description}


def get_cause(cause_id) -> Cause:
    try:
        pk = int(cause_id)
        if not 0 < pk < 2**31:  # the column's range: anything else is simply not a cause
            raise ValueError(pk)
        return Cause.objects.get(pk=pk)
    except (Cause.DoesNotExist, ValueError, TypeError, OverflowError):
        raise NotFound(_("Cause not found.")) from None


@router.get("/me/causes", response={200: list[CauseOut], **PROBLEMS})
def list_causes(
    request, response: HttpResponse, limit: paging.Limit = 100, offset: paging.Offset = 0
):
    """The causes taking donations now."""
    rows = Cause.objects.filter(active=True).order_by("name")
    return [cause_out(c) for c in paging.page(request, response, rows, limit, offset)[0]]


@router.post("/me/donations", response={201: DonationOut, **PROBLEMS})
def donate(request, payload: DonateIn):
    """Give coins to a cause (oldest coins first). Not enough → 422 `insufficient_coins`; a
    cause not taking donations → 422 `cause_unavailable`; an unknown cause → 404."""
    donation = causes.donate(request.auth, get_cause(payload.cause_id), payload.coins)
    wallet = wallet_of(request.auth)
    return Status(
        201,
        {
            "id": donation.pk,
            "cause": cause_out(donation.cause),
            "coins": donation.coins,
            "transaction_id": str(donation.transaction_id),
            "at": donation.created_at,
            "balance": {"available": wallet["available"], "held": wallet["held"]},
        },
    )


# --- coins: partner conversions (A8) -----------------------------------------------------------


class ConversionRequestIn(Schema):
    partner_id: StrictInt
    partner_points: StrictInt


class ConversionRequestOut(Schema):
    id: str
    partner: dict
    partner_points: int
    coins: int
    status: str
    reason: str
    at: datetime
    decided_at: datetime | None


def conversion_request_out(request) -> dict:
    return {
        "id": str(request.pk),
        "partner": {"id": request.partner_id, "name": request.partner.name},
        "partner_points": request.partner_points,
        "coins": coins_for_points(request.partner_points, request.partner.rate),
        "status": request.status,
        "reason": request.reason,
        "at": request.created_at,
        "decided_at": request.decided_at,
    }


@router.get("/me/conversion-partners", response={200: list[dict], **PROBLEMS})
def conversion_partners(
    request, response: HttpResponse, limit: paging.Limit = 100, offset: paging.Offset = 0
):
    """The partner programs the customer may ask, from here, to convert points."""
    return [
        {"id": p.pk, "name": p.name, "rate": str(p.rate)}
        for p in paging.page(request, response, conversion_requests.app_partners(), limit, offset)[
            0
        ]
    ]


@router.post("/me/conversion-requests", response={201: ConversionRequestOut, **PROBLEMS})
def request_conversion(request, payload: ConversionRequestIn):
    """Ask a partner that allows it (`GET /me/conversion-partners`) to convert points: the request
    waits (`pending`) until the partner debits its points and confirms (`converted`, the coins
    are in the wallet) or refuses (`refused`, with its reason). 404 unknown partner, 422
    `partner_conversion_unavailable`, 422 `conversion_below_one_coin`, 422
    `too_many_pending_requests`, 403 `customer_suspended`. Send an `Idempotency-Key`."""
    made = conversion_requests.request_conversion(
        request.auth, payload.partner_id, payload.partner_points
    )
    return Status(201, conversion_request_out(made))


@router.get("/me/conversion-requests", response={200: list[ConversionRequestOut], **PROBLEMS})
def my_conversion_requests(
    request, response: HttpResponse, limit: paging.Limit = 100, offset: paging.Offset = 0
):
    rows = conversion_requests.requests_of(request.auth)
    return [
        conversion_request_out(r) for r in paging.page(request, response, rows, limit, offset)[0]
    ]


class ConversionOut(Schema):
    partner: str
    partner_points: int
    coins: int
    reference: str
    at: datetime


@router.get("/me/conversions", response={200: list[ConversionOut], **PROBLEMS})
def conversions(
    request, response: HttpResponse, limit: paging.Limit = 100, offset: paging.Offset = 0
):
    """The partner points converted into the customer's coins. A conversion is posted by the
    partner (K4, the partner's API key), by itself or confirming the customer's request
    (`POST /me/conversion-requests`, for a partner that allows it)."""
    rows = (
        PartnerConversion.objects.filter(customer=request.auth)
        .select_related("partner")
        .order_by("-created_at")
    )
    rows, _next = paging.page(request, response, rows, limit, offset)
    return [
        {
            "partner": c.partner.name,
            "partner_points": c.partner_points,
            "coins": c.coins,
            "reference": c.reference,
            "at": c.created_at,
        }
        for c in rows
    ]


# --- coins: coin products and vouchers (A9, R3) ----------------------------------------------


class CoinProductOut(Schema):
    id: str
    merchant: dict
    name: str
    description: str
    coins_price: int
    stock: int | None
    ends_at: datetime


class BuyIn(Schema):
    promotion_id: s.Id


class VoucherOut(Schema):
    id: str
    code: str
    promotion: dict
    merchant: dict
    coins: int
    bought_at: datetime
    handed_over_at: datetime | None
    qr_svg: str | None


def voucher_out(voucher, qr: bool = False) -> dict:
    return {
        "id": str(voucher.pk),
        "code": vouchers.display(voucher.code),
        "promotion": {"id": str(voucher.promotion_id), "name": voucher.promotion.name},
        "merchant": {"id": str(voucher.merchant_id), "name": voucher.merchant.name},
        "coins": voucher.promotion.coins_price if not voucher.payment_id else voucher.payment.coins,
        "bought_at": voucher.created_at,
        "handed_over_at": voucher.handed_over_at,
        "qr_svg": vouchers.qr_svg(voucher) if qr else None,
    }


@router.get("/me/coin-products", response={200: list[CoinProductOut], **PROBLEMS})
def coin_products(
    request, response: HttpResponse, limit: paging.Limit = 100, offset: paging.Offset = 0
):
    """Every acceptor's coin promotions on sale now, cheapest first."""
    return [
        {
            "id": str(p.pk),
            "merchant": {"id": str(p.merchant_id), "name": p.merchant.name},
            "name": p.name,
            "description": p.description,
            "coins_price": p.coins_price,
            "stock": p.stock,
            "ends_at": p.ends_at,
        }
        for p in paging.page(request, response, vouchers.on_sale_in_app(), limit, offset)[0]
    ]


@router.post("/me/coin-vouchers", response={201: VoucherOut, **PROBLEMS})
def buy(request, payload: BuyIn):
    """Buy one unit, paid at once with coins; the voucher's code (and QR) is shown at the till.
    422 `insufficient_coins`, 409 `out_of_stock`, 422 `promotion_unavailable`…"""
    voucher = vouchers.buy_in_app(payload.promotion_id, customer=request.auth)
    return Status(201, voucher_out(voucher, qr=True))


@router.get("/me/coin-vouchers", response={200: list[VoucherOut], **PROBLEMS})
def my_vouchers(
    request, response: HttpResponse, limit: paging.Limit = 100, offset: paging.Offset = 0
):
    rows = vouchers.vouchers_of(request.auth).select_related("payment")
    return [voucher_out(v) for v in paging.page(request, response, rows, limit, offset)[0]]


@router.get("/me/coin-vouchers/{voucher_id}", response={200: VoucherOut, **PROBLEMS})
def my_voucher(request, voucher_id: str):
    return voucher_out(vouchers.get_voucher_for(request.auth, voucher_id), qr=True)


# --- privacy ----------------------------------------------------------------------------------


class ConsentIn(Schema):
    given: StrictBool


class ConsentOut(Schema):
    merchant: dict
    marketing_consent: bool
    marketing_consent_at: datetime | None
    history: list[dict]


def consent_out(m: Membership) -> dict:
    return {
        "merchant": {"id": str(m.merchant_id), "name": m.merchant.name},
        "marketing_consent": m.marketing_consent,
        "marketing_consent_at": m.marketing_consent_at,
        "history": [
            {"given": c.given, "at": c.at, "channel": c.channel}
            for c in m.consents.order_by("-at", "-pk")
        ],
    }


def membership_of(customer, merchant_id) -> Membership:
    try:
        return Membership.objects.select_related("merchant").get(
            customer=customer, merchant_id=parse_id(merchant_id)
        )
    except (Membership.DoesNotExist, NotFound):
        raise NotFound(_("Membership not found.")) from None


@router.get("/me/consents", response={200: list[ConsentOut], **PROBLEMS})
def consents(request, response: HttpResponse, limit: paging.Limit = 100, offset: paging.Offset = 0):
    """Marketing consent at each merchant the customer belongs to, with its history."""
    rows = Membership.objects.filter(customer=request.auth).select_related("merchant")
    rows = rows.order_by("merchant__name")
    return [consent_out(m) for m in paging.page(request, response, rows, limit, offset)[0]]


@router.put("/me/consents/{merchant_id}", response={200: ConsentOut, **PROBLEMS})
def set_consent(request, merchant_id: str, payload: ConsentIn):
    """Give or withdraw marketing consent at one merchant (recorded with channel "app")."""
    m = membership_of(request.auth, merchant_id)
    privacy.set_marketing_consent(m, given=payload.given, channel="app")
    return consent_out(m)


@router.get("/me/export", response={200: dict, **PROBLEMS})
def export(request):
    """Everything the network holds on the customer (see `privacy.export_all`)."""
    return privacy.export_all(request.auth)


class CloseIn(Schema):
    confirm: Annotated[StrictStr, StringConstraints(max_length=100)]


@router.post("/me/close", response={200: dict, **PROBLEMS})
def close(request, payload: CloseIn):
    """Close the account: the personal data is anonymised (the ledger stays whole) and every
    session and token is revoked. `confirm` must be the word the screen asks for."""
    close_account(request.auth, payload.confirm)
    return {"closed": True}


def close_account(customer, confirm: str) -> None:
    from lealtad.app.privacy_views import close_account as close_it

    close_it(customer, confirm)
