"""The dashboard's daily roll-up (issue 15): a merchant's closed days, one row each.

Why closed days only, and no row updated per accrual: a counter per (merchant, branch, day, kind)
kept by the accrual would make every accrual of a merchant update the same row, and so wait for
each other's commits. Here nothing on the accrual path writes: a day is computed from the ledger
once it has closed (GRACE after its local midnight, so that no movement of it can still be in
flight), by the periodic task (`console.tasks.dashboard_rollup`), the dashboard itself when a day
is missing, or `lealtad rebuild-dashboard`. The dashboard reads closed days from here and the
open tail (today, yesterday during the grace) live from the ledger.

What changes a closed day afterwards leaves a `StaleHour` in its own transaction (database
triggers, migration 0002): a late approval or rejection, a movement or registration written with
an earlier time, a changed date or branch. Reversals are movements of their own day and change
nothing of the original's. Before reading, the days those hours touch are computed again. A row
computed in another time zone than the merchant's present one is computed again too.

Concurrency: refreshes of one merchant take a lock (PostgreSQL advisory; SQLite's write lock);
marks are read first, the days computed after, and a mark is deleted only at the change count
it was read with, so a change committed meanwhile is computed by the next refresh.
"""

import datetime as dt
import zoneinfo
from collections import defaultdict
from contextlib import contextmanager
from decimal import Decimal

from django.db import connection, connections, transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from lealtad.console.models import DayFigures, StaleHour
from lealtad.core import replica
from lealtad.customers.models import Membership
from lealtad.ledger.models import Status, Transaction
from lealtad.network.models import Merchant

# The triggers of migration 0002 treat a row as written "after the fact" when its time is more
# than this old; the roll-up closes a day only this long after its end. Keep the two equal.
GRACE = dt.timedelta(hours=1)
HOUR_END = dt.timedelta(minutes=59, seconds=59, microseconds=999999)
DELETE_BATCH = 400


@contextmanager
def without_jit():
    """PostgreSQL's JIT compiler judges the per-day queries by the planner's guess that a
    generate_series makes 1,000 rows, and spends 50–150 ms compiling a query that runs in 10.
    On the connection the reads go to (inside a report, the replica: lealtad/core/replica.py)."""
    alias = replica.read_alias()
    conn = connections[alias]
    if conn.vendor != "postgresql":
        yield
        return
    with transaction.atomic(using=alias), conn.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        yield


def last_closed_day(tz: zoneinfo.ZoneInfo, now: dt.datetime | None = None) -> dt.date:
    """The last local day that ended GRACE ago. The application's clock and the database's
    (the triggers') agree to within seconds, far less than GRACE."""
    now = now or timezone.now()
    return timezone.localtime(now - GRACE, tz).date() - dt.timedelta(days=1)


def _days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def _local_days(hour: dt.datetime, tz) -> set[dt.date]:
    # An hour of UTC may straddle two local days (zones at :30 or :45 from UTC).
    return {timezone.localtime(hour, tz).date(), timezone.localtime(hour + HOUR_END, tz).date()}


def _midnight(day: dt.date, tz) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tz)


# --- computing days from the ledger -----------------------------------------------------------

# One range scan of the (merchant, created_at) index per day (see reports.MOVEMENTS_PER_DAY).
MOVEMENTS_SQL = """
SELECT d.day, t.branch_id, t.kind, t.n, t.points, t.amount
FROM unnest(%(days)s::date[]) AS d(day)
CROSS JOIN LATERAL (
    SELECT branch_id, kind, COUNT(*) AS n, SUM(points) AS points, SUM(amount) AS amount
    FROM ledger_transaction
    WHERE merchant_id = %(merchant)s AND status = 'posted'
        AND created_at >= d.day::timestamp AT TIME ZONE %(tz)s
        AND created_at < (d.day::timestamp + interval '1 day') AT TIME ZONE %(tz)s
    GROUP BY branch_id, kind
) AS t
"""
REGISTRATIONS_SQL = """
SELECT d.day, t.registered_branch_id, t.n
FROM unnest(%(days)s::date[]) AS d(day)
CROSS JOIN LATERAL (
    SELECT registered_branch_id, COUNT(*) AS n
    FROM customers_membership
    WHERE merchant_id = %(merchant)s
        AND created_at >= d.day::timestamp AT TIME ZONE %(tz)s
        AND created_at < (d.day::timestamp + interval '1 day') AT TIME ZONE %(tz)s
    GROUP BY registered_branch_id
) AS t
"""


def _raw(sql, params) -> list[tuple]:
    with connections[replica.read_alias()].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _portable(merchant, days: list[dt.date], tz) -> tuple[list[tuple], list[tuple]]:
    wanted = set(days)
    since, until = _midnight(min(days), tz), _midnight(max(days) + dt.timedelta(days=1), tz)
    movements = (
        Transaction.objects.filter(
            merchant=merchant, status=Status.POSTED, created_at__gte=since, created_at__lt=until
        )
        .annotate(day=TruncDate("created_at", tzinfo=tz))
        .values("day", "branch_id", "kind")
        .annotate(n=Count("*"), points=Sum("points"), amount=Sum("amount"))
        .order_by()
        .values_list("day", "branch_id", "kind", "n", "points", "amount")
    )
    registrations = (
        Membership.objects.filter(merchant=merchant, created_at__gte=since, created_at__lt=until)
        .annotate(day=TruncDate("created_at", tzinfo=tz))
        .values("day", "registered_branch_id")
        .annotate(n=Count("*"))
        .order_by()
        .values_list("day", "registered_branch_id", "n")
    )
    return (
        [row for row in movements if row[0] in wanted],
        [row for row in registrations if row[0] in wanted],
    )


def compute(merchant: Merchant, days: list[dt.date], tz) -> dict[dt.date, dict]:
    """The figures of `days` as the ledger has them now, every day present (empty ones too)."""
    out: dict[dt.date, dict] = {day: {"m": {}, "r": {}} for day in days}
    if not days:
        return out
    if connection.vendor == "postgresql":
        params = {"days": sorted(days), "merchant": merchant.pk, "tz": tz.key}
        with without_jit():
            movements = _raw(MOVEMENTS_SQL, params)
            registrations = _raw(REGISTRATIONS_SQL, params)
    else:
        movements, registrations = _portable(merchant, days, tz)
    for day, branch, kind, n, points, amount in movements:
        per_branch = out[day]["m"].setdefault(str(branch or ""), {})
        per_branch[kind] = [n, int(points or 0), str(amount) if amount is not None else None]
    for day, branch, n in registrations:
        out[day]["r"][str(branch or "")] = n
    return out


# --- keeping it fresh -------------------------------------------------------------------------


def _lock(merchant: Merchant) -> None:
    """One refresh of a merchant at a time. SQLite's IMMEDIATE transactions already serialise
    every writer."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                [f"console.rollup:{merchant.pk}"],
            )


def _forget(marks: list[tuple[int, dt.datetime, int]]) -> None:
    """Delete the marks read, each only if no change came since (its count unchanged)."""
    for i in range(0, len(marks), DELETE_BATCH):
        batch = marks[i : i + DELETE_BATCH]
        q = Q()
        for pk, _hour, changes in batch:
            q |= Q(pk=pk, changes=changes)
        StaleHour.objects.filter(q).delete()


def _stored(merchant, start, end, tz) -> dict[dt.date, dict]:
    return dict(
        DayFigures.objects.filter(
            merchant=merchant, day__gte=start, day__lte=end, timezone=tz.key
        ).values_list("day", "figures")
    )


def refresh(merchant: Merchant, start: dt.date, end: dt.date, now=None) -> dict[dt.date, dict]:
    """The roll-up's rows of `start`…`end` (closed days only: `end` at most the last closed
    day), computing first what is missing or stale. Cheap when nothing is: two queries."""
    tz = zoneinfo.ZoneInfo(merchant.timezone)
    wanted = _days(start, end) if start <= end else []
    marks = list(StaleHour.objects.filter(merchant=merchant).values_list("pk", "hour", "changes"))
    rows = _stored(merchant, start, end, tz) if wanted else {}
    if not marks and len(rows) == len(wanted):
        return rows
    with transaction.atomic():
        _lock(merchant)
        marks = list(
            StaleHour.objects.filter(merchant=merchant).values_list("pk", "hour", "changes")
        )
        stale = {day for _pk, hour, _n in marks for day in _local_days(hour, tz)}
        DayFigures.objects.filter(merchant=merchant).filter(
            Q(day__in=stale) | ~Q(timezone=tz.key)
        ).delete()
        rows = _stored(merchant, start, end, tz) if wanted else {}
        missing = [day for day in wanted if day not in rows]
        computed = compute(merchant, missing, tz)
        now = now or timezone.now()
        DayFigures.objects.bulk_create(
            [
                DayFigures(
                    merchant=merchant, day=day, timezone=tz.key, figures=figures, computed_at=now
                )
                for day, figures in computed.items()
            ],
            batch_size=500,
        )
        _forget(marks)
    rows.update(computed)
    return rows


def closed_days(merchant: Merchant, start: dt.date, end: dt.date):
    """(rows of the closed days of `start`…`end`, the last of them or None): the days after it
    are the dashboard's open tail, read live."""
    tz = zoneinfo.ZoneInfo(merchant.timezone)
    last = min(end, last_closed_day(tz))
    if last < start:
        return {}, None
    return refresh(merchant, start, last), last


def movements(rows: dict[dt.date, dict], branch=None) -> list[tuple]:
    """(day, kind, count, points, amount) like reports.movements_per_day, from roll-up rows."""
    wanted = None if branch is None else str(branch.pk)
    out = []
    for day, figures in rows.items():
        totals: dict[str, list] = defaultdict(lambda: [0, 0, None])
        for key, kinds in figures["m"].items():
            if wanted is not None and key != wanted:
                continue
            for kind, (n, points, amount) in kinds.items():
                total = totals[kind]
                total[0] += n
                total[1] += points
                if amount is not None:
                    total[2] = (total[2] or Decimal(0)) + Decimal(amount)
        out.extend((day, kind, n, points, amount) for kind, (n, points, amount) in totals.items())
    return out


def registrations(rows: dict[dt.date, dict], branch=None) -> list[tuple]:
    """(day, count) like reports.registrations_per_day, days with some only."""
    wanted = None if branch is None else str(branch.pk)
    out = []
    for day, figures in rows.items():
        n = sum(v for key, v in figures["r"].items() if wanted is None or key == wanted)
        if n:
            out.append((day, n))
    return out


def rebuild(merchant: Merchant, since: dt.date | None = None, chunk: int = 31) -> int:
    """Every closed day of the merchant from `since` (its first movement or registration when
    not given) computed again; returns how many days."""
    tz = zoneinfo.ZoneInfo(merchant.timezone)
    last = last_closed_day(tz)
    if since is None:
        firsts = [
            Transaction.objects.filter(merchant=merchant).order_by("created_at").first(),
            Membership.objects.filter(merchant=merchant).order_by("created_at").first(),
        ]
        moments = [row.created_at for row in firsts if row is not None]
        if not moments:
            return 0
        since = timezone.localtime(min(moments), tz).date()
    with transaction.atomic():
        _lock(merchant)
        DayFigures.objects.filter(merchant=merchant, day__gte=since).delete()
    days = _days(since, last) if since <= last else []
    for i in range(0, len(days), chunk):
        refresh(merchant, days[i], days[min(i + chunk, len(days)) - 1])
    return len(days)


def keep_fresh(days: int = 7) -> int:
    """The periodic task's work: for every merchant, its stale days and the last `days` closed
    days computed; returns how many merchants."""
    count = 0
    for merchant in Merchant.objects.all().only("id", "timezone"):
        tz = zoneinfo.ZoneInfo(merchant.timezone)
        last = last_closed_day(tz)
        refresh(merchant, last - dt.timedelta(days=days - 1), last)
        count += 1
    return count
