"""The ledger's invariants, checked for every account in four aggregate queries (the coins'
settlement identity is `identity.py`; `lealtad ledger-check` runs both).

For every account: the entries sum to the open lots' remainders; the held balance is the held
(pending-approval) lots plus the pending holds; and available + what the holds reserve = the open
lots. For points there are no holds, so that is balance = entries = open lots; for a coin wallet:
available + held = the open lots' remainders.
"""

from django.db.models import Q, Sum

from lealtad.ledger.models import (
    Account,
    Entry,
    Hold,
    HoldStatus,
    Lot,
    LotStatus,
)


def check_ledger(account_ids=None) -> list[str]:
    """Every account (or only `account_ids`) whose balances disagree with its entries and lots."""
    accounts, entry_rows, lot_rows = Account.objects.all(), Entry.objects.all(), Lot.objects.all()
    hold_rows = Hold.objects.filter(status=HoldStatus.PENDING)
    if account_ids is not None:
        hold_rows = hold_rows.filter(account_id__in=account_ids)
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
    holds = dict(
        hold_rows.values("account_id")
        .annotate(total=Sum("points"))
        .values_list("account_id", "total")
    )
    problems = []
    for account_id, balance, pending in accounts.values_list("pk", "balance", "pending"):
        entry_sum = entries.get(account_id) or 0
        lot = lots.get(account_id, {"open": 0, "held": 0})
        reserved = holds.get(account_id) or 0
        if (
            not balance + reserved == entry_sum == lot["open"]
            or pending != lot["held"] + reserved
            or balance < 0
        ):
            problems.append(
                f"account {account_id}: balance {balance}, entries {entry_sum}, "
                f"open lots {lot['open']}, pending {pending}, held lots {lot['held']}, "
                f"pending holds {reserved}"
            )
    return problems
