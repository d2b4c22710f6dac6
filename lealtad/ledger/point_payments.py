"""P7: points as money. Where the merchant takes them ("points as money" in its program
settings, 1 point = `point_money_value` of its currency), the till takes points off an invoice,
fully or partly, under the rules of a prize: the one exit gate (complete profile, not blocked,
not suspended, a dependent only where the holder shares), the physical document where the
merchant asks it, and the balance, checked under the account's row lock. The points are debited
at once, soonest-expiring first; the movement (kind POINT_PAYMENT) is reversed like any other.
"""

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from lealtad.audit import actions as audit
from lealtad.audit.models import Action
from lealtad.core import money
from lealtad.core.errors import (
    DocumentCheckRequired,
    InsufficientPoints,
    NotFound,
    PointsPaymentDisabled,
    ValidationFailed,
)
from lealtad.core.ids import parse_id
from lealtad.core.numbers import format_points
from lealtad.customers import gate
from lealtad.customers.models import Membership
from lealtad.ledger import ledger
from lealtad.ledger.accrual import Movement
from lealtad.ledger.invoices import display_number, invoice_key
from lealtad.ledger.models import Account, Kind, PointPayment, Transaction
from lealtad.network.models import Branch, Merchant, User
from lealtad.notifications import actions as mail

MAX_POINTS = 10**12


@dataclass
class Paid:
    """A point payment as the till and the API show it."""

    movement: Movement
    payment: PointPayment

    @property
    def points(self) -> int:
        return -self.movement.transaction.points


def check_enabled(merchant: Merchant) -> None:
    if not merchant.points_as_money or merchant.point_money_value <= 0:
        raise PointsPaymentDisabled(_("This merchant does not take points as money."))


def value_of(merchant: Merchant, points: int) -> Decimal:
    """What `points` are worth off an invoice here."""
    return (Decimal(points) * merchant.point_money_value).quantize(Decimal("0.01"))


def max_points(merchant: Merchant, invoice_amount: Decimal, available: int) -> int:
    """The most points usable on an invoice: the balance, and no more than the invoice is worth
    (whole points, rounded down: the points never pay more than the invoice)."""
    rate = merchant.point_money_value
    if rate <= 0 or invoice_amount <= 0:
        return 0
    worth = int((invoice_amount / rate).to_integral_value(rounding=ROUND_DOWN))
    return max(0, min(available, worth))


def terms(merchant: Merchant, available: int) -> dict | None:
    """What the till says beside "Pay with points": 1 point = this, the balance is worth that
    (amounts as people write them in the merchant's country). None where it is off."""
    if not merchant.points_as_money or merchant.point_money_value <= 0:
        return None
    country, currency = merchant.country, merchant.currency
    return {
        "rate": money.display_amount(merchant.point_money_value, country, currency),
        "worth": money.display_amount(value_of(merchant, available), country, currency),
    }


def _amount_text(merchant: Merchant, amount: Decimal) -> str:
    shown = money.display_amount(amount, merchant.country, merchant.currency)
    return f"{shown} {merchant.currency}"


def pay_with_points(
    *,
    membership: Membership,
    invoice_amount,
    points,
    invoice_number: str | None = None,
    branch: Branch | None = None,
    staff: User | None = None,
    document_checked: bool = False,
    now=None,
) -> Paid:
    """P7: take `points` off an invoice of `invoice_amount` (the merchant's currency)."""
    now = now or timezone.now()
    merchant = membership.merchant
    check_enabled(merchant)
    gate.check_exit(membership, gate.Exit.POINTS_PAYMENT)
    if merchant.redemption_requires_document_check and document_checked is not True:
        raise DocumentCheckRequired(_("Check the customer's document first."))
    try:
        amount = money.parse_amount(invoice_amount, merchant.currency)
    except money.InvalidAmount as exc:
        raise ValidationFailed(
            [{"field": "invoice_amount", "message": str(exc)}], str(exc)
        ) from None
    if (
        not isinstance(points, int)
        or isinstance(points, bool)
        or points <= 0
        or points > MAX_POINTS
    ):
        message = _("A whole number above zero.")
        raise ValidationFailed([{"field": "points", "message": message}], message)
    value = value_of(merchant, points)
    if value > amount:
        most = max_points(merchant, amount, MAX_POINTS)
        message = ngettext(
            "%(points)s points are worth %(value)s, more than the invoice (%(amount)s): "
            "%(most)s point at most.",
            "%(points)s points are worth %(value)s, more than the invoice (%(amount)s): "
            "%(most)s points at most.",
            most,
        ) % {
            "points": format_points(points),
            "value": _amount_text(merchant, value),
            "amount": _amount_text(merchant, amount),
            "most": format_points(most),
        }
        raise ValidationFailed([{"field": "points", "message": message}], message)
    number = display_number(invoice_number)
    with transaction.atomic():
        account = ledger.lock_account(membership.spending_account_id)
        lots = ledger.expire_due_lots(
            account, ledger.open_lots(account.id), membership.customer_id, now
        )
        if account.balance < points:
            missing = points - account.balance
            raise InsufficientPoints(
                ngettext(
                    "%(missing)s more point is needed.",
                    "%(missing)s more points are needed.",
                    missing,
                )
                % {"missing": format_points(missing)},
                points_missing=missing,
                available=account.balance,
            )
        txn = Transaction.objects.create(
            account_id=account.id,
            kind=Kind.POINT_PAYMENT,
            points=-points,
            balance_after=account.balance - points,
            merchant=merchant,
            branch=branch,
            staff=staff,
            customer_id=membership.customer_id,
            amount=amount,
            currency=merchant.currency,
            invoice_number=number,
            invoice_key=invoice_key(number),
            created_at=now,
            posted_at=now,
        )
        ledger.debit(account, txn, points, lots, now)
        payment = PointPayment.objects.create(
            transaction=txn,
            invoice_amount=amount,
            value=value,
            point_money_value=merchant.point_money_value,
        )
        audit.record(
            Action.POINTS_PAY,
            merchant=merchant,
            target=txn,
            label=number or "",
            customer_id=membership.customer_id,
            before={"balance": txn.balance_after + points},
            after={"balance": txn.balance_after, "points": -points, "value": value},
            staff=staff,
            branch=branch,
            now=now,
        )
        with translation.override(mail.language_for(merchant)):
            what = (
                _("Payment with points, invoice %(number)s") % {"number": number}
                if number
                else _("Payment with points")
            )
        # The customer hears of it as of a prize: the points used and the new balance.
        mail.queue(
            mail.Event.REDEMPTION,
            merchant,
            membership.customer,
            now=now,
            reward=what,
            points=points,
            balance=account.balance,
        )
    return Paid(Movement(txn, account.balance, account.pending), payment)


def get_point_payment(merchant: Merchant, payment_id) -> Paid:
    """A point payment of this merchant (another merchant's: not found)."""
    try:
        payment = PointPayment.objects.select_related("transaction").get(
            pk=parse_id(payment_id), transaction__merchant=merchant
        )
    except PointPayment.DoesNotExist:
        raise NotFound(_("Payment not found.")) from None
    account = Account.objects.get(pk=payment.transaction.account_id)
    return Paid(Movement(payment.transaction, account.balance, account.pending), payment)
