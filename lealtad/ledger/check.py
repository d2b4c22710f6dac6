"""The ledger's invariants, checked for every account in three aggregate queries, and the coins'
settlement identity in two more."""

from django.db.models import Q, Sum

from lealtad.ledger.models import (
    Account,
    AccountKind,
    Entry,
    Kind,
    Lot,
    LotStatus,
    Status,
    Transaction,
)


def check_ledger(account_ids=None) -> list[str]:
    """Every account (or only `account_ids`) whose balances disagree with its entries and lots."""
    accounts, entry_rows, lot_rows = Account.objects.all(), Entry.objects.all(), Lot.objects.all()
    if account_ids is not None:
        accounts = accounts.filter(pk__in=account_ids)
        entry_rows = entry_rows.filter(account_id__in=account_ids)
        lot_rows = lot_rows.filter(account_id__in=account_ids)
    entries = dict(
        entry_rows.values("account_id")
        .annotate(total=Sum("points"))
        .values_list("account_id", "total")
    )
    lots = {
        row["account_id"]: row
        for row in lot_rows.values("account_id").annotate(
            open=Sum("remaining", filter=Q(status=LotStatus.ACTIVE), default=0),
            held=Sum("remaining", filter=Q(status=LotStatus.PENDING), default=0),
        )
    }
    problems = [] if account_ids is not None else coin_identity()
    for account_id, balance, pending in accounts.values_list("pk", "balance", "pending"):
        entry_sum = entries.get(account_id) or 0
        lot = lots.get(account_id, {"open": 0, "held": 0})
        if not balance == entry_sum == lot["open"] or pending != lot["held"]:
            problems.append(
                f"account {account_id}: balance {balance}, entries {entry_sum}, "
                f"open lots {lot['open']}, pending {pending}, held lots {lot['held']}"
            )
    return problems


def coin_movements(start=None, end=None) -> dict[str, int]:
    """The signed coins every kind of posted movement put into (or took from) the wallets, by
    when it was posted: [start, end), either end open."""
    rows = Transaction.objects.filter(account__kind=AccountKind.COINS, status=Status.POSTED)
    if start is not None:
        rows = rows.filter(posted_at__gte=start)
    if end is not None:
        rows = rows.filter(posted_at__lt=end)
    return dict(rows.values("kind").annotate(total=Sum("points")).values_list("kind", "total"))


def coin_identity() -> list[str]:
    """The settlement identity (coins.settlement): issued + converted − accepted − expired −
    donated − reversed (+ any other movement) = coins outstanding = available + held in every
    wallet. One line when it does not hold, naming every figure."""
    moves = coin_movements()
    wallets = Account.objects.filter(kind=AccountKind.COINS).aggregate(
        available=Sum("balance", default=0), held=Sum("pending", default=0)
    )
    outstanding = wallets["available"] + wallets["held"]
    total = sum(moves.values())
    if total == outstanding:
        return []
    named = (Kind.COIN_EARN, Kind.CONVERSION, Kind.COIN_PAYMENT, Kind.EXPIRY, Kind.DONATION)
    figures = ", ".join(f"{k} {moves.get(k, 0):+d}" for k in (*named, Kind.REVERSAL))
    other = total - sum(moves.get(k, 0) for k in (*named, Kind.REVERSAL))
    return [
        f"coins: settlement identity fails: movements {figures}, other {other:+d} "
        f"sum to {total}, but wallets hold {outstanding} "
        f"(available {wallets['available']}, held {wallets['held']})"
    ]
