"""P7 through the API: points as money off an invoice (the same action as the till's
"Pagar con puntos", lealtad.ledger.point_payments)."""

from typing import Annotated

from ninja import Field, Router, Schema, Status
from pydantic import StrictBool, StrictInt, StrictStr, StringConstraints

from lealtad.api import schemas as s
from lealtad.api.auth import merchant_actor
from lealtad.core import money
from lealtad.core.errors import ValidationFailed
from lealtad.customers import actions as customers
from lealtad.ledger import point_payments

router = Router(tags=["points"])
PROBLEMS = {code: s.Problem for code in (400, 401, 403, 404, 409, 422, 429)}


class PointPaymentIn(Schema):
    customer_id: s.Id
    invoice_amount: Annotated[StrictStr, StringConstraints(max_length=32)] | StrictInt = Field(
        examples=["30000.00"]
    )
    points: StrictInt = Field(examples=[150])
    invoice_number: (
        Annotated[StrictStr, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)]
        | None
    ) = None
    branch_id: s.Id | None = None
    # Where the merchant asks it (as for a prize): the cashier checked the identity document.
    document_checked: StrictBool = False


class PointBalance(Schema):
    available: int
    pending: int


class PointPaymentOut(Schema):
    id: str
    points: int
    value: str  # what the points paid, in the merchant's currency
    invoice_amount: str
    invoice_number: str | None
    currency: str
    balance: PointBalance


def payment_out(paid: point_payments.Paid) -> dict:
    txn, payment = paid.movement.transaction, paid.payment
    return {
        "id": str(txn.pk),
        "points": paid.points,
        "value": money.format_amount(payment.value, txn.currency),
        "invoice_amount": money.format_amount(payment.invoice_amount, txn.currency),
        "invoice_number": txn.invoice_number,
        "currency": txn.currency,
        "balance": {"available": paid.movement.available, "pending": paid.movement.pending},
    }


@router.post("/point-payments", response={201: PointPaymentOut, **PROBLEMS})
def pay(request, payload: PointPaymentIn):
    """P7: take points off an invoice, fully or partly; 1 point = the merchant's redemption value.
    The `id` is the movement's: reverse it with `POST /transactions/{id}/reversal`.

    Errors: 403 `points_payment_disabled` (the merchant does not take points as money), 422
    `insufficient_points`, 422 `profile_incomplete`, 403 `customer_blocked`, 403
    `customer_suspended`, 422 `validation_error` (points ≤ 0, or worth more than the invoice),
    422 `document_check_required`, 404 an unknown customer or branch."""
    from lealtad.api.api import _branch  # api.py adds this router at its end

    actor = merchant_actor(request)
    point_payments.check_enabled(actor.merchant)
    try:
        amount = money.parse_amount(payload.invoice_amount, actor.merchant.currency)
    except money.InvalidAmount as exc:
        raise ValidationFailed(
            [{"field": "invoice_amount", "message": str(exc)}], str(exc)
        ) from None
    branch = _branch(actor, payload.branch_id)
    paid = point_payments.pay_with_points(
        membership=customers.get_membership_for(actor.merchant, payload.customer_id),
        invoice_amount=amount,
        points=payload.points,
        invoice_number=payload.invoice_number,
        branch=branch,
        staff=actor.user,
        document_checked=payload.document_checked,
    )
    return Status(201, payment_out(paid))


@router.get("/point-payments/{payment_id}", response={200: PointPaymentOut, **PROBLEMS})
def get(request, payment_id: str):
    actor = merchant_actor(request)
    return payment_out(point_payments.get_point_payment(actor.merchant, payment_id))
