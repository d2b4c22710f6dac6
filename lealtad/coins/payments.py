"""K3: paying an invoice with coins, two-phase, confirmed by the customer's code.

`start_payment` holds the coins at once (ledger.hold_coins: available → held, under the wallet's
row lock, never below zero) and sends a code; `confirm_payment` with the right code captures
the hold (the lots are debited, soonest to expire first); a cancel, the third wrong code or the
hold's expiry (10 minutes, `expire_holds` every minute) voids it. Each payment is resolved once:
every decision is taken under the wallet's lock, on the payment's row as it is then. A valid
payment QR of the customer (coins.qr) captures at once with no code.

Lock order everywhere: the wallet's account, then the payment's row.
"""

import math
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from lealtad.audit import actions as audit
from lealtad.audit.models import Action
from lealtad.coins import codes, promotions, qr
from lealtad.coins.actions import coin_wallet, wallet_of
from lealtad.coins.models import CancelReason, CoinPayment, PaymentStatus, UsedPaymentQr
from lealtad.core import money
from lealtad.core.errors import (
    DocumentCheckRequired,
    InsufficientCoins,
    InvalidCode,
    InvalidQr,
    NotFound,
    PaymentCancelled,
    PaymentCaptured,
    TooManyCodes,
    ValidationFailed,
)
from lealtad.core.ids import parse_id
from lealtad.core.numbers import format_points
from lealtad.customers import gate
from lealtad.ledger import ledger
from lealtad.ledger.invoices import display_number
from lealtad.ledger.models import Kind, Transaction
from lealtad.network import coin_roles
from lealtad.ratings import actions as ratings
from lealtad.webhooks import events, payloads

PURPOSE = "coin_payment"
HOLD_LIFE = codes.CODE_TTL
__all__ = [
    "cancel_payment",
    "confirm_payment",
    "expire_holds",
    "get_payment",
    "resend_code",
    "start_payment",
]


def _coins(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValidationFailed([{"field": "coins", "message": _("A whole number above zero.")}])
    return value


def _amount(value, currency: str) -> Decimal:
    try:
        return money.parse_amount(value, currency)
    except money.InvalidAmount as exc:
        errors = [{"field": "invoice_amount", "message": str(exc)}]
        raise ValidationFailed(errors, str(exc)) from None


def binding(payment: CoinPayment) -> str:
    """What the code is bound to: this payment's merchant, invoice, amount and coins."""
    return (
        f"{payment.pk}|{payment.merchant_id}|{payment.invoice_number}|"
        f"{payment.invoice_amount}|{payment.coins}"
    )


def start_payment(
    *,
    merchant,
    customer,
    invoice_amount: Decimal,
    coins: int,
    invoice_number=None,
    branch=None,
    staff=None,
    api_key=None,
    qr_payload=None,
    document_checked=False,
    promotion=None,
    now=None,
) -> CoinPayment:
    """Hold `coins` of the customer's wallet towards an invoice at an acceptor and send the code
    (or, with the customer's valid payment QR, capture at once).

    R3: with `promotion` (a CoinPromotion of this merchant, or its id) the payment buys one unit
    of it: `coins` must be its price; the unit is reserved under the promotion's row lock (after
    the wallet's) and given back if the payment is cancelled or expires
    (`lealtad.coins.promotions`)."""
    now = now or timezone.now()
    coin_roles.check_acceptor(merchant)
    coins = _coins(coins)
    amount = _amount(invoice_amount, merchant.currency)
    if coins > amount:
        raise ValidationFailed(
            [
                {
                    "field": "coins",
                    "message": _("At most the invoice's amount: 1 coin pays 1 %(currency)s.")
                    % {"currency": merchant.currency},
                }
            ]
        )
    if promotion is not None and amount != coins:
        # R3: a coin promotion is sold only for coins: the invoice is its price, all in coins.
        message = _("A coin promotion is paid in full with coins: the amount is its price.")
        raise ValidationFailed([{"field": "invoice_amount", "message": message}])
    gate.check_coin_exit(customer, merchant)
    if merchant.coin_payment_requires_document and not document_checked:
        raise DocumentCheckRequired(
            _("Check the customer's physical identity document, then tick the box.")
        )
    nonce = qr.verify_payment_qr(qr_payload, customer, now) if qr_payload else None
    wallet = coin_wallet(customer)
    try:
        with transaction.atomic():
            payment = _start(merchant, customer, wallet, amount, coins, invoice_number, now,
                             branch=branch, staff=staff, api_key=api_key, nonce=nonce,
                             document_checked=document_checked,
                             promotion=promotion)  # fmt: skip
    except IntegrityError as exc:
        if nonce and "nonce" in str(exc).lower():
            raise InvalidQr(_("This payment QR was already used.")) from None
        raise
    return payment


def _start(
    merchant, customer, wallet, amount, coins, invoice_number, now, *, nonce, promotion, **who
):
    account = ledger.lock_account(wallet.pk)
    ledger.expire_due_lots(account, ledger.open_lots(account.id), customer.pk, now)
    hold = ledger.hold_coins(account, coins, now)
    if hold is None:
        raise InsufficientCoins(
            _("Insufficient funds: %(available)s coins available.")
            % {"available": format_points(account.balance)},
            available=account.balance,
        )
    if promotion is not None:
        # Lock order: the wallet (above), then the promotion's row.
        promotion = promotions.reserve(promotion, merchant=merchant, coins=coins, now=now)
    payment = CoinPayment(
        merchant=merchant,
        customer=customer,
        invoice_number=display_number(invoice_number) or "",
        invoice_amount=amount,
        currency=merchant.currency,
        coins=coins,
        expires_at=now + HOLD_LIFE,
        created_at=now,
        hold=hold,
        via_qr=nonce is not None,
        promotion=promotion,
        **who,
    )
    if nonce is not None:
        payment.save(force_insert=True)
        if UsedPaymentQr.objects.filter(nonce=nonce).exists():
            raise InvalidQr(_("This payment QR was already used."))
        UsedPaymentQr.objects.create(nonce=nonce, customer=customer, used_at=now)
        _capture(account, payment, now)
    else:
        # The code first (its binding needs only the payment's id, made here, and its data):
        # the payment is then written once, with where the code went, not inserted and updated.
        _issue_code(payment, now, first=True)
        payment.save(force_insert=True)
    return payment


def _send_code(payment: CoinPayment, now) -> None:
    """A resend: a new code, noted on the payment's row."""
    _issue_code(payment, now)
    payment.save(update_fields=["code_sent_to", "expires_at", "resends"])


def _issue_code(payment: CoinPayment, now, first: bool = False) -> None:
    """The payment's code; a resend replaces it but keeps the hold's deadline (10 minutes from
    the payment, however many codes are sent: `expires_at` is set once). Sets, not saves,
    `code_sent_to` and `expires_at`."""
    merchant = payment.merchant
    deadline = payment.expires_at or now + HOLD_LIFE
    minutes = max(1, math.ceil((deadline - now).total_seconds() / 60))

    def text(code: str) -> str:
        from lealtad.notifications.actions import language_for

        with translation.override(language_for(merchant)):
            return _(
                "Lealtad – %(merchant)s: your code to pay %(coins)s coins is %(code)s. "
                "It expires in %(minutes)s min."
            ) % {
                "merchant": merchant.name,
                "coins": format_points(payment.coins),
                "code": code,
                "minutes": minutes,
            }

    row = codes.issue(
        customer=payment.customer,
        merchant=merchant,
        purpose=PURPOSE,
        subject=str(payment.pk),
        binding=binding(payment),
        text=text,
        now=now,
        expires_at=deadline,
        first=first,
    )
    payment.code_sent_to = row.sent_to
    payment.expires_at = deadline


def _capture(account, payment: CoinPayment, now) -> None:
    txn = Transaction.objects.create(
        account_id=account.id,
        kind=Kind.COIN_PAYMENT,
        points=-payment.coins,
        balance_after=account.balance,
        merchant=payment.merchant,
        # Ids, not rows: the payment's branch and staff are not read just to be written back.
        branch_id=payment.branch_id,
        staff_id=payment.staff_id,
        customer=payment.customer,
        amount=payment.invoice_amount,
        currency=payment.currency,
        invoice_number=payment.invoice_number or None,
        created_at=now,
        posted_at=now,
    )
    ledger.capture_hold(account, payment.hold_id, txn, now)
    audit.record(
        Action.COINS_PAY,
        merchant=payment.merchant,
        target=txn,
        label=payment.invoice_number or "",
        customer_id=payment.customer_id,
        before={"coins": account.balance + payment.coins},
        after={"coins": account.balance, "paid": payment.coins},
        branch=payment.branch_id,
        now=now,
    )
    payment.status, payment.captured_at, payment.transaction = PaymentStatus.CAPTURED, now, txn
    payment.save(update_fields=["status", "captured_at", "transaction"])
    _emit(account, payment, "coin_payment.captured", now)
    ratings.invite_after_visit(txn, now)


def _emit(account, payment: CoinPayment, type_: str, now) -> None:
    data = payloads.coin_payment(payment, account.balance, account.pending, now)
    events.emit(payment.merchant, type_, data, now=now)


def _cancel(account, payment: CoinPayment, reason: str, now) -> None:
    ledger.void_hold(account, payment.hold_id, now)
    # R3: the unit a promotion's payment reserved goes back on sale (once: only a payment
    # awaiting its code is cancelled, under the wallet's lock).
    promotions.release(payment.promotion_id)
    payment.status, payment.cancel_reason, payment.cancelled_at = (
        PaymentStatus.CANCELLED,
        reason,
        now,
    )
    payment.save(update_fields=["status", "cancel_reason", "cancelled_at"])
    # Every way a hold ends unpaid comes here: cancel, the third wrong code, expiry.
    _emit(account, payment, "coin_payment.cancelled", now)


def get_payment(payment_id, *, merchant) -> CoinPayment:
    """This merchant's payment; another merchant's, or none, is NotFound."""
    try:
        return CoinPayment.objects.select_related("hold", "customer", "merchant__network").get(
            pk=parse_id(payment_id, "payment"), merchant=merchant
        )
    except CoinPayment.DoesNotExist:
        raise NotFound(_("Coin payment not found.")) from None


def _locked(payment_id, merchant):
    """The wallet's lock, then the payment's row as it is now."""
    payment = get_payment(payment_id, merchant=merchant)
    account = ledger.lock_account(payment.hold.account_id)
    locked = (
        CoinPayment.objects.select_for_update(of=("self",))
        .select_related("customer", "merchant__network", "hold")
        .get(pk=payment.pk)
    )
    return account, locked


def _cancelled(payment: CoinPayment) -> PaymentCancelled:
    words = {
        CancelReason.WRONG_CODE: _("Too many wrong codes: the payment was cancelled and the "
                                   "coins released."),
        CancelReason.EXPIRED: _("The code expired: the payment was cancelled and the coins "
                                "released."),
    }  # fmt: skip
    return PaymentCancelled(
        words.get(payment.cancel_reason, _("This coin payment was cancelled.")),
        reason=payment.cancel_reason,
        attempts_left=0,
    )


def _expired(account, payment: CoinPayment, now) -> bool:
    if payment.expires_at <= now:
        _cancel(account, payment, CancelReason.EXPIRED, now)
        return True
    return False


def confirm_payment(payment_id, *, merchant, code, now=None) -> CoinPayment:
    """The customer's code captures the hold. Confirming a captured payment again gives the
    same result (debited once); a wrong code counts, the third cancels; past `expires_at` the
    payment is cancelled, whichever of the expiry job and this call comes first."""
    now = now or timezone.now()
    if not codes.normalize(code):
        raise ValidationFailed([{"field": "code", "message": _("Type the customer's code.")}])
    with transaction.atomic():
        account, payment = _locked(payment_id, merchant)
        outcome = None
        if payment.status == PaymentStatus.CAPTURED:
            return payment
        if payment.status == PaymentStatus.CANCELLED or _expired(account, payment, now):
            outcome = _cancelled(payment)
        elif codes.check(
            purpose=PURPOSE, subject=str(payment.pk), binding=binding(payment), code=code, now=now
        ):
            _capture(account, payment, now)
        else:
            payment.attempts += 1
            payment.save(update_fields=["attempts"])
            if payment.attempts_left <= 0:
                _cancel(account, payment, CancelReason.WRONG_CODE, now)
                outcome = _cancelled(payment)
            else:
                left = payment.attempts_left
                outcome = InvalidCode(
                    _("Wrong code. Attempts left: %(n)d.") % {"n": left}, attempts_left=left
                )
    if outcome is not None:  # raised after the commit: the count and the cancel stay
        raise outcome
    return payment


def resend_code(payment_id, *, merchant, now=None) -> CoinPayment:
    """A new code (the old one stops working), valid until the payment's own deadline (a resend
    does not prolong the hold); 3 resends a payment."""
    now = now or timezone.now()
    with transaction.atomic():
        account, payment = _locked(payment_id, merchant)
        outcome = None
        if payment.status == PaymentStatus.CAPTURED:
            outcome = PaymentCaptured(_("This coin payment is already paid."))
        elif payment.status == PaymentStatus.CANCELLED or _expired(account, payment, now):
            outcome = _cancelled(payment)
        elif payment.resends_left <= 0:
            outcome = TooManyCodes(_("The code was sent too many times for this payment."))
        else:
            payment.resends += 1
            _send_code(payment, now)
    if outcome is not None:
        raise outcome
    return payment


def cancel_payment(payment_id, *, merchant, now=None) -> CoinPayment:
    """Release the hold. Cancelling a cancelled payment changes nothing; a captured one is
    reversed instead (POST /transactions/{id}/reversal)."""
    now = now or timezone.now()
    with transaction.atomic():
        account, payment = _locked(payment_id, merchant)
        if payment.status == PaymentStatus.CAPTURED:
            raise PaymentCaptured(
                _("This coin payment is already paid: reverse its movement instead.")
            )
        if payment.status == PaymentStatus.AWAITING_CODE:
            _cancel(account, payment, CancelReason.CANCELLED, now)
    return payment


def expire_holds(now=None) -> int:
    """Cancel every payment still awaiting its code past `expires_at`, releasing its hold;
    returns how many. One short transaction per payment (the scheduler runs it every minute)."""
    now = now or timezone.now()
    due = list(
        CoinPayment.objects.filter(status=PaymentStatus.AWAITING_CODE, expires_at__lte=now)
        .order_by("expires_at")
        .values_list("pk", flat=True)[:1000]
    )
    done = 0
    for payment_id in due:
        with transaction.atomic():
            payment = CoinPayment.objects.select_related("hold").get(pk=payment_id)
            account = ledger.lock_account(payment.hold.account_id)
            payment = CoinPayment.objects.select_for_update().get(pk=payment_id)
            if payment.status == PaymentStatus.AWAITING_CODE and _expired(account, payment, now):
                done += 1
    return done


def payment_out(payment: CoinPayment, now=None) -> dict:
    """The API's shape of a payment (API.md), with the wallet as it is now."""
    # Every payment has a hold, and its wallet is the hold's account: no lookup of it first.
    wallet = wallet_of(payment.customer, now, account_id=payment.hold.account_id)
    return {
        "id": str(payment.pk),
        "status": payment.status,
        "coins": payment.coins,
        "customer_id": str(payment.customer_id),
        "invoice_number": payment.invoice_number or None,
        "invoice_amount": money.format_amount(payment.invoice_amount, payment.currency),
        "currency": payment.currency,
        "code_sent_to": payment.code_sent_to or None,
        "expires_at": payment.expires_at,
        "attempts_left": payment.attempts_left,
        "resends_left": payment.resends_left,
        "cancel_reason": payment.cancel_reason or None,
        "via_qr": payment.via_qr,
        "promotion_id": str(payment.promotion_id) if payment.promotion_id else None,
        "document_checked": payment.document_checked,
        "transaction_id": str(payment.transaction_id) if payment.transaction_id else None,
        # A captured payment undone by POST /transactions/{id}/reversal.
        "reversed": bool(payment.transaction_id)
        and Transaction.objects.filter(reverses_id=payment.transaction_id).exists(),
        "created_at": payment.created_at,
        "captured_at": payment.captured_at,
        "cancelled_at": payment.cancelled_at,
        "balance": {"available": wallet["available"], "held": wallet["held"]},
    }
