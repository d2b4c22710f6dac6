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

from lealtad.customers.models import Customer
from lealtad.ratings.models import Author, Message, Rating

SORTS = ("score", "-score", "customer", "-customer", "date", "-date", "unread", "-unread")
DEFAULT_SORT = "-date"
AUTHOR_CUSTOMER, AUTHOR_MERCHANT = Author.CUSTOMER, Author.MERCHANT
MAX_WORDS = 6
NAMED_IDS = 500  # customers matching a word fetched as a list (more: a subquery)


class NameQuery(str):
    """A customer-name filter whose matching customers are looked up once per word and shared
    by every query of one page (the list, its counters, the unread count)."""

    def __new__(cls, text: str):
        made = super().__new__(cls, text)
        made.resolved = {}
        return made


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


def scope(
    merchant,
    *,
    branch=None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    q: str = "",
    customer=None,
    prefix: str = "",
) -> Q:
    """The filters as one Q, on Rating (or through `prefix`, e.g. "rating__" from Message)."""
    where = Q(**{f"{prefix}merchant": merchant})
    if branch is not None:
        where &= Q(**{f"{prefix}branch": branch})
    if customer is not None:
        where &= Q(**{f"{prefix}customer": customer})
    since, until = day_range(merchant, date_from, date_to)
    if since is not None:
        where &= Q(**{f"{prefix}created_at__gte": since})
    if until is not None:
        where &= Q(**{f"{prefix}created_at__lt": until})
    for word in (q or "").split()[:MAX_WORDS]:
        # The customers named so first (trigram indexes on PostgreSQL), then their ratings
        # here by customer: a few index probes, not a join of every rating. Their ids are
        # fetched first when they are few, so the planner sees the list, not a subquery it
        # cannot estimate (a LIKE '%…%'), and probes the customer index instead of scanning.
        where &= Q(**{f"{prefix}customer__in": _named(q, word)})
    return where


def _named(q: str, word: str):
    """The customers named `word`: their ids when few (remembered on a NameQuery), else the
    subquery."""
    resolved = getattr(q, "resolved", None)
    if resolved is not None and word in resolved:
        return resolved[word]
    named = Customer.objects.filter(
        Q(first_name__icontains=word) | Q(last_name__icontains=word)
    ).values_list("pk", flat=True)
    ids = list(named[: NAMED_IDS + 1])
    found = ids if len(ids) <= NAMED_IDS else named
    if resolved is not None:
        resolved[word] = found
    return found


def filtered(merchant, **filters) -> QuerySet:
    """This merchant's ratings at `branch` (all when None), in the period (`date_from`,
    `date_to`, the merchant's days), by customer name (`q`)."""
    return Rating.objects.filter(scope(merchant, **filters))


def _annotated(rows):
    return rows.annotate(
        unread=Case(
            When(unread_condition(), then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        )
    ).select_related("customer", "branch")


class UnreadFirst:
    """The "Inbox" order: the unread ratings newest first, then the rest newest first (or the
    other way round). Two index scans, one after the other, instead of computing the flag of
    every rating to sort on it: at 100,000 ratings the first page takes milliseconds, not half
    a second. Slicing, len(), count() and iteration, which is what a Paginator needs."""

    def __init__(self, first, then, *, first_count, total):
        self.first, self.then = first, then
        self._counts = {"first": first_count, "total": total}
        self._known: dict[str, int] = {}

    def _count(self, which: str) -> int:
        if which not in self._known:
            self._known[which] = self._counts[which]()
        return self._known[which]

    def first_count(self) -> int:
        return self._count("first")

    def count(self) -> int:
        return self._count("total")

    __len__ = count

    def __iter__(self):
        yield from self.first
        yield from self.then

    def __getitem__(self, item):
        if not isinstance(item, slice):
            rows = self[item : item + 1]
            if not rows:
                raise IndexError(item)
            return rows[0]
        start, stop = item.start or 0, item.stop
        split = self.first_count()
        out = []
        if start < split:
            out += list(self.first[start : split if stop is None else min(stop, split)])
        if stop is None or stop > split:
            rest_start = max(start - split, 0)
            rest_stop = None if stop is None else stop - split
            out += list(self.then[rest_start:rest_stop])
        return out


def inbox(
    merchant,
    *,
    branch=None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    q: str = "",
    sort: str = DEFAULT_SORT,
    customer=None,
):
    """The inbox's ratings, sorted; each row carries `unread` (bool). A QuerySet, or for the
    "unread" sorts an UnreadFirst (slices like one). `customer` narrows to one customer's
    ratings ("Ver historial"). An unknown sort is a ValueError: the screens and the API check
    it first and say so next to the field."""
    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}")
    filters = {"branch": branch, "date_from": date_from, "date_to": date_to, "q": q}
    if customer is not None:
        filters["customer"] = customer
    rows = filtered(merchant, **filters)
    field = sort.lstrip("-")
    down = sort.startswith("-")
    if field == "unread":
        unread = _annotated(rows.filter(unread_condition())).order_by("-created_at", "-id")
        read = _annotated(rows.exclude(unread_condition())).order_by("-created_at", "-id")
        if down:
            return UnreadFirst(
                read,
                unread,
                first_count=lambda: rows.count() - unread_count(merchant, **filters),
                total=rows.count,
            )
        return UnreadFirst(
            unread, read, first_count=lambda: unread_count(merchant, **filters), total=rows.count
        )
    keys = {
        "date": ["created_at"],
        "score": ["score", "created_at"],
        "customer": ["customer__first_name", "customer__last_name", "created_at"],
    }[field]
    order = [f"-{key}" if down else key for key in keys]
    return _annotated(rows).order_by(*order, "-id" if down else "id")


def counts(
    merchant,
    branch=None,
    *,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    q: str = "",
) -> dict:
    """The inbox's counters over the same filters as the list: ratings received, comments
    received, replies sent (the merchant's messages, automatic ones included) and unread.
    From the day counters (ratings.counters: one query over a row per branch and day) unless
    a customer's name narrows the list; then from the ratings themselves (`counts_scanned`)."""
    if not (q or "").split():
        from lealtad.ratings import counters

        found = counters.totals(merchant, branch=branch, date_from=date_from, date_to=date_to)
        return {name: found[name] for name in counters.COUNTERS}
    return counts_scanned(merchant, branch, date_from=date_from, date_to=date_to, q=q)


def counts_scanned(
    merchant,
    branch=None,
    *,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    q: str = "",
) -> dict:
    """`counts` read from the ratings: each its own count, so each reads an index (partial
    ones for the comments and the unread comments) rather than one pass over every rating
    with every condition."""
    filters = {"branch": branch, "date_from": date_from, "date_to": date_to, "q": q}
    rows = filtered(merchant, **filters)
    with_comment = rows.exclude(comment="")
    # The messages' side in one pass: the merchant's replies, and the ratings whose comment is
    # read (or absent) where the customer wrote since.
    messages = (
        Message.objects.filter(scope(merchant, prefix="rating__", **filters))
        .order_by()
        .aggregate(
            replies=Count("pk", filter=Q(author=AUTHOR_MERCHANT)),
            answers=Count("rating_id", distinct=True, filter=_UNREAD_ANSWER),
        )
    )
    return {
        "ratings": rows.count(),
        "comments": with_comment.count(),
        "replies": messages["replies"],
        "unread": with_comment.filter(comment_read_at__isnull=True).count() + messages["answers"],
    }


# A customer's message not read yet, on a rating whose comment is read or absent (a rating
# with an unread comment is counted once, by its comment).
_UNREAD_ANSWER = Q(author=AUTHOR_CUSTOMER, read_at__isnull=True) & (
    Q(rating__comment="") | Q(rating__comment_read_at__isnull=False)
)


def unread_count(merchant, **filters) -> int:
    """How many ratings are unread: the unread comments (a partial index), plus the ratings
    whose comment is read (or absent) where the customer wrote since, found from the unread
    messages' side (a partial index of their own). Without a name or a customer to narrow
    it, the day counters already know (ratings.counters)."""
    if not (filters.get("q") or "").split() and filters.get("customer") is None:
        from lealtad.ratings import counters

        dates = {k: filters.get(k) for k in ("branch", "date_from", "date_to")}
        return counters.totals(merchant, **dates)["unread"]
    return unread_count_scanned(merchant, **filters)


def unread_count_scanned(merchant, **filters) -> int:
    rows = filtered(merchant, **filters)
    unread_comments = rows.exclude(comment="").filter(comment_read_at__isnull=True).count()
    unread_answers = (
        Message.objects.filter(scope(merchant, prefix="rating__", **filters))
        .filter(_UNREAD_ANSWER)
        .order_by()  # Message's default ordering would make DISTINCT count messages
        .values("rating_id")
        .distinct()
        .count()
    )
    return unread_comments + unread_answers


def get_rating_for(merchant, rating_id) -> Rating:
    """One of this merchant's ratings, with its customer, branch and visit; another merchant's
    (or no) rating is NotFound, which the screens make a 404 and the API a 404 problem."""
    from lealtad.core.errors import NotFound
    from lealtad.core.ids import parse_id

    pk = parse_id(rating_id, "rating")
    try:
        return Rating.objects.select_related("customer", "branch", "transaction").get(
            merchant=merchant, pk=pk
        )
    except Rating.DoesNotExist:
        raise NotFound("rating not found") from None
