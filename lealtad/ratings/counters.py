"""F2/F7: the inbox's counters (ratings, comments, replies, unread) and the score distribution
behind the NPS, per merchant, branch and day (`RatingDay`), so that reading them costs a few
hundred rows whatever the number of ratings.

Kept right by recounting, not by adding: every action that changes a rating or its
conversation calls `refresh_for(rating)` in its own transaction, which locks that day's row
(creating it if needed) and then counts the day's ratings again from the ratings themselves.
The lock comes first, so two ratings of one day written at once are counted by the second
transaction after the first committed (each statement of READ COMMITTED sees what committed
before it began): no lost update, and no rule of "what changes the unread count" to get wrong.
A day at one branch holds tens or hundreds of ratings, so the recount is a few index probes.

`rebuild(merchant)` recomputes every day at once, for data written around the actions (the
benchmark's bulk load, a merchant's time zone changed): `lealtad rebuild-rating-counters`.
A filter by customer name reads the ratings themselves (inbox.counts does).
"""

import datetime as dt

from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate

from lealtad.ratings.inbox import _tz, day_range, unread_condition
from lealtad.ratings.models import SCORES, Author, Message, Rating, RatingDay

COUNTERS = ("ratings", "comments", "replies", "unread")
SCORE_FIELDS = tuple(f"score_{n}" for n in SCORES)


def day_of(merchant, at: dt.datetime) -> dt.date:
    return at.astimezone(_tz(merchant)).date()


def refresh_for(rating: Rating) -> RatingDay:
    """Recount the day of `rating` (call it inside the transaction that changed it)."""
    merchant = rating.merchant
    return refresh(merchant, rating.branch_id, day_of(merchant, rating.created_at))


def refresh(merchant, branch_id, day: dt.date) -> RatingDay:
    with transaction.atomic():
        row = _locked(merchant, branch_id, day)
        since, until = day_range(merchant, day, day)
        ratings = Rating.objects.filter(
            merchant=merchant, branch_id=branch_id, created_at__gte=since, created_at__lt=until
        )
        found = ratings.aggregate(**_aggregates())
        found["replies"] = Message.objects.filter(
            rating__in=ratings.values("pk"), author=Author.MERCHANT
        ).count()
        for name, value in found.items():
            setattr(row, name, value or 0)
        row.save()
    return row


def _aggregates() -> dict:
    return {
        "ratings": Count("pk"),
        "comments": Count("pk", filter=~Q(comment="")),
        "unread": Count("pk", filter=unread_condition()),
        **{f"score_{n}": Count("pk", filter=Q(score=n)) for n in SCORES},
    }


def _locked(merchant, branch_id, day) -> RatingDay:
    rows = RatingDay.objects.select_for_update().filter(
        merchant=merchant, branch_id=branch_id, day=day
    )
    row = rows.first()
    if row is not None:
        return row
    try:
        with transaction.atomic():  # a savepoint: another transaction may create it first
            return RatingDay.objects.create(merchant=merchant, branch_id=branch_id, day=day)
    except IntegrityError:
        return rows.get()


def rebuild(merchant) -> int:
    """Every day of the merchant's counters, recomputed from its ratings in two grouped
    queries; returns how many day rows it holds now."""
    tz = _tz(merchant)
    with transaction.atomic():
        RatingDay.objects.filter(merchant=merchant).delete()
        days = {}
        grouped = (
            Rating.objects.filter(merchant=merchant)
            .annotate(day=TruncDate("created_at", tzinfo=tz))
            .values("branch_id", "day")
            .annotate(**_aggregates())
            .order_by()
        )
        for found in grouped:
            key = (found.pop("branch_id"), found.pop("day"))
            days[key] = RatingDay(merchant=merchant, branch_id=key[0], day=key[1], **found)
        replies = (
            Message.objects.filter(rating__merchant=merchant, author=Author.MERCHANT)
            .annotate(day=TruncDate("rating__created_at", tzinfo=tz))
            .values("rating__branch_id", "day")
            .annotate(n=Count("pk"))
            .order_by()
        )
        for found in replies:
            days[(found["rating__branch_id"], found["day"])].replies = found["n"]
        RatingDay.objects.bulk_create(days.values(), batch_size=1000)
    return len(days)


def totals(
    merchant, *, branch=None, date_from: dt.date | None = None, date_to: dt.date | None = None
) -> dict:
    """The counters and the score distribution over the merchant's days from `date_from` to
    `date_to` (both included) at `branch` (all when None): one query over the day rows."""
    rows = RatingDay.objects.filter(merchant=merchant)
    if branch is not None:
        rows = rows.filter(branch=branch)
    if date_from is not None:
        rows = rows.filter(day__gte=date_from)
    if date_to is not None:
        rows = rows.filter(day__lte=date_to)
    found = rows.aggregate(**{name: Sum(name) for name in COUNTERS + SCORE_FIELDS})
    return {name: value or 0 for name, value in found.items()}


def days(
    merchant, *, branch=None, date_from: dt.date | None = None, date_to: dt.date | None = None
):
    """(day, [ratings of score 1 … 10]) for each day with ratings, summed over the branches."""
    rows = RatingDay.objects.filter(merchant=merchant)
    if branch is not None:
        rows = rows.filter(branch=branch)
    if date_from is not None:
        rows = rows.filter(day__gte=date_from)
    if date_to is not None:
        rows = rows.filter(day__lte=date_to)
    grouped = (
        rows.values("day").annotate(**{name: Sum(name) for name in SCORE_FIELDS}).order_by("day")
    )
    return [(row["day"], [row[name] for name in SCORE_FIELDS]) for row in grouped]
