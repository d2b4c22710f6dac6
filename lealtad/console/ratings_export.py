"""The ratings CSV (D2): every rating of the merchant in a period (one branch or all), oldest
first, streamed like the other exports (reports.stream_csv, one server-side cursor)."""

from collections.abc import Iterator

from django.db.models import Count, Q
from django.utils.translation import gettext as _

from lealtad.console.reports import Period, _iso, _streamed
from lealtad.core.spreadsheet import cell
from lealtad.ratings import inbox


def ratings_query(merchant, period: Period, branch=None):
    return inbox.filtered(merchant, branch=branch, date_from=period.start, date_to=period.end)


def rating_rows(merchant, period: Period, branch=None) -> tuple[list[str], Iterator[list]]:
    """Date, branch, customer, document, score, comment, replies sent, gifted. Labels are
    translated now, before the response streams."""
    tz = period.tz
    header = [
        _("Date"),
        _("Branch"),
        _("Customer"),
        _("Document type"),
        _("Document number"),
        _("Score"),
        _("Comment"),
        _("Replies"),
        _("Gifted"),
    ]
    yes, no = _("yes"), _("no")
    query = (
        ratings_query(merchant, period, branch)
        .annotate(replies=Count("messages", filter=Q(messages__author=inbox.AUTHOR_MERCHANT)))
        .order_by("created_at", "id")
        .values_list(
            "created_at",
            "branch__name",
            "customer__first_name",
            "customer__last_name",
            "customer__document_type",
            "customer__document_number",
            "score",
            "comment",
            "replies",
            "gifted",
        )
    )

    def format_row(row) -> list:
        created, branch_name, first, last, doc_type, doc_number, score, comment, replies, gifted = (
            row
        )
        return [
            _iso(created, tz),
            cell(branch_name or ""),
            cell(f"{first} {last}".strip()),
            cell(doc_type),
            cell(doc_number),
            score,
            cell(comment),
            replies,
            yes if gifted else no,
        ]

    return header, _streamed(query, format_row)
