"""Coins through the API (K2): the same actions as the till (lealtad.coins)."""

from typing import Annotated

from ninja import Field, Router, Schema, Status
from pydantic import StrictInt, StrictStr, StringConstraints

from lealtad.api import schemas as s
from lealtad.api.auth import merchant_actor
from lealtad.coins import actions as coins
from lealtad.core import money
from lealtad.core.errors import ValidationFailed
from lealtad.customers import actions as customers

router = Router(tags=["coins"])
PROBLEMS = {code: s.Problem for code in (400, 401, 403, 404, 409, 422, 429)}


class EarningIn(Schema):
    customer_id: s.Id
    amount: Annotated[StrictStr, StringConstraints(max_length=32)] | StrictInt = Field(
        examples=["25000.00"]
    )
    invoice_number: (
        Annotated[StrictStr, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)]
        | None
    ) = None
    branch_id: s.Id | None = None


class CoinBalance(Schema):
    available: int
    held: int


class EarningOut(Schema):
    id: str
    coins: int
    balance: CoinBalance


@router.post("/coins/earnings", response={201: EarningOut, **PROBLEMS})
def earn(request, payload: EarningIn):
    """K2: at an issuer merchant, coins = floor(amount × the merchant's cashback rate).

    Errors: 403 `not_coin_issuer` (not an issuer, or not in the network's currency), 409
    `duplicate_invoice` (the same invoice number already earned points or coins here), 422
    `amount_below_minimum`, 403 `customer_suspended`, 404 an unknown customer or branch."""
    from lealtad.api.api import _branch  # api.py adds this router at its end

    actor = merchant_actor(request)
    try:
        amount = money.parse_amount(payload.amount, actor.merchant.currency)
    except money.InvalidAmount as exc:
        raise ValidationFailed([{"field": "amount", "message": str(exc)}], str(exc)) from None
    branch = _branch(actor, payload.branch_id)
    movement = coins.earn_coins(
        merchant=actor.merchant,
        customer=customers.get_customer(payload.customer_id),
        amount=amount,
        branch=branch,
        staff=actor.user,
        invoice_number=payload.invoice_number,
    )
    body = {
        "id": str(movement.transaction.pk),
        "coins": movement.transaction.points,
        "balance": {"available": movement.available, "held": movement.pending},
    }
    return Status(201, body)
