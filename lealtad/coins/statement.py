"""K1: the coin statement, the wallet's movements with a running balance.

What a merchant sees of it (tenancy). The wallet is the customer's own and network-wide, so every
merchant that serves the customer sees every line of it: when, what (earned, paid, expired,
reversed), the coins, the balance after it, and the name of the merchant where it happened — the
lines the customer reads on their own statement, and what a cashier needs to answer "where did
my coins go?". What a line says of another merchant's business stays with that merchant: its
invoice number, the purchase amount, the branch and the cashier are shown only on the viewing
merchant's own lines. (The coins of a line are not that merchant's secret: they are the
customer's money, and the running balance would give them away anyway.)
"""

from dataclasses import dataclass

from django.db.models import Case, IntegerField, Value, When
from django.utils.translation import gettext as _

from lealtad.customers.models import Customer
from lealtad.ledger.models import AccountKind, Kind, Status, Transaction
from lealtad.network.models import Merchant


@dataclass
class Line:
    id: str
    at: object
    kind: str
    label: str
    coins: int
    balance: int | None
    merchant_name: str
    own: bool  # a line of the merchant looking at it: its details are shown
    invoice_number: str = ""
    amount: object = None
    currency: str = ""
    branch_name: str = ""
    reversed: bool = False
    reversible: bool = False


def _label(txn: Transaction, original_kind: str | None) -> str:
    if txn.kind == Kind.COIN_EARN:
        return _("Coins earned")
    if txn.kind == Kind.COIN_PAYMENT:
        return _("Paid with coins")
    if txn.kind == Kind.EXPIRY:
        return _("Coins expired")
    # K4 / K5: the partner's or the cause's name is on the movement (Transaction.reason).
    if txn.kind == Kind.CONVERSION:
        return _("Coins from %(partner)s") % {"partner": txn.reason}
    if txn.kind == Kind.DONATION:
        return _("Donation to %(cause)s") % {"cause": txn.reason}
    if txn.kind == Kind.REVERSAL:
        if original_kind == Kind.COIN_EARN:
            return _("Coins earned, reversed")
        if original_kind == Kind.COIN_PAYMENT:
            return _("Coin payment, reversed")
        return _("Reversal")
    return txn.get_kind_display()


def wallet_card(customer: Customer, viewer: Merchant, limit: int) -> tuple[dict, list[Line]]:
    """The wallet (`coins.actions.wallet_of`) and its latest `limit` lines, for a customer's
    card: a customer without a wallet costs one query."""
    from lealtad.coins.actions import wallet_id, wallet_of

    account_id = wallet_id(customer)
    wallet = wallet_of(customer, account_id=account_id)
    return wallet, coin_statement(customer, viewer, limit) if account_id else []


def coin_statement(customer: Customer, viewer: Merchant, limit: int | None = 50) -> list[Line]:
    """The customer's posted coin movements, newest first, each with the balance right after it
    (`Transaction.balance_after`); `limit` the latest lines (None: all, capped at 5000)."""
    # An operation expires due lots before it spends, at the same instant: expiry comes first
    # in time, so last when reading newest first.
    expiry_first = Case(
        When(kind=Kind.EXPIRY, then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    rows = list(
        # The wallet through a join, not a lookup first: no wallet costs one query, not two.
        Transaction.objects.filter(
            account__customer=customer,
            account__kind=AccountKind.COINS,
            account__merchant=None,
            status=Status.POSTED,
        )
        .select_related("merchant", "branch")
        .annotate(expiry_first=expiry_first)
        .order_by("-posted_at", "-expiry_first", "-created_at")[: limit or 5000]
    )
    if not rows:
        return []
    reversal_of = [t.reverses_id for t in rows if t.reverses_id]
    originals = (
        dict(Transaction.objects.filter(pk__in=reversal_of).values_list("pk", "kind"))
        if reversal_of
        else {}
    )
    reversed_ids = set(
        Transaction.objects.filter(reverses_id__in=[t.pk for t in rows]).values_list(
            "reverses_id", flat=True
        )
    )
    lines = []
    for t in rows:
        own = t.merchant_id is not None and t.merchant_id == viewer.pk
        line = Line(
            id=str(t.pk),
            at=t.posted_at or t.created_at,
            kind=t.kind,
            label=_label(t, originals.get(t.reverses_id)),
            coins=t.points,
            balance=t.balance_after,
            merchant_name=(
                t.merchant.name
                if t.merchant_id
                else t.reason
                if t.kind == Kind.CONVERSION and t.reason
                else _("Lealtad network")
            ),
            own=own,
            reversed=t.pk in reversed_ids,
        )
        if own:
            line.invoice_number = t.invoice_number or ""
            line.amount = t.amount
            line.currency = t.currency
            line.branch_name = t.branch.name if t.branch_id else ""
            line.reversible = t.kind in (Kind.COIN_EARN, Kind.COIN_PAYMENT) and not line.reversed
        lines.append(line)
    return lines
