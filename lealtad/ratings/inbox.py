"""The merchant's ratings inbox (F2): the list with its sorts and filters, and its counters.

Every query takes the merchant first (tenancy is a boundary, not a filter a view may forget).
Dates are days of the merchant's own calendar (its time zone), both ends included.

Sorts mirror exactly when reversed: `score` is (score, date) ascending and `-score` the same
descending, so a second click on a column shows the list upside down. `unread` puts the ratings
with something unread first (a comment, or a customer's message, the merchant has not read),
newest first within each group; `-unread` puts them last, still newest first. The row's id
breaks every tie, so paging never shows a rating twice nor skips one.
"""

import datetime as dt
import zoneinfo

from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)

from lealtad.ratings.models import Author, Message, Rating

SORTS = ("score", "-score", "customer", "-customer", "date", "-date", "unread", "-unread")
DEFAULT_SORT = "-date"
AUTHOR_CUSTOMER, AUTHOR_MERCHANT = Author.CUSTOMER, Author.MERCHANT
MAX_WORDS = 6


def _tz(merchant) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(merchant.timezone)


def day_range(merchant, date_from: dt.date | None, date_to: dt.date | None):
    """The aware instants [since, until) of the merchant's days from `date_from` to `date_to`."""
    tz = _tz(merchant)
    since = dt.datetime.combine(date_from, dt.time.min, tz) if date_from else None
    until = (
        dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min, tz) if date_to else None
    )
    return since, until


def unread_messages():
    """The customer's messages on a rating that the merchant has not read."""
    return Message.objects.filter(
        rating=OuterRef("pk"), author=AUTHOR_CUSTOMER, read_at__isnull=True
    )


def unread_condition() -> Q:
    """A rating is unread while its comment, or a message of the customer, waits to be read."""
    return (Q(comment_read_at__isnull=True) & ~Q(comment="")) | Q(Exists(unread_messages()))


def filtered(
    merchant,
    *,
    branch=None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    q: str = "",
) -> QuerySet:
    """This merchant's ratings at `branch` (all when None), in the period, by customer name."""
    rows = Rating.objects.filter(merchant=merchant)
    if branch is not None:
        rows = rows.filter(branch=branch)
    since, until = day_range(merchant, date_from, date_to)
    if since is not None:
        rows = rows.filter(created_at__gte=since)
    if until is not None:
        rows = rows.filter(created_at__lt=until)
    for word in (q or "").split()[:MAX_WORDS]:
        rows = rows.filter(
            Q(customer__first_name__icontains=word) | Q(customer__last_name__icontains=word)
        )
    return rows


def inbox(
    merchant,
    *,
    branch=None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    q: str = "",
    sort: str = DEFAULT_SORT,
) -> QuerySet:
    """The inbox's ratings, sorted; each row carries `unread` (bool). An unknown sort is a
    ValueError: the screens and the API check it first and say so next to the field."""
    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}")
    rows = filtered(merchant, branch=branch, date_from=date_from, date_to=date_to, q=q)
    rows = rows.annotate(
        unread=Case(
            When(unread_condition(), then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        )
    ).select_related("customer", "branch")
    field = sort.lstrip("-")
    down = sort.startswith("-")
    if field == "unread":
        first = "-unread" if not down else "unread"
        return rows.order_by(first, "-created_at", "-id")
    keys = {
        "date": ["created_at"],
        "score": ["score", "created_at"],
        "customer": ["customer__first_name", "customer__last_name", "created_at"],
    }[field]
    return rows.order_by(*[f"-{key}" if down else key for key in keys], "-id" if down else "id")


def counts(
    merchant,
    branch=None,
    *,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    q: str = "",
) -> dict:
    """The inbox's counters over the same filters as the list: ratings received, comments
    received, replies sent (the merchant's messages, automatic ones included) and unread."""
    rows = filtered(merchant, branch=branch, date_from=date_from, date_to=date_to, q=q)
    figures = rows.aggregate(
        ratings=Count("pk"),
        comments=Count("pk", filter=~Q(comment="")),
        unread=Count("pk", filter=unread_condition()),
    )
    figures["replies"] = Message.objects.filter(
        rating__in=rows.values("pk"), author=AUTHOR_MERCHANT
    ).count()
    return {key: figures[key] for key in ("ratings", "comments", "replies", "unread")}


def get_rating_for(merchant, rating_id) -> Rating:
    """One of this merchant's ratings; another merchant's (or no) rating is NotFound."""
    from lealtad.core.errors import NotFound
    from lealtad.core.ids import parse_id

    pk = parse_id(rating_id, "rating")
    try:
        return Rating.objects.select_related("customer", "branch", "transaction").get(
            merchant=merchant, pk=pk
        )
    except Rating.DoesNotExist:
        raise NotFound("rating not found") from None
