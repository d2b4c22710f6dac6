"""The coins' settlement identity (coins.settlement), which `lealtad ledger-check` proves beside
the per-account invariants of `check.py`:

    issued + converted − accepted − expired − donated − reversed (+ any other movement)
        = coins outstanding = available + held in every wallet.

A hold (a coin payment awaiting its code) moves coins from available to held with no movement,
so it leaves the sum alone; its capture is the posted coin payment.
"""

from django.db.models import Sum

from lealtad.ledger.models import Account, AccountKind, Kind, Status, Transaction


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
