"""Ledger primitives. Callers hold the account's row lock (see `lock_account`) for their whole
transaction: every change to an account's lots, entries and cached balance goes through that lock,
so no two writers ever interleave on one account.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import F, Q, Sum

from lealtad.ledger.models import Account, Entry, Kind, Lot, LotStatus, Transaction


@dataclass
class LockedAccount:
    id: int
    balance: int
    pending: int


def lock_account(account_id: int) -> LockedAccount:
    """Take the account's row lock (SELECT … FOR UPDATE on PostgreSQL; SQLite's write transactions
    are already exclusive) and read its balances."""
    row = (
        Account.objects.select_for_update()
        .filter(pk=account_id)
        .values_list("balance", "pending")
        .get()
    )
    return LockedAccount(account_id, row[0], row[1])


def lock_accounts(account_ids) -> dict[int, LockedAccount]:
    """Several accounts, locked in primary-key order so that two writers cannot deadlock."""
    rows = (
        Account.objects.select_for_update()
        .filter(pk__in=sorted(set(account_ids)))
        .order_by("pk")
        .values_list("pk", "balance", "pending")
    )
    return {pk: LockedAccount(pk, balance, pending) for pk, balance, pending in rows}


def lock_and_add(account_id: int, now, available: int = 0, pending: int = 0) -> LockedAccount:
    """Lock the account and add to its balances in one statement (UPDATE … RETURNING): the hot
    path of an accrual saves a round trip against SELECT … FOR UPDATE followed by UPDATE."""
    table = connection.ops.quote_name(Account._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET balance = balance + %s, pending = pending + %s, updated_at = %s "
            "WHERE id = %s RETURNING balance, pending",
            [available, pending, connection.ops.adapt_datetimefield_value(now), account_id],
        )
        balance, held = cursor.fetchone()
    return LockedAccount(account_id, balance, held)


def open_lot(account: LockedAccount, txn, points: int, expires_at, now, held=False) -> Lot:
    """The lot (and, unless held, the entry) for points `lock_and_add` already counted."""
    lot = Lot.objects.create(
        account_id=account.id,
        transaction=txn,
        points=points,
        remaining=points,
        status=LotStatus.PENDING if held else LotStatus.ACTIVE,
        earned_at=now,
        expires_at=expires_at,
    )
    if not held:
        Entry.objects.create(
            account_id=account.id, transaction=txn, lot=lot, points=points, created_at=now
        )
    return lot


def _move(account: LockedAccount, available: int = 0, pending: int = 0, now=None) -> None:
    if available == 0 and pending == 0:
        return
    # The account is locked, so these are exact; F() keeps the UPDATE honest all the same.
    Account.objects.filter(pk=account.id).update(
        balance=F("balance") + available, pending=F("pending") + pending, updated_at=now
    )
    account.balance += available
    account.pending += pending


def credit(account: LockedAccount, txn: Transaction, points: int, expires_at: datetime, now):
    """Post `points` into a new lot expiring at `expires_at`."""
    assert points > 0
    lot = Lot.objects.create(
        account_id=account.id,
        transaction=txn,
        points=points,
        remaining=points,
        earned_at=now,
        expires_at=expires_at,
    )
    Entry.objects.create(
        account_id=account.id, transaction=txn, lot=lot, points=points, created_at=now
    )
    _move(account, available=points, now=now)
    return lot


def hold(account: LockedAccount, txn: Transaction, points: int, expires_at: datetime, now):
    """A pending lot: counted as pending, not spendable, no entry until it is approved."""
    assert points > 0
    lot = Lot.objects.create(
        account_id=account.id,
        transaction=txn,
        points=points,
        remaining=points,
        status=LotStatus.PENDING,
        earned_at=txn.created_at,
        expires_at=expires_at,
    )
    _move(account, pending=points, now=now)
    return lot


def release(account: LockedAccount, txn: Transaction, now) -> int:
    """Approve a held accrual: its lots become spendable, dated from the accrual."""
    lots = list(Lot.objects.filter(transaction=txn, status=LotStatus.PENDING))
    total = sum(lot.points for lot in lots)
    Lot.objects.filter(pk__in=[lot.pk for lot in lots]).update(status=LotStatus.ACTIVE)
    Entry.objects.bulk_create(
        Entry(account_id=account.id, transaction=txn, lot=lot, points=lot.points, created_at=now)
        for lot in lots
    )
    _move(account, available=total, pending=-total, now=now)
    return total


def void_held(account: LockedAccount, txn: Transaction, now) -> int:
    """Reject a held accrual: nothing spendable was ever created, so only the hold goes."""
    lots = list(Lot.objects.filter(transaction=txn, status=LotStatus.PENDING))
    total = sum(lot.points for lot in lots)
    Lot.objects.filter(pk__in=[lot.pk for lot in lots]).update(status=LotStatus.VOID, remaining=0)
    _move(account, pending=-total, now=now)
    return total


def _write_debits(account: LockedAccount, txn: Transaction, takes: list[tuple[Lot, int]], now):
    Entry.objects.bulk_create(
        Entry(account_id=account.id, transaction=txn, lot=lot, points=-take, created_at=now)
        for lot, take in takes
    )
    for lot, take in takes:
        Lot.objects.filter(pk=lot.pk).update(remaining=F("remaining") - take)
    _move(account, available=-sum(take for _lot, take in takes), now=now)


def open_lots(account_id: int, first_lot_id: int | None = None) -> list[Lot]:
    """The account's open lots in spending order: soonest to expire first (P3)."""
    lots = list(
        Lot.objects.filter(account_id=account_id, status=LotStatus.ACTIVE, remaining__gt=0)
        .only("id", "remaining", "expires_at")
        .order_by("expires_at", "id")
    )
    if first_lot_id is not None:
        lots.sort(key=lambda lot: lot.id != first_lot_id)
    return lots


def expire_due_lots(account: LockedAccount, lots: list[Lot], customer_id, now) -> list[Lot]:
    """Expire the lots of `lots` that are due; return the ones still open."""
    due = [lot for lot in lots if lot.expires_at <= now]
    if due:
        txn = Transaction.objects.create(
            account_id=account.id,
            kind=Kind.EXPIRY,
            points=-sum(lot.remaining for lot in due),
            balance_after=account.balance - sum(lot.remaining for lot in due),
            customer_id=customer_id,
            created_at=now,
            posted_at=now,
        )
        _write_debits(account, txn, [(lot, lot.remaining) for lot in due], now)
    return [lot for lot in lots if lot.expires_at > now]


def debit(account: LockedAccount, txn: Transaction, points: int, lots: list[Lot], now) -> None:
    """Take `points` from `lots` in order. The caller checked the balance covers them."""
    assert points > 0
    takes, left = [], points
    for lot in lots:
        if left == 0:
            break
        take = min(lot.remaining, left)
        takes.append((lot, take))
        left -= take
    if left:
        raise AssertionError(f"account {account.id}: lots do not cover the balance")
    _write_debits(account, txn, takes, now)


def restore(account: LockedAccount, txn: Transaction, original: Transaction, now) -> int:
    """Give back what `original` took, to the very lots it took it from."""
    takes = list(
        Entry.objects.filter(transaction=original, points__lt=0).values_list("lot_id", "points")
    )
    Entry.objects.bulk_create(
        Entry(account_id=account.id, transaction=txn, lot_id=lot_id, points=-points, created_at=now)
        for lot_id, points in takes
    )
    for lot_id, points in takes:
        Lot.objects.filter(pk=lot_id).update(remaining=F("remaining") - points)
    total = -sum(points for _lot, points in takes)
    _move(account, available=total, now=now)
    return total


def balances(account_id: int, now, horizon, account: Account | None = None) -> dict:
    """Available (less what is due but not yet swept by the expiry run), pending, and what
    expires before `horizon`. Pass the account row when the caller already has it."""
    if account is not None:
        row = {"balance": account.balance, "pending": account.pending}
    else:
        row = Account.objects.filter(pk=account_id).values("balance", "pending").first()
    if row is None:
        return {"available": 0, "pending": 0, "expiring": 0}
    sums = Lot.objects.filter(
        account_id=account_id, status=LotStatus.ACTIVE, remaining__gt=0, expires_at__lte=horizon
    ).aggregate(
        due=Sum("remaining", filter=Q(expires_at__lte=now), default=0),
        expiring=Sum("remaining", default=0),
    )
    return {
        "available": row["balance"] - sums["due"],
        "pending": row["pending"],
        "expiring": sums["expiring"] - sums["due"],
    }
