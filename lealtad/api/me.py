"""The customer's own API (A; API.md Part 2): `/api/v1/me*` with a customer bearer token
(lealtad.api.customer_auth). `request.auth` is the Customer: every query starts from it, so
another customer's data is never reachable."""

import datetime as dt
from typing import Annotated

from django.http import HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from pydantic import Field as PydanticField

from lealtad.api import paging
from lealtad.api import schemas as s
from lealtad.api.customer_auth import CustomerAuth
from lealtad.api.views import coins_of
from lealtad.app import api_out
from lealtad.core.errors import InsufficientCoins

router = Router(tags=["me"], auth=CustomerAuth())
PROBLEMS = {code: s.Problem for code in (400, 401, 403, 404, 409, 422, 429)}


class MeOut(Schema):
    id: str
    country: str
    document_type: str
    document_number: str
    email: str | None
    mobile: str | None
    first_name: str
    last_name: str
    city: str
    profile_complete: bool
    suspended: bool
    coins: s.Coins


def me_out(customer) -> dict:
    return {
        "id": str(customer.pk),
        "country": customer.country,
        "document_type": customer.document_type,
        "document_number": customer.document_number,
        "email": customer.email,
        "mobile": customer.mobile,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "city": customer.city,
        "profile_complete": customer.profile_complete,
        "suspended": customer.suspended,
        "coins": coins_of(customer),
    }


@router.get("/me", response={200: MeOut, **PROBLEMS})
def me(request):
    """The signed-in customer's profile and coin wallet {"available", "held", "expiring_30d"}."""
    return me_out(request.auth)


# --- balances, movements, QR (A2–A4; the "home" screens' queries, lealtad.app.queries) --------


class MePoints(Schema):
    available: int
    pending: int
    expiring_30d: int
    expiring_from: dt.datetime | None


class MeCoins(Schema):
    available: int
    held: int
    expiring_30d: int
    expiring_from: dt.datetime | None


class MerchantRef(Schema):
    id: str
    name: str


class MePrize(Schema):
    id: str
    name: str
    description: str
    points_cost: int
    stock: int | None
    affordable: bool
    points_missing: int


class MeClaimed(Schema):
    transaction_id: str
    reward_id: str | None
    name: str
    points: int
    at: dt.datetime | None


class MePromotion(Schema):
    id: str
    name: str
    description: str
    kind: str
    starts_on: dt.date
    ends_on: dt.date


class MeGift(Schema):
    id: str
    name: str
    kind: str
    summary: str
    points: int | None
    note: str
    valid_until: dt.datetime
    acceptable_in_app: bool


class MeMembership(Schema):
    merchant: MerchantRef
    points: MePoints
    prizes: list[MePrize]
    claimed: list[MeClaimed]
    promotions: list[MePromotion]
    gifts: list[MeGift]


class MeMemberships(Schema):
    coins: MeCoins
    results: list[MeMembership]


class MeMovement(Schema):
    id: str
    at: dt.datetime
    kind: str
    label: str
    points: int = Field(description="signed: points, or coins with coins=true")
    balance: int | None = Field(description="the balance right after it")
    place: str


class MeMovements(Schema):
    results: list[MeMovement]
    page: int
    next_page: int | None


class MePaymentQr(Schema):
    payload: str
    svg: str
    expires_at: dt.datetime


@router.get("/me/memberships", response={200: MeMemberships, **PROBLEMS})
def me_memberships(
    request, response: HttpResponse, limit: paging.Limit = 100, offset: paging.Offset = 0
):
    """Each merchant: points available / pending / expiring, prizes with the points missing,
    prizes claimed, promotions and gifts offered; and the coin wallet."""
    out = api_out.memberships_out(request.auth)
    out["results"], _next = paging.page(request, response, out["results"], limit, offset)
    return out


@router.get("/me/movements", response={200: MeMovements, **PROBLEMS})
def me_movements(
    request,
    merchant_id: str | None = None,
    coins: bool = False,
    page: Annotated[int, PydanticField(ge=1, le=1000)] = 1,
    limit: Annotated[int, PydanticField(ge=1, le=100, description="Lines a page (1–100).")] = 25,
):
    """The points history at `merchant_id`, or the coin wallet's (`coins=true`), newest first,
    each line with the balance after it; `limit` a page (25 unless asked). Another customer's
    merchant: 404."""
    return api_out.movements_out(
        request.auth, merchant_id=merchant_id, coins=coins, page=page, size=limit
    )


@router.get("/me/qr", response={200: s.QrOut, **PROBLEMS})
def me_qr(request):
    """The identification QR (A3): the payload a till's scanner types, and an SVG of it."""
    return api_out.qr_out(request.auth)


@router.get("/me/payment-qr", response={200: MePaymentQr, **PROBLEMS})
def me_payment_qr(request):
    """A payment QR (K3): short-lived (2 minutes), used once; only the customer mints it.
    Without coins: 422 `insufficient_coins`."""
    found = api_out.payment_qr_out(request.auth)
    if found is None:
        raise InsufficientCoins(_("You have no coins to pay with."))
    return found
