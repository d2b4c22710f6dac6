"""R3 through the API: a point of sale lists the acceptor's coin promotions on sale, with what a
customer can afford (the till's "Promociones con monedas"). Taking one is a coin payment."""

from datetime import datetime

from django.http import HttpResponse
from django.utils import timezone
from ninja import Router, Schema

from lealtad.api import paging
from lealtad.api import schemas as s
from lealtad.api.auth import merchant_actor
from lealtad.coins import promotions
from lealtad.coins.actions import wallet_of
from lealtad.customers import actions as customers

router = Router(tags=["coins"])
PROBLEMS = {code: s.Problem for code in (401, 403, 404)}


class CoinPromotionOut(Schema):
    id: str
    name: str
    description: str
    picture_url: str | None
    coins_price: int
    stock: int | None
    starts_at: datetime
    ends_at: datetime
    affordable: bool | None
    coins_missing: int | None


@router.get("/coin-promotions", response={200: list[CoinPromotionOut], **PROBLEMS})
def list_coin_promotions(
    request,
    response: HttpResponse,
    limit: paging.Limit = 100,
    offset: paging.Offset = 0,
    customer_id: s.Id | None = None,
):
    """This acceptor's coin promotions on sale now (active, in their window, with stock),
    cheapest first. With `customer_id`, each says whether that customer's available coins pay
    for it and how many are missing; without it those two are null. A merchant that does not
    accept coins gets an empty list."""
    actor = merchant_actor(request)
    now = timezone.now()
    available = None
    if customer_id is not None:
        available = wallet_of(customers.get_customer(customer_id), now)["available"]
    rows, _next = paging.page(
        request, response, promotions.listing(actor.merchant, available or 0, now), limit, offset
    )
    return [
        {
            "id": str(row["promotion"].pk),
            "name": row["promotion"].name,
            "description": row["promotion"].description,
            "picture_url": row["promotion"].picture.url if row["promotion"].picture else None,
            "coins_price": row["promotion"].coins_price,
            "stock": row["promotion"].stock,
            "starts_at": row["promotion"].starts_at,
            "ends_at": row["promotion"].ends_at,
            "affordable": row["affordable"] if available is not None else None,
            "coins_missing": row["missing"] if available is not None else None,
        }
        for row in rows
    ]
