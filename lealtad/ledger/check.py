"""The ledger's invariants, checked for every account in three aggregate queries."""

from django.db.models import Q, Sum

from lealtad.ledger.models import Account, Entry, Lot, LotStatus


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
    problems = []
    for account_id, balance, pending in accounts.values_list("pk", "balance", "pending"):
        entry_sum = entries.get(account_id) or 0
        lot = lots.get(account_id, {"open": 0, "held": 0})
        if not balance == entry_sum == lot["open"] or pending != lot["held"]:
            problems.append(
                f"account {account_id}: balance {balance}, entries {entry_sum}, "
                f"open lots {lot['open']}, pending {pending}, held lots {lot['held']}"
            )
    return problems
