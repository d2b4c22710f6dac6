"""The net promoter score (F7): promoters score 9–10, passives 7–8, detractors 1–6, and
NPS = % promoters − % detractors, rounded half up to one decimal (−100.0 to 100.0).

With no ratings in the period there is no score: `nps` is None (shown as "—", sent as null),
never 0, which would claim as many promoters as detractors. Days are the merchant's own.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Q
from django.db.models.functions import TruncMonth, TruncWeek

from lealtad.ratings.inbox import _tz, filtered

PROMOTER_MIN, PASSIVE_MIN = 9, 7
ONE_DECIMAL = Decimal("0.1")


@dataclass(frozen=True)
class Score:
    ratings: int
    promoters: int
    passives: int
    detractors: int

    @property
    def nps(self) -> Decimal | None:
        return score(self.promoters, self.detractors, self.ratings)

    def as_dict(self) -> dict:
        value = self.nps
        return {
            "ratings": self.ratings,
            "promoters": self.promoters,
            "passives": self.passives,
            "detractors": self.detractors,
            "nps": None if value is None else float(value),
        }


def score(promoters: int, detractors: int, ratings: int) -> Decimal | None:
    if not ratings:
        return None
    exact = Decimal(100 * (promoters - detractors)) / Decimal(ratings)
    return exact.quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)


def colour(value: int) -> str:
    """The NPS group of a score, as the inbox colours it."""
    if value >= PROMOTER_MIN:
        return "promoter"
    return "passive" if value >= PASSIVE_MIN else "detractor"


_GROUPS = {
    "promoters": Count("pk", filter=Q(score__gte=PROMOTER_MIN)),
    "passives": Count("pk", filter=Q(score__gte=PASSIVE_MIN, score__lt=PROMOTER_MIN)),
    "detractors": Count("pk", filter=Q(score__lt=PASSIVE_MIN)),
}


def nps(merchant, *, date_from: dt.date | None, date_to: dt.date | None, branch=None) -> Score:
    """Counted per score (the day counters' ten columns), then summed into the three NPS
    groups here."""
    return from_distribution(
        distribution(merchant, date_from=date_from, date_to=date_to, branch=branch)
    )


def from_distribution(counts: list[tuple[int, int]]) -> Score:
    promoters = sum(n for value, n in counts if value >= PROMOTER_MIN)
    passives = sum(n for value, n in counts if PASSIVE_MIN <= value < PROMOTER_MIN)
    detractors = sum(n for value, n in counts if value < PASSIVE_MIN)
    return Score(promoters + passives + detractors, promoters, passives, detractors)


def nps_series(
    merchant,
    *,
    date_from: dt.date,
    date_to: dt.date,
    branch=None,
    by: str = "week",
) -> list[tuple[dt.date, Score]]:
    """One Score per week (from its Monday) or month (from its first day) of the period, the
    empty ones included (with nps None), in order; summed from the day counters."""
    if by not in ("week", "month"):
        raise ValueError(f"unknown bucket {by!r}")
    from lealtad.ratings import counters

    buckets: dict[dt.date, list[int]] = {}
    for day, per_score in counters.days(
        merchant, branch=branch, date_from=date_from, date_to=date_to
    ):
        start = day - dt.timedelta(days=day.weekday()) if by == "week" else day.replace(day=1)
        sums = buckets.setdefault(start, [0] * 10)
        for n, count in enumerate(per_score):
            sums[n] += count
    return [
        (day, from_distribution(list(zip(range(1, 11), buckets.get(day, [0] * 10), strict=True))))
        for day in _bucket_starts(date_from, date_to, by)
    ]


def nps_series_scanned(
    merchant,
    *,
    date_from: dt.date,
    date_to: dt.date,
    branch=None,
    by: str = "week",
) -> list[tuple[dt.date, Score]]:
    """`nps_series` counted from the ratings themselves (what the day counters must equal)."""
    if by not in ("week", "month"):
        raise ValueError(f"unknown bucket {by!r}")
    tz = _tz(merchant)
    trunc = TruncWeek if by == "week" else TruncMonth
    rows = (
        filtered(merchant, branch=branch, date_from=date_from, date_to=date_to)
        .annotate(bucket=trunc("created_at", tzinfo=tz))
        .values("bucket")
        .annotate(ratings=Count("pk"), **_GROUPS)
        .order_by()
    )
    found = {}
    for row in rows:
        bucket = row.pop("bucket")
        day = bucket.date() if isinstance(bucket, dt.datetime) else bucket
        found[day] = Score(**row)
    out = []
    for day in _bucket_starts(date_from, date_to, by):
        out.append((day, found.get(day, Score(0, 0, 0, 0))))
    return out


def _bucket_starts(date_from: dt.date, date_to: dt.date, by: str) -> list[dt.date]:
    if by == "week":
        day = date_from - dt.timedelta(days=date_from.weekday())
        step = dt.timedelta(days=7)
        out = []
        while day <= date_to:
            out.append(day)
            day += step
        return out
    day, out = date_from.replace(day=1), []
    while day <= date_to:
        out.append(day)
        day = (day + dt.timedelta(days=32)).replace(day=1)
    return out


def distribution(
    merchant, *, date_from: dt.date | None, date_to: dt.date | None, branch=None
) -> list[tuple[int, int]]:
    """(score, ratings) for every score 1 to 10, zeros included, from the day counters."""
    from lealtad.ratings import counters

    found = counters.totals(merchant, branch=branch, date_from=date_from, date_to=date_to)
    return [(value, found[f"score_{value}"]) for value in range(1, 11)]


def distribution_scanned(
    merchant, *, date_from: dt.date | None, date_to: dt.date | None, branch=None
) -> list[tuple[int, int]]:
    """`distribution` counted from the ratings themselves."""
    rows = filtered(merchant, branch=branch, date_from=date_from, date_to=date_to)
    found = dict(rows.values("score").annotate(n=Count("pk")).order_by().values_list("score", "n"))
    return [(value, found.get(value, 0)) for value in range(1, 11)]
