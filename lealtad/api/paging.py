"""Every list endpoint is paged (issue 16, docs/security.md "Limits"): `limit` (1 to the
endpoint's maximum, 422 `validation_error` naming `limit` above it) and `offset` (the rows to
skip). When more rows follow, the answer says where in a `Link: <…>; rel="next"` header (RFC
8288), so no list's body changes shape. A list never answers more than its maximum, whatever is
asked. (The deliveries page by `before`, the ratings inbox and the customer's
movements by `page`, as they did before; each with a maximum page size too.)

    def list_things(request, response: HttpResponse, limit: paging.Limit = 50,
                    offset: paging.Offset = 0):
        rows, next_offset = paging.page(request, response, queryset, limit, offset)
"""

from typing import Annotated

from django.http import HttpResponse
from pydantic import Field

MAX_LIMIT = 200
MAX_OFFSET = 1_000_000

Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT, description="Rows a page (1–200).")]
Offset = Annotated[
    int,
    Field(
        ge=0,
        le=MAX_OFFSET,
        description="Rows to skip (the Link: rel=next header gives the next page).",
    ),
]


def page(request, response: HttpResponse, rows, limit: int, offset: int = 0):
    """(this page's rows, the next page's offset or None). `rows`: a queryset (sliced in the
    database: limit + 1 rows read) or a list."""
    chunk = list(rows[offset : offset + limit + 1])
    more = len(chunk) > limit
    next_offset = offset + limit if more else None
    if next_offset is not None:
        query = request.GET.copy()
        query["limit"] = str(limit)
        query["offset"] = str(next_offset)
        response["Link"] = f'<{request.path}?{query.urlencode()}>; rel="next"'
    return chunk[:limit], next_offset
