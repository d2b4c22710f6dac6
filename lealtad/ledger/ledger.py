"""Ledger primitives. Callers hold the account's row lock (see `lock_account`) for their whole
transaction: every change to an account's lots, entries and cached balance goes through that lock,
so no two writers ever interleave on one account.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import F, Min, Q, Sum

from lealtad.ledger.models import (
    Account,
    Entry,
    Hold,
    HoldStatus,
    Kind,
    Lot,
    LotStatus,
    Transaction,
)


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


def post_credit_at_once(txn: Transaction, expires_at, now, held=False, probe=None, also=None):
    """PostgreSQL, issue 15: the hot path of an accrual in one statement (data-modifying CTEs,
    each run once, in the caller's transaction): lock the account and add the points
    (UPDATE … RETURNING), and insert `txn` (its `balance_after` the new balance unless held), its
    lot and, unless held, its entry; `lock_and_add` + `Transaction.objects.create` + `open_lot`
    in one round trip instead of four. `txn` is unsaved, its id set; it comes back saved.

    `probe`: an SQL boolean expression and its parameters, answered in the same round trip (the
    accrual asks whether a POS invoice waits under its number). `also`: an unsaved row of any
    table with no foreign key to these (the accrual's audit entry, issue 16), inserted in the
    same statement. Returns the LockedAccount, the lot's id and the probe's answer."""
    points = txn.points
    quote = connection.ops.quote_name
    lot = Lot(
        account_id=txn.account_id,
        transaction_id=txn.pk,
        points=points,
        remaining=points,
        status=LotStatus.PENDING if held else LotStatus.ACTIVE,
        earned_at=now,
        expires_at=expires_at,
    )
    entry = Entry(account_id=txn.account_id, transaction_id=txn.pk, points=points, created_at=now)
    insert_txn, txn_params = _insert_select(
        Transaction, txn, {} if held else {"balance_after": "a.balance"}, "a"
    )
    insert_lot, lot_params = _insert_select(Lot, lot, {}, "tx")
    sql = (
        f"WITH a AS (UPDATE {quote(Account._meta.db_table)} SET balance = balance + %s,"
        " pending = pending + %s, updated_at = %s WHERE id = %s RETURNING balance, pending), "
        f"tx AS ({insert_txn} RETURNING 1), "
        f"lt AS ({insert_lot} RETURNING id)"
    )
    params = [
        0 if held else points,
        points if held else 0,
        connection.ops.adapt_datetimefield_value(now),
        txn.account_id,
        *txn_params,
        *lot_params,
    ]
    if not held:
        insert_entry, entry_params = _insert_select(Entry, entry, {"lot_id": "lt.id"}, "lt")
        sql += f", en AS ({insert_entry} RETURNING 1)"
        params += entry_params
    if also is not None:
        insert_also, also_params = _insert_select(type(also), also, {}, "a")
        sql += f", al AS ({insert_also} RETURNING 1)"
        params += also_params
    probe_sql, probe_params = probe or ("false", [])
    sql += f" SELECT a.balance, a.pending, lt.id, ({probe_sql}) FROM a, lt"
    with connection.cursor() as cursor:
        cursor.execute(sql, params + list(probe_params))
        balance, pending, lot_id, answer = cursor.fetchone()
    txn._state.adding, txn._state.db = False, connection.alias
    if not held:
        txn.balance_after = balance
    return LockedAccount(txn.account_id, balance, pending), lot_id, answer


def _insert_select(model, obj, expressions: dict, source: str) -> tuple[str, list]:
    """`INSERT INTO <table> (<every column>) SELECT <values> FROM <source>`: each column's value
    is `obj`'s, prepared by its field as `save()` would, and cast to the column's type, or the
    SQL expression given for it; an auto-increment key is left to the database (as
    lealtad.webhooks.events does for its event rows)."""
    quote = connection.ops.quote_name
    columns, values, params = [], [], []
    for field in model._meta.concrete_fields:
        if field.primary_key and field.get_internal_type().endswith("AutoField"):
            continue
        columns.append(quote(field.column))
        if field.attname in expressions:
            values.append(expressions[field.attname])
            continue
        values.append(f"%s::{field.cast_db_type(connection)}")
        params.append(field.get_db_prep_save(field.pre_save(obj, add=True), connection))
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(columns)}) "
        f"SELECT {', '.join(values)} FROM {source}"
    )
    return sql, params


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


def _write_debits(
    account: LockedAccount, txn: Transaction, takes: list[tuple[Lot, int]], now, held=False
):
    Entry.objects.bulk_create(
        Entry(account_id=account.id, transaction=txn, lot=lot, points=-take, created_at=now)
        for lot, take in takes
    )
    for lot, take in takes:
        Lot.objects.filter(pk=lot.pk).update(remaining=F("remaining") - take)
    total = sum(take for _lot, take in takes)
    # A captured hold leaves the held balance: available already went down when it was made.
    _move(account, available=0 if held else -total, pending=-total if held else 0, now=now)


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


def reserved(account_id: int) -> int:
    """What the account's pending holds reserve (coins awaiting a payment's code): the oldest
    coins, which the expiry leaves alone until the hold is captured or voided."""
    return Hold.objects.filter(account_id=account_id, status=HoldStatus.PENDING).aggregate(
        total=Sum("points", default=0)
    )["total"]


def _expirable(due: list[Lot], reserve: int) -> list[tuple[Lot, int]]:
    """The takes that expire `due` (soonest first) except the `reserve` oldest coins."""
    takes = []
    for lot in sorted(due, key=lambda lot: (lot.expires_at, lot.id)):
        kept = min(reserve, lot.remaining)
        reserve -= kept
        if lot.remaining - kept:
            takes.append((lot, lot.remaining - kept))
    return takes


def expire_due_lots(account: LockedAccount, lots: list[Lot], customer_id, now) -> list[Lot]:
    """Expire the lots of `lots` that are due; return the ones still open. Coins a pending hold
    reserves are not expired (they would take the available balance below zero): the hold's
    capture spends them, or its void gives them back to the next expiry."""
    due = [lot for lot in lots if lot.expires_at <= now]
    takes = _expirable(due, reserved(account.id)) if due else []
    if takes:
        total = sum(take for _lot, take in takes)
        txn = Transaction.objects.create(
            account_id=account.id,
            kind=Kind.EXPIRY,
            points=-total,
            balance_after=account.balance - total,
            customer_id=customer_id,
            created_at=now,
            posted_at=now,
        )
        _write_debits(account, txn, takes, now)
    return [lot for lot in lots if lot.expires_at > now]


def debit(
    account: LockedAccount, txn: Transaction, points: int, lots: list[Lot], now, held=False
) -> None:
    """Take `points` from `lots` in order. The caller checked the balance covers them (with
    `held`: a hold's capture, taken from the held balance)."""
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
    _write_debits(account, txn, takes, now, held=held)


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
    # Due coins a pending hold reserves are not the expiry's (see expire_due_lots).
    due = max(sums["due"] - reserved(account_id), 0) if sums["due"] else 0
    return {
        "available": row["balance"] - due,
        "pending": row["pending"],
        "expiring": sums["expiring"] - sums["due"],
    }


def balances_many(accounts: list[Account], now, horizon) -> dict[int, dict]:
    """`balances` of several accounts in two queries whatever their number (the customer app's
    home lists every membership), each also with `expires_at`: when the soonest of what expires
    before `horizon` falls due (None: nothing does)."""
    ids = [a.pk for a in accounts]
    if not ids:
        return {}
    sums = {
        row["account_id"]: row
        for row in Lot.objects.filter(
            account_id__in=ids, status=LotStatus.ACTIVE, remaining__gt=0, expires_at__lte=horizon
        )
        .values("account_id")
        .annotate(
            due=Sum("remaining", filter=Q(expires_at__lte=now), default=0),
            expiring=Sum("remaining", default=0),
            soonest=Min("expires_at", filter=Q(expires_at__gt=now)),
        )
    }
    holds = dict(
        Hold.objects.filter(account_id__in=ids, status=HoldStatus.PENDING)
        .values("account_id")
        .annotate(total=Sum("points"))
        .values_list("account_id", "total")
    )
    out = {}
    for account in accounts:
        row = sums.get(account.pk, {"due": 0, "expiring": 0, "soonest": None})
        # The same rule as `balances`: due coins a pending hold reserves are not the expiry's.
        due = max(row["due"] - holds.get(account.pk, 0), 0) if row["due"] else 0
        out[account.pk] = {
            "available": account.balance - due,
            "pending": account.pending,
            "expiring": row["expiring"] - row["due"],
            "expires_at": row["soonest"],
        }
    return out


# --- holds: two-phase coin payments (K3) ------------------------------------------------------


class HoldResolved(Exception):
    """The hold was already captured or voided: a hold is resolved at most once."""


def hold_coins(account: LockedAccount, points: int, now) -> Hold | None:
    """Reserve `points` of the available balance (`balance -= n, pending += n`), or None when
    the balance does not cover them. The caller holds the account's lock and has expired what
    is due, so `balance` is what may be spent; it never goes below zero."""
    assert points > 0
    if account.balance < points:
        return None
    _move(account, available=-points, pending=points, now=now)
    return Hold.objects.create(account_id=account.id, points=points, created_at=now)


def _pending_hold(account: LockedAccount, hold_id: int) -> Hold:
    hold = Hold.objects.select_for_update().get(pk=hold_id, account_id=account.id)
    if hold.status != HoldStatus.PENDING:
        raise HoldResolved(hold.status)
    return hold


def capture_hold(account: LockedAccount, hold_id: int, txn: Transaction, now) -> Hold:
    """Post the hold: debit its coins from the open lots, soonest to expire first (due ones
    included: the hold reserved them), with entries; `pending -= n`."""
    hold = _pending_hold(account, hold_id)
    lots = list(
        Lot.objects.filter(account_id=account.id, status=LotStatus.ACTIVE, remaining__gt=0)
        .only("id", "remaining", "expires_at")
        .order_by("expires_at", "id")
    )
    debit(account, txn, hold.points, lots, now, held=True)
    hold.status, hold.resolved_at, hold.transaction = HoldStatus.POSTED, now, txn
    hold.save(update_fields=["status", "resolved_at", "transaction"])
    return hold


def void_hold(account: LockedAccount, hold_id: int, now) -> Hold:
    """Release the hold: its coins are available again (`balance += n, pending -= n`)."""
    hold = _pending_hold(account, hold_id)
    _move(account, available=hold.points, pending=-hold.points, now=now)
    hold.status, hold.resolved_at = HoldStatus.VOIDED, now
    hold.save(update_fields=["status", "resolved_at"])
    return hold
