"""Coins (K1, K2, K3, K6): the network's wallet, over the ledger's primitives.

One wallet per customer for the whole network (an Account of kind COINS with no merchant);
1 coin = 1 unit of the network's currency. Points stay in `lealtad.ledger.actions`.
"""

import datetime as dt
from calendar import monthrange
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from lealtad.audit import actions as audit
from lealtad.audit.models import Action
from lealtad.core import money
from lealtad.core.errors import AmountBelowMinimum, InsufficientCoins, ValidationFailed
from lealtad.customers import gate
from lealtad.customers.actions import join_merchant
from lealtad.customers.models import Customer
from lealtad.ledger import ledger
from lealtad.ledger.accrual import Movement, claim_pos_invoice, duplicate_invoice
from lealtad.ledger.invoices import display_number, invoice_key, lock_number
from lealtad.ledger.models import Account, AccountKind, Kind, Transaction
from lealtad.network import coin_roles
from lealtad.network.models import Merchant
from lealtad.network.service_lines import suspended
from lealtad.webhooks import events, payloads


def add_months(moment: dt.datetime, months: int) -> dt.datetime:
    """Calendar months (N4: coins are valid 24 months from the day earned); the 31st of a
    shorter month becomes its last day."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, monthrange(year, month)[1]))


def coin_wallet(customer: Customer) -> Account:
    account, _created = Account.objects.get_or_create(
        kind=AccountKind.COINS, customer=customer, merchant=None
    )
    return account


EXPIRING_WINDOW = dt.timedelta(days=30)


def wallet_id(customer: Customer) -> int | None:
    """The customer's wallet account, if they have one yet."""
    return (
        Account.objects.filter(customer=customer, kind=AccountKind.COINS, merchant=None)
        .values_list("pk", flat=True)
        .first()
    )


_LOOK_IT_UP = object()


def wallet_of(customer: Customer, now=None, account_id=_LOOK_IT_UP) -> dict:
    """K1 / K6: the network wallet as every merchant shows it: available (less what is due but
    not yet swept by the expiry run), held (by a payment awaiting its code) and what expires
    within 30 days. No wallet yet reads as zeros (and creates nothing). A caller that already
    looked up `wallet_id` passes it (None: no wallet)."""
    now = now or timezone.now()
    if account_id is _LOOK_IT_UP:
        account_id = wallet_id(customer)
    if account_id is None:
        return {"available": 0, "held": 0, "expiring_30d": 0}
    b = ledger.balances(account_id, now, now + EXPIRING_WINDOW)
    return {"available": b["available"], "held": b["pending"], "expiring_30d": b["expiring"]}


def earn_coins(
    *,
    merchant: Merchant,
    customer: Customer,
    amount: Decimal,
    branch=None,
    staff=None,
    invoice_number: str | None = None,
    now=None,
    from_invoice: bool = False,
) -> Movement:
    """K2: amount × the issuer's cashback rate, rounded down; valid for the network's months.

    An invoice earns once per merchant, points or coins: the coin earning holds the invoice's
    key under the same unique constraint as a points accrual (ledger.invoices). A POS invoice
    waiting under the number loads with it (I3); `from_invoice`: the invoices package loading
    its own."""
    now = now or timezone.now()
    if customer.suspended:
        raise suspended(customer, merchant)
    coin_roles.check_issuer(merchant)
    amount = money.parse_amount(amount, merchant.currency)
    coins = money.coins_for(amount, merchant.cashback_rate)
    if coins < 1:
        # As with points: a purchase that earns nothing posts nothing.
        minimum = money.minimum_for_coins(merchant.cashback_rate, merchant.currency)
        shown = money.display_amount(minimum, merchant.country, merchant.currency, up=True)
        raise AmountBelowMinimum(
            _("The smallest purchase that earns coins is %(minimum)s %(currency)s.")
            % {"minimum": shown, "currency": merchant.currency},
            minimum=money.format_amount(minimum, merchant.currency),
        )
    invoice_number = display_number(invoice_number)
    key = invoice_key(invoice_number)
    wallet = coin_wallet(customer)
    months = merchant.network.coin_validity_months
    try:
        return _post_earning(
            merchant, customer, wallet, coins, amount, branch, staff, now, months,
            (invoice_number, key), claim=bool(key) and not from_invoice,
        )  # fmt: skip
    except IntegrityError as exc:
        if key and ("transaction_unique_invoice" in str(exc) or "invoice_key" in str(exc)):
            raise duplicate_invoice(merchant, invoice_number, key) from None
        raise


def _post_earning(
    merchant, customer, wallet, coins, amount, branch, staff, now, months, invoice, claim=False
):
    with transaction.atomic():
        lock_number(merchant.pk, invoice[1])
        # N2: earning at an issuer makes the customer a member there, standing or falling with it.
        join_merchant(customer, merchant, branch, now=now)
        account = ledger.lock_account(wallet.pk)
        txn = Transaction.objects.create(
            account_id=account.id,
            kind=Kind.COIN_EARN,
            points=coins,
            balance_after=account.balance + coins,
            merchant=merchant,
            branch=branch,
            staff=staff,
            customer=customer,
            amount=amount,
            currency=merchant.currency,
            invoice_number=invoice[0],
            invoice_key=invoice[1],
            created_at=now,
            posted_at=now,
        )
        if coins:
            ledger.credit(account, txn, coins, add_months(now, months), now)
        audit.record(
            Action.COINS_EARN,
            merchant=merchant,
            target=txn,
            label=invoice[0] or "",
            customer_id=customer.pk,
            before={"coins": txn.balance_after - coins},
            after={"coins": txn.balance_after, "earned": coins, "amount": amount},
            staff=staff,
            branch=branch,
            now=now,
        )
        events.emit(
            merchant,
            "coins.earned",
            payloads.coins_earned(txn, account.balance, account.pending),
            now=now,
        )
        if claim:
            claim_pos_invoice(txn, now)
    return Movement(txn, account.balance, account.pending)


def pay_with_coins(
    *, merchant: Merchant, customer: Customer, coins: int, branch=None, staff=None, now=None
) -> Movement:
    """K3 in one step, with no code: hold and capture at once (the ledger's one way to spend
    coins). For loading data (the demo) and tests only: the till and the API take coin payments
    through `lealtad.coins.payments`, which the customer confirms with a code or a payment QR."""
    now = now or timezone.now()
    gate.check_coin_exit(customer, merchant)
    coin_roles.check_acceptor(merchant)
    if not isinstance(coins, int) or coins <= 0:
        raise ValidationFailed([{"field": "coins", "message": _("A whole number above zero.")}])
    wallet = coin_wallet(customer)
    with transaction.atomic():
        account = ledger.lock_account(wallet.pk)
        ledger.expire_due_lots(account, ledger.open_lots(account.id), customer.pk, now)
        hold = ledger.hold_coins(account, coins, now)
        if hold is None:
            raise InsufficientCoins(_("Insufficient funds."), available=account.balance)
        txn = Transaction.objects.create(
            account_id=account.id,
            kind=Kind.COIN_PAYMENT,
            points=-coins,
            balance_after=account.balance,
            merchant=merchant,
            branch=branch,
            staff=staff,
            customer=customer,
            created_at=now,
            posted_at=now,
        )
        ledger.capture_hold(account, hold.pk, txn, now)
    return Movement(txn, account.balance, account.pending)
