"""The merchant's figures (D1) and CSV exports (D2).

Every query here takes the merchant first: tenancy is a security boundary, not a filter the view
may forget. The dashboard costs a fixed number of grouped queries, whatever the size of the
ledger: one per series (movements per day and kind, registrations per day), one aggregate for
the points outstanding and one for the approval queue. Days are the merchant's own (its time
zone), grouped by the database.
"""

import csv
import datetime as dt
import math
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from decimal import Decimal

from django import forms
from django.db import DatabaseError, connection, connections, transaction
from django.db.models import Count, Sum
from django.db.models.functions import TruncDate
from django.utils import formats, timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from lealtad.console import rollup
from lealtad.core import money, replica
from lealtad.core.spreadsheet import cell
from lealtad.customers.models import Membership
from lealtad.ledger.models import Account, AccountKind, Kind, Status, Transaction
from lealtad.network.models import Branch, Merchant

DEFAULT_DAYS = 30
MAX_DAYS = 366
# Up to a quarter, one bar per day still reads; beyond it the charts count per week.
WEEKLY_AFTER_DAYS = 92
EARLIEST = dt.date(2000, 1, 1)
LATEST = dt.date(2100, 12, 31)


# --- the period -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """From `start` to `end`, both included, as days of the merchant's calendar."""

    start: dt.date
    end: dt.date
    tz: zoneinfo.ZoneInfo

    @property
    def since(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time.min, self.tz)

    @property
    def until(self) -> dt.datetime:  # exclusive: midnight after the last day
        return dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min, self.tz)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def weekly(self) -> bool:
        return self.days > WEEKLY_AFTER_DAYS

    def query(self) -> dict:
        return {"from": self.start.isoformat(), "to": self.end.isoformat()}


def merchant_today(merchant: Merchant, now=None) -> dt.date:
    return timezone.localtime(now or timezone.now(), zoneinfo.ZoneInfo(merchant.timezone)).date()


def default_period(merchant: Merchant, now=None) -> Period:
    """The last 30 days, today included."""
    today = merchant_today(merchant, now)
    return Period(
        today - dt.timedelta(days=DEFAULT_DAYS - 1), today, zoneinfo.ZoneInfo(merchant.timezone)
    )


class PeriodForm(forms.Form):
    """`?from=YYYY-MM-DD&to=YYYY-MM-DD` (the browser's date inputs); both optional."""

    def __init__(self, data, *, merchant: Merchant, now=None):
        super().__init__(data)
        self.merchant = merchant
        self.default = default_period(merchant, now)
        widget = {"type": "date", "min": EARLIEST.isoformat(), "max": LATEST.isoformat()}
        self.fields["from"] = forms.DateField(
            label=gettext_lazy("From"),
            required=False,
            widget=forms.DateInput(attrs=widget, format="%Y-%m-%d"),
        )
        self.fields["to"] = forms.DateField(
            label=gettext_lazy("To"),
            required=False,
            widget=forms.DateInput(attrs=widget, format="%Y-%m-%d"),
        )

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        start = data.get("from") or None
        end = data.get("to") or None
        if end is None:
            end = self.default.end
        if start is None:
            start = max(end - dt.timedelta(days=DEFAULT_DAYS - 1), EARLIEST)
        for name, day in (("from", start), ("to", end)):
            if not EARLIEST <= day <= LATEST:
                self.add_error(
                    name,
                    _("Choose a date between %(first)s and %(last)s.")
                    % {"first": EARLIEST.isoformat(), "last": LATEST.isoformat()},
                )
        if self.errors:
            return data
        if end < start:
            self.add_error("to", _("The end date is before the start date."))
        elif (end - start).days + 1 > MAX_DAYS:
            self.add_error("to", _("A period covers at most %(days)d days.") % {"days": MAX_DAYS})
        if self.errors:
            return data
        period = Period(start, end, self.default.tz)
        data["period"] = period
        # The inputs show the period in force, also when the query string left a date out.
        self.data = {**dict(self.data.items()), **period.query()}
        return data

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                self.fields[name].widget.attrs["aria-describedby"] = f"{name}-error"

    @property
    def period(self) -> Period | None:
        return self.cleaned_data.get("period") if self.is_valid() else None


def branches_of(merchant: Merchant) -> list[Branch]:
    return list(Branch.objects.filter(merchant=merchant).order_by("-active", "name"))


# --- the dashboard ----------------------------------------------------------------------------


@dataclass
class Figures:
    registrations: int = 0
    accruals: int = 0
    accrued_points: int = 0
    accrued_amount: Decimal = Decimal(0)
    redemptions: int = 0
    redeemed_points: int = 0
    reversals: int = 0
    bonus_points: int = 0
    expired_points: int = 0
    outstanding_points: int = 0
    held_points: int = 0
    outstanding_value: Decimal = Decimal(0)
    pending: int = 0
    pending_points: int = 0


@dataclass
class Dashboard:
    period: Period
    branch: Branch | None
    figures: Figures
    charts: list = field(default_factory=list)


def dashboard(
    merchant: Merchant, period: Period, branch: Branch | None = None, *, use_rollup: bool = True
) -> Dashboard:
    """The figures of one merchant (one of its branches) over a period, and their charts.
    Closed days come from the daily roll-up (console.rollup), the open tail from the ledger;
    `use_rollup=False` reads every day from the ledger (what the tests compare with)."""
    scope = {"merchant": merchant}
    if branch is not None:
        scope["branch"] = branch
    figures = Figures()

    # Posted movements per day and kind: one grouped query gives the totals and the chart.
    # Movements count on the day they were made (`created_at`): a held accrual approved later
    # belongs to the day of the purchase.
    by_day: dict[dt.date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    with _without_jit():
        if use_rollup:
            movements, registrations = _per_day(merchant, period, branch)
        else:
            movements = movements_per_day(merchant, period, branch)
            registrations = registrations_per_day(merchant, period, branch)
    for day, kind, n, points, amount in movements:
        points = points or 0
        if kind == Kind.ACCRUAL:
            figures.accruals += n
            figures.accrued_points += points
            figures.accrued_amount += amount or 0
            by_day[day]["accrued"] += points
        elif kind == Kind.REDEMPTION:
            figures.redemptions += n
            figures.redeemed_points -= points  # stored negative: what left the balances
            by_day[day]["redeemed"] -= points
        elif kind == Kind.REVERSAL:
            figures.reversals += n
        elif kind in (Kind.BONUS, Kind.ADJUSTMENT):
            figures.bonus_points += points
        elif kind == Kind.EXPIRY:
            figures.expired_points -= points

    for day, n in registrations:
        figures.registrations += n
        by_day[day]["registered"] += n

    # Points belong to the merchant, not to a branch, and are counted now, not over the period.
    held = Account.objects.filter(kind=AccountKind.POINTS, merchant=merchant).aggregate(
        balance=Sum("balance"), pending=Sum("pending")
    )
    figures.outstanding_points = held["balance"] or 0
    figures.held_points = held["pending"] or 0
    figures.outstanding_value = outstanding_value(merchant, figures.outstanding_points)

    queue = Transaction.objects.filter(**scope, status=Status.PENDING).aggregate(
        n=Count("id"), points=Sum("points")
    )
    figures.pending, figures.pending_points = queue["n"], queue["points"] or 0

    buckets = _buckets(period, by_day)
    labels = _labels([day for day, _values in buckets], period.weekly)
    charts = [
        chart(
            "points",
            _("Points accrued and redeemed per week")
            if period.weekly
            else _("Points accrued and redeemed per day"),
            buckets,
            [("accrued", _("Accrued"), "#0b5d4b"), ("redeemed", _("Redeemed"), "#b45309")],
            unit=_("points"),
            weekly=period.weekly,
            labels=labels,
        ),
        chart(
            "registrations",
            _("Customers registered per week")
            if period.weekly
            else _("Customers registered per day"),
            buckets,
            [("registered", _("Registered"), "#2456a6")],
            unit=_("customers"),
            weekly=period.weekly,
            labels=labels,
        ),
    ]
    return Dashboard(period=period, branch=branch, figures=figures, charts=charts)


# On PostgreSQL each day of the period is one range scan of the (merchant, created_at) index,
# aggregated on its own: the database never converts a time zone nor hashes a date per row. A
# year of a merchant with 330,000 movements takes a third of the time of `GROUP BY` on the local
# date (see docs/benchmark.md). Local midnights come from the merchant's zone, so a day is 23 or
# 25 hours long when the clocks change.
MOVEMENTS_PER_DAY = """
SELECT d.day::date, t.kind, t.n, t.points, t.amount
FROM generate_series(%(start)s::timestamp, %(end)s::timestamp, interval '1 day') AS d(day)
CROSS JOIN LATERAL (
    SELECT kind, COUNT(*) AS n, SUM(points) AS points, SUM(amount) AS amount
    FROM ledger_transaction
    WHERE merchant_id = %(merchant)s AND status = 'posted' {branch}
        AND created_at >= d.day AT TIME ZONE %(tz)s
        AND created_at < (d.day + interval '1 day') AT TIME ZONE %(tz)s
    GROUP BY kind
) AS t
"""
REGISTRATIONS_PER_DAY = """
SELECT d.day::date, (
    SELECT COUNT(*) FROM customers_membership
    WHERE merchant_id = %(merchant)s {branch}
        AND created_at >= d.day AT TIME ZONE %(tz)s
        AND created_at < (d.day + interval '1 day') AT TIME ZONE %(tz)s
) AS n
FROM generate_series(%(start)s::timestamp, %(end)s::timestamp, interval '1 day') AS d(day)
"""


_without_jit = rollup.without_jit


def _per_day(merchant, period: Period, branch) -> tuple[list[tuple], list[tuple]]:
    """Movements and registrations per day: the closed days from the roll-up, the days after
    them (today, and yesterday within the roll-up's grace) from the ledger."""
    rows, last = rollup.closed_days(merchant, period.start, period.end)
    movements = rollup.movements(rows, branch)
    registrations = rollup.registrations(rows, branch)
    start = period.start if last is None else last + dt.timedelta(days=1)
    if start <= period.end:
        tail = Period(start, period.end, period.tz)
        movements += movements_per_day(merchant, tail, branch)
        registrations += registrations_per_day(merchant, tail, branch)
    return movements, registrations


def _per_day_sql(sql: str, branch_column: str, merchant, period, branch) -> list[tuple]:
    params = {
        "merchant": merchant.pk,
        "tz": str(period.tz),
        "start": period.start,
        "end": period.end,
        "branch": branch.pk if branch is not None else None,
    }
    where = f"AND {branch_column} = %(branch)s" if branch is not None else ""
    with connections[replica.read_alias()].cursor() as cursor:
        cursor.execute(sql.format(branch=where), params)
        return cursor.fetchall()


def movements_per_day(merchant, period: Period, branch=None) -> list[tuple]:
    """(local day, kind, count, points, amount) of the posted movements, days with some only."""
    if connection.vendor == "postgresql":
        return _per_day_sql(MOVEMENTS_PER_DAY, "branch_id", merchant, period, branch)
    query = Transaction.objects.filter(
        merchant=merchant,
        status=Status.POSTED,
        created_at__gte=period.since,
        created_at__lt=period.until,
    )
    if branch is not None:
        query = query.filter(branch=branch)
    return list(
        query.annotate(day=TruncDate("created_at", tzinfo=period.tz))
        .values("day", "kind")
        .annotate(n=Count("*"), points=Sum("points"), amount=Sum("amount"))
        .order_by()
        .values_list("day", "kind", "n", "points", "amount")
    )


def registrations_per_day(merchant, period: Period, branch=None) -> list[tuple]:
    """(local day, memberships created), registered at `branch` if one is given."""
    if connection.vendor == "postgresql":
        rows = _per_day_sql(REGISTRATIONS_PER_DAY, "registered_branch_id", merchant, period, branch)
        return [row for row in rows if row[1]]
    query = Membership.objects.filter(
        merchant=merchant, created_at__gte=period.since, created_at__lt=period.until
    )
    if branch is not None:
        query = query.filter(registered_branch=branch)
    return list(
        query.annotate(day=TruncDate("created_at", tzinfo=period.tz))
        .values("day")
        .annotate(n=Count("*"))
        .order_by()
        .values_list("day", "n")
    )


def outstanding_value(merchant: Merchant, points: int) -> Decimal:
    """Points × point value. The point value is what a customer spends to earn one point (P1),
    so this is what customers spent to earn the points they still hold, at today's point value:
    the program's liability measured in sales, not what the prizes will cost the merchant."""
    places = Decimal(1).scaleb(-money.minor_units(merchant.currency))
    return (Decimal(points) * merchant.point_value).quantize(places)


def _buckets(period: Period, by_day) -> list[tuple[dt.date, dict]]:
    """Every day of the period (or every week, from its Monday), empty ones included."""
    out: dict[dt.date, dict] = {}
    day = period.start
    while day <= period.end:
        key = day - dt.timedelta(days=day.weekday()) if period.weekly else day
        bucket = out.setdefault(key, defaultdict(int))
        for name, value in by_day.get(day, {}).items():
            bucket[name] += value
        day += dt.timedelta(days=1)
    return list(out.items())


# --- charts: inline SVG drawn here -------------------------------------------------------------

WIDTH, HEIGHT = 1100, 260
LEFT, RIGHT, TOP, BOTTOM = 70, 16, 14, 46


def _nice_step(value: int) -> int:
    """A whole 1, 2, 2.5 or 5 × 10ⁿ step such that four steps reach at least value (y axis)."""
    raw = max(value / 4, 1)
    power = 10 ** math.floor(math.log10(raw))
    for mantissa in (1, 2, 2.5, 5, 10):
        step = mantissa * power
        if step >= raw and step == int(step):
            return int(step)
    return 10 * power  # pragma: no cover


def _px(value: float) -> str:
    # Coordinates are written by us, never by the template: no locale may turn 1.5 into "1,5".
    return f"{value:.1f}"


def _labels(days: list[dt.date], weekly: bool) -> dict[dt.date, tuple[str, str, str]]:
    """Each bucket's axis label, its name in a bar's tooltip and in the table."""
    out = {}
    for day in days:
        short = formats.date_format(day, "j M")
        when = _("week of %(day)s") % {"day": short} if weekly else short
        out[day] = (short, when, formats.date_format(day, "D j M Y"))
    return out


def chart(key, title, buckets, series, *, unit, weekly, labels) -> dict:
    """The geometry of a bar chart (one bar per series in each bucket), as strings for the SVG,
    with its accessible description and the table behind it."""
    names = [name for name, _label, _colour in series]
    top = 4 * _nice_step(max([b.get(n, 0) for _d, b in buckets for n in names] or [0]))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(buckets), 1)
    bar_w = max(slot * 0.8 / len(series), 1)
    base = TOP + plot_h
    label_every = max(1, math.ceil(len(buckets) / 12))
    bars, xlabels, rows = [], [], []
    for i, (day, values) in enumerate(buckets):
        x0 = LEFT + i * slot + slot * 0.1
        short, when, _long = labels[day]
        for j, (name, label, colour) in enumerate(series):
            value = values.get(name, 0)
            height = plot_h * value / top
            bars.append(
                {
                    "x": _px(x0 + j * bar_w),
                    "y": _px(base - height),
                    "w": _px(max(bar_w - 0.5, 0.5)),
                    "h": _px(height),
                    "colour": colour,
                    "title": f"{when}: {formats.number_format(value, force_grouping=True)} "
                    f"{label.lower()}",
                }
            )
        if i % label_every == 0:
            xlabels.append(
                {
                    "x": _px(LEFT + i * slot + slot / 2),
                    "text": short,
                }
            )
        rows.append((day, [values.get(name, 0) for name in names]))
    ticks = [
        {
            "y": _px(base - plot_h * k / 4),
            "text": formats.number_format(top * k // 4, force_grouping=True),
        }
        for k in range(5)
    ]
    totals = [sum(values[j] for _d, values in rows) for j in range(len(series))]
    desc = "; ".join(
        f"{label}: {formats.number_format(total, force_grouping=True)} {unit}"
        for (_n, label, _c), total in zip(series, totals, strict=True)
    )
    geometry = {
        "id": key,
        "title": title,
        "desc": desc,
        "width": WIDTH,
        "height": HEIGHT,
        "bars": bars,
        "ticks": ticks,
        "xlabels": xlabels,
        "left": str(LEFT),
        "right": str(WIDTH - RIGHT),
        "tick_x": str(LEFT - 8),
        "base": _px(base),
        "label_y": _px(base + 18),
        "unit_x": _px(14),
        "unit_y": _px(TOP + plot_h / 2),
        "unit": unit,
        "series": series,
        "rows": rows,
        "weekly": weekly,
        "empty": not any(totals),
    }
    geometry["svg"] = _svg(geometry)
    # The table behind the chart, formatted here too (a template's filters cost ~0.1 ms a cell).
    geometry["table"] = [
        (
            labels[day][2],
            [formats.number_format(v, force_grouping=True) for v in values],
        )
        for day, values in rows
    ]
    return geometry


def _svg(c: dict) -> str:
    """The chart as inline SVG, written here rather than by a template: a year draws some 200
    elements, which the template engine takes ~20 ms to render and this about one."""
    grey = 'fill="#5b6675"'
    out = [
        f'<svg viewBox="0 0 {c["width"]} {c["height"]}" width="100%" role="img" '
        f'aria-labelledby="{c["id"]}-title {c["id"]}-desc" '
        'font-family="system-ui, sans-serif" font-size="13">',
        f'<title id="{c["id"]}-title">{escape(c["title"])}</title>',
        f'<desc id="{c["id"]}-desc">{escape(c["desc"])}</desc>',
    ]
    for t in c["ticks"]:
        out.append(
            f'<line x1="{c["left"]}" x2="{c["right"]}" y1="{t["y"]}" y2="{t["y"]}" '
            'stroke="#e3e7ed"/>'
            f'<text x="{c["tick_x"]}" y="{t["y"]}" dy="4" text-anchor="end" {grey}>'
            f"{escape(t['text'])}</text>"
        )
    out.append(
        f'<text transform="translate({c["unit_x"]} {c["unit_y"]}) rotate(-90)" '
        f'text-anchor="middle" {grey}>{escape(c["unit"])}</text>'
    )
    out.extend(
        f'<rect x="{b["x"]}" y="{b["y"]}" width="{b["w"]}" height="{b["h"]}" '
        f'fill="{b["colour"]}"><title>{escape(b["title"])}</title></rect>'
        for b in c["bars"]
    )
    out.append(
        f'<line x1="{c["left"]}" x2="{c["right"]}" y1="{c["base"]}" y2="{c["base"]}" '
        'stroke="#5b6675"/>'
    )
    out.extend(
        f'<text x="{label["x"]}" y="{c["label_y"]}" text-anchor="middle" {grey}>'
        f"{escape(label['text'])}</text>"
        for label in c["xlabels"]
    )
    if c["empty"]:
        out.append(
            f'<text x="50%" y="45%" text-anchor="middle" {grey} font-size="16">'
            f"{escape(_('Nothing in this period.'))}</text>"
        )
    out.append("</svg>")
    return mark_safe("".join(out))  # every text above is escaped


# --- CSV exports -----------------------------------------------------------------------------

# `;` rather than `,`: most of the network's merchants (Colombia, Brazil, Argentina, Chile …) run
# Excel with a decimal comma, and there its list separator is `;`, so a double-clicked file opens
# in columns; LibreOffice, Google Sheets and pandas read it as well when told or by sniffing.
DELIMITER = ";"
BOM = "\ufeff"  # Excel reads the file as UTF-8 only when it starts with one
ROWS_PER_CHUNK = 500
FETCH = 2000  # rows per round trip of the server-side cursor


def _iso(moment: dt.datetime | None, tz) -> str:
    return timezone.localtime(moment, tz).isoformat(timespec="seconds") if moment else ""


class _Line:
    """csv.writer writes into this and gets the line back, so nothing accumulates."""

    def write(self, value: str) -> str:
        return value


def stream_csv(header: list[str], rows: Iterable[list]) -> Iterator[str]:
    """UTF-8 with BOM, `;`-separated, in chunks of a few hundred lines."""
    writer = csv.writer(_Line(), delimiter=DELIMITER)
    chunk = [BOM, writer.writerow(header)]
    for row in rows:
        chunk.append(writer.writerow(row))
        if len(chunk) >= ROWS_PER_CHUNK:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)


def _streamed(query, format_row) -> Iterator[list]:
    """The rows of `query` as they come, through a server-side cursor on PostgreSQL, inside one
    transaction. Outside a transaction Django declares the cursor WITH HOLD, and PostgreSQL then
    computes the whole result before the first row leaves; inside one, rows stream from the
    start, and the file is one consistent snapshot. The transaction ends when the download ends
    or is abandoned (the response closes this generator). SQLite has no such cursors, and there
    a transaction would take the write lock (IMMEDIATE) from the tills for the whole download.

    The database is chosen now, in the view (the read replica when it reads from one: issue 17):
    the rows are read later, while the response streams, outside the view."""
    alias = replica.read_alias()
    return _stream(query.using(alias), format_row, alias)


def _stream(query, format_row, alias) -> Iterator[list]:
    """The replica chosen in the view may be gone when the download starts (seconds later):
    failing before the first row, the file comes from the primary instead; a failure after
    rows went out breaks the download (the client sees it cut short, never a wrong file)."""
    sent = False
    try:
        for row in _rows(query, alias):
            sent = True
            yield format_row(row)
    except DatabaseError as exc:
        if sent or alias == replica.DEFAULT:
            raise
        replica.give_up(exc, "an export")
        for row in _rows(query.using(replica.DEFAULT), replica.DEFAULT):
            yield format_row(row)


def _rows(query, alias):
    postgres = connections[alias].vendor == "postgresql"
    with transaction.atomic(using=alias) if postgres else nullcontext():
        # Declared inside the transaction, the cursor ends with it, so it is also safe behind
        # PgBouncer in transaction mode (issue 17): the export streams there too, although
        # DB_TRANSACTION_POOLING sets DISABLE_SERVER_SIDE_CURSORS, which keeps `.iterator()`
        # (here `_iterator(use_chunked_fetch=True)`, the same with the setting's test skipped)
        # from declaring one that could be asked for its next rows on another server connection.
        yield from query._iterator(True, FETCH)


def customers_count(merchant: Merchant) -> int:
    return Membership.objects.filter(merchant=merchant).count()


def customer_rows(merchant: Merchant) -> tuple[list[str], Iterator[list]]:
    """Every member of this merchant, oldest first. Anonymised customers export as stored
    (their data already blanked). Labels are translated now, before the response streams."""
    tz = zoneinfo.ZoneInfo(merchant.timezone)
    header = [
        _("Document type"),
        _("Document number"),
        _("First names"),
        _("Last names"),
        _("Email"),
        _("Mobile"),
        _("Category"),
        _("Branch of registration"),
        _("Card"),
        _("Registered at"),
        _("Balance (points)"),
        _("Blocked"),
        _("Marketing consent"),
    ]
    yes, no = _("yes"), _("no")
    query = (
        Membership.objects.filter(merchant=merchant)
        .order_by("created_at", "id")
        .values_list(
            "customer__document_type",
            "customer__document_number",
            "customer__first_name",
            "customer__last_name",
            "customer__email",
            "customer__mobile",
            "category__name",
            "registered_branch__name",
            "card_number",
            "created_at",
            "account__balance",
            "blocked",
            "marketing_consent",
        )
    )

    def format_row(row) -> list:
        *text, created, balance, blocked, consent = row
        return [
            *map(cell, text),
            _iso(created, tz),
            balance,
            yes if blocked else no,
            yes if consent else no,
        ]

    return header, _streamed(query, format_row)


def transactions_query(merchant: Merchant, period: Period, branch: Branch | None = None):
    query = Transaction.objects.filter(
        merchant=merchant, created_at__gte=period.since, created_at__lt=period.until
    )
    if branch is not None:
        query = query.filter(branch=branch)
    return query


def transaction_rows(
    merchant: Merchant, period: Period, branch: Branch | None = None
) -> tuple[list[str], Iterator[list]]:
    """Every movement of this merchant in the period (every status), in the order made."""
    tz = period.tz
    header = [
        _("Id"),
        _("Date"),
        _("Kind"),
        _("Status"),
        _("Points"),
        _("Balance after"),
        _("Amount"),
        _("Currency"),
        _("Invoice"),
        _("Branch"),
        _("Cashier"),
        _("Document type"),
        _("Document number"),
        _("Reason"),
        _("Reverses"),
    ]
    kinds = {value: str(label) for value, label in Kind.choices}
    statuses = {value: str(label) for value, label in Status.choices}
    query = (
        transactions_query(merchant, period, branch)
        .order_by("created_at", "id")
        .values_list(
            "id",
            "created_at",
            "kind",
            "status",
            "points",
            "balance_after",
            "amount",
            "currency",
            "invoice_number",
            "branch__name",
            "staff__username",
            "customer__document_type",
            "customer__document_number",
            "reason",
            "reverses_id",
        )
    )

    def format_row(row) -> list:
        pk, created, kind, status, points, balance_after, amount, currency, *text, reverses = row
        return [
            pk,
            _iso(created, tz),
            kinds.get(kind, kind),
            statuses.get(status, status),
            points,
            "" if balance_after is None else balance_after,
            "" if amount is None else money.format_amount(amount, currency or merchant.currency),
            cell(currency),
            *map(cell, text),
            reverses or "",
        ]

    return header, _streamed(query, format_row)
