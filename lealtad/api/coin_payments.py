"""K3 through the API: coin payments held at once and confirmed by the customer's code
(API.md Part 2, "Coins"). The same actions as the till (lealtad.coins.payments)."""

from typing import Annotated

from ninja import Field, Router, Schema, Status
from pydantic import StrictBool, StrictInt, StrictStr, StringConstraints

from lealtad.api import schemas as s
from lealtad.api.auth import merchant_actor
from lealtad.coins import payments
from lealtad.customers import actions as customers

router = Router(tags=["coins"])
PROBLEMS = {code: s.Problem for code in (400, 401, 403, 404, 409, 422, 429)}


class PaymentIn(Schema):
    customer_id: s.Id
    invoice_amount: Annotated[StrictStr, StringConstraints(max_length=32)] | StrictInt = Field(
        examples=["30000.00"]
    )
    coins: StrictInt = Field(examples=[20000])
    invoice_number: (
        Annotated[StrictStr, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)]
        | None
    ) = None
    branch_id: s.Id | None = None
    qr_payload: Annotated[StrictStr, StringConstraints(max_length=1000)] | None = None
    document_checked: StrictBool = False
    # R3: the coin promotion this payment buys (coins and invoice_amount = its price).
    promotion_id: s.Id | None = None


class ConfirmIn(Schema):
    code: Annotated[StrictStr, StringConstraints(max_length=16)]


class PaymentBalance(Schema):  # not `Balance`: OpenAPI names a component by its class
    available: int
    held: int


class PaymentOut(Schema):
    id: str
    status: str
    coins: int
    customer_id: str
    invoice_number: str | None
    invoice_amount: str
    currency: str
    code_sent_to: str | None
    expires_at: str | None
    attempts_left: int
    resends_left: int
    cancel_reason: str | None
    via_qr: bool
    promotion_id: str | None = None
    document_checked: bool
    transaction_id: str | None
    reversed: bool
    created_at: str
    captured_at: str | None
    cancelled_at: str | None
    balance: PaymentBalance


def _out(payment) -> dict:
    body = payments.payment_out(payment)
    for name in ("expires_at", "created_at", "captured_at", "cancelled_at"):
        body[name] = body[name].isoformat() if body[name] else None
    return body


@router.post("/coin-payments", response={201: PaymentOut, **PROBLEMS})
def start(request, payload: PaymentIn):
    """K3: hold the coins at once and send the customer a code (201 `awaiting_code`); with the
    customer app's valid `qr_payload`, paid at once (201 `captured`).

    Errors: 422 `insufficient_coins`, 422 `profile_incomplete`, 422 `validation_error` (coins ≤ 0
    or more than the invoice), 422 `document_check_required` (the merchant asks for the physical
    document: send `document_checked: true`), 422 `invalid_qr`, 403 `not_coin_acceptor`, 403
    `customer_suspended`, 403 `customer_blocked`, 429 `too_many_codes`. With `promotion_id`
    (R3, GET /coin-promotions): `coins` must be its price (else 422 `validation_error`); 409
    `out_of_stock`, 422 `promotion_unavailable` (not on sale now), 404 another merchant's."""
    from lealtad.api.api import _branch  # api.py adds this router at its end

    actor = merchant_actor(request)
    branch = _branch(actor, payload.branch_id)
    payment = payments.start_payment(
        merchant=actor.merchant,
        customer=customers.get_customer(payload.customer_id),
        invoice_amount=payload.invoice_amount,
        coins=payload.coins,
        invoice_number=payload.invoice_number,
        branch=branch,
        staff=actor.user,
        api_key=actor.api_key,
        qr_payload=payload.qr_payload,
        document_checked=payload.document_checked,
        promotion=payload.promotion_id,
    )
    return Status(201, _out(payment))


@router.post("/coin-payments/{payment_id}/confirm", response={200: PaymentOut, **PROBLEMS})
def confirm(request, payment_id: str, payload: ConfirmIn):
    """The customer's code captures the payment. 422 `invalid_code` with `attempts_left`; 409
    `payment_cancelled` (after the third wrong code, past `expires_at`, or cancelled). Again on
    a captured payment: 200, the same result, debited once."""
    actor = merchant_actor(request)
    payment = payments.confirm_payment(payment_id, merchant=actor.merchant, code=payload.code)
    return _out(payment)


@router.post("/coin-payments/{payment_id}/resend", response={202: PaymentOut, **PROBLEMS})
def resend(request, payment_id: str):
    """A new code (the previous one stops working). 429 `too_many_codes` after 3 resends or the
    customer's codes for the day; 409 `payment_cancelled` / `payment_captured`."""
    actor = merchant_actor(request)
    return Status(202, _out(payments.resend_code(payment_id, merchant=actor.merchant)))


@router.post("/coin-payments/{payment_id}/cancel", response={200: PaymentOut, **PROBLEMS})
def cancel(request, payment_id: str):
    """Release the hold. 409 `payment_captured` for a paid one (reverse its transaction)."""
    actor = merchant_actor(request)
    return _out(payments.cancel_payment(payment_id, merchant=actor.merchant))


@router.get("/coin-payments/{payment_id}", response={200: PaymentOut, **PROBLEMS})
def get(request, payment_id: str):
    actor = merchant_actor(request)
    return _out(payments.get_payment(payment_id, merchant=actor.merchant))
