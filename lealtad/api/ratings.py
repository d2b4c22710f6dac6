"""Ratings through the API (F2, F4, F7; API.md Part 2, "Ratings"): the inbox with its counters,
a reply (with a gift), and the NPS. Merchant staff only; another merchant's rating is 404.
The same queries and actions as the console (lealtad.ratings)."""

import datetime as dt
import zoneinfo
from typing import Annotated

from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from pydantic import Field, StrictStr, StringConstraints

from lealtad.api import schemas as s
from lealtad.api.auth import merchant_actor
from lealtad.core.errors import Forbidden, NotFound, ValidationFailed
from lealtad.core.ids import parse_id
from lealtad.network.models import Branch, Role
from lealtad.offers.models import Gift
from lealtad.ratings import actions, inbox
from lealtad.ratings import nps as scores

router = Router(tags=["ratings"])
PROBLEMS = {code: s.Problem for code in (400, 401, 403, 404, 409, 422, 429)}
PER_PAGE, MAX_PER_PAGE = 50, 200
STAFF = (Role.CASHIER, Role.MERCHANT_ADMIN)


class Counts(Schema):
    ratings: int
    comments: int
    replies: int
    unread: int


class CustomerRef(Schema):
    id: str
    name: str


class RatingOut(Schema):
    id: str
    score: int
    comment: str
    customer: CustomerRef
    at: str
    branch_id: str | None
    transaction_id: str | None
    read: bool
    gifted: bool


class RatingsOut(Schema):
    counts: Counts
    results: list[RatingOut]
    page: int
    pages: int
    total: int


class NpsOut(Schema):
    ratings: int
    promoters: int
    passives: int
    detractors: int
    nps: float | None


class MessageIn(Schema):
    body: Annotated[StrictStr, StringConstraints(max_length=10_000)]
    gift_id: s.Id | None = None


class RatingMessageOut(Schema):  # not me_more.MessageOut (one OpenAPI name)
    id: str
    rating_id: str
    author: str
    body: str
    created_at: str
    gift_offer_id: str | None


def _staff(request):
    actor = merchant_actor(request)
    if actor.user is None or actor.role not in STAFF:
        raise Forbidden()
    return actor


def _date(value: str | None, field: str) -> dt.date | None:
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        message = _("A date as YYYY-MM-DD.")
        raise ValidationFailed([{"field": field, "message": message}], message) from None


def _scope(actor, branch_id, date_from, date_to) -> dict:
    start, end = _date(date_from, "from"), _date(date_to, "to")
    if start and end and end < start:
        message = _("The end date is before the start date.")
        raise ValidationFailed([{"field": "to", "message": message}], message)
    branch = None
    if branch_id:
        branch = Branch.objects.filter(
            pk=parse_id(branch_id, "branch"), merchant=actor.merchant
        ).first()
        if branch is None:
            raise NotFound(_("Branch not found."))
    return {"branch": branch, "date_from": start, "date_to": end}


def _int(value, field: str, default: int, top: int) -> int:
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if not 1 <= number <= top:
        message = _("A whole number from 1 to %(top)d.") % {"top": top}
        raise ValidationFailed([{"field": field, "message": message}], message)
    return number


def rating_out(rating, tz) -> dict:
    customer = rating.customer
    return {
        "id": str(rating.pk),
        "score": rating.score,
        "comment": rating.comment,
        "customer": {
            "id": str(customer.pk),
            "name": customer.full_name or f"{customer.document_type} {customer.document_number}",
        },
        "at": timezone.localtime(rating.created_at, tz).isoformat(),  # the merchant's clock
        "branch_id": str(rating.branch_id) if rating.branch_id else None,
        "transaction_id": str(rating.transaction_id) if rating.transaction_id else None,
        "read": not getattr(rating, "unread", False),
        "gifted": bool(rating.gifted),
    }


@router.get("/ratings", response={200: RatingsOut, **PROBLEMS})
def list_ratings(
    request,
    branch_id: str | None = None,
    q: str = "",
    sort: str = inbox.DEFAULT_SORT,
    page: str | None = None,
    per_page: Annotated[int, Field(ge=1, le=MAX_PER_PAGE)] = PER_PAGE,
):
    """F2: the ratings inbox, newest first by default, with its counters over the same filters.
    `from`/`to` are the merchant's days (YYYY-MM-DD, both included); `q` a customer's name;
    `sort` one of score, -score, customer, -customer, date, -date, unread (unread first).
    422 `validation_error` naming the field for a bad sort, date or page."""
    actor = _staff(request)
    if sort not in inbox.SORTS:
        message = _("One of: %(sorts)s.") % {"sorts": ", ".join(inbox.SORTS)}
        raise ValidationFailed([{"field": "sort", "message": message}], message)
    if len(q) > 120:
        message = _("At most 120 characters.")
        raise ValidationFailed([{"field": "q", "message": message}], message)
    scope = _scope(actor, branch_id, request.GET.get("from"), request.GET.get("to"))
    scope["q"] = inbox.NameQuery(q.strip())
    number = _int(page, "page", 1, 1_000_000)
    size = per_page
    counts = inbox.counts(actor.merchant, **scope)
    rows = inbox.inbox(actor.merchant, sort=sort, **scope)
    tz = zoneinfo.ZoneInfo(actor.merchant.timezone)
    total = counts["ratings"]
    start = (number - 1) * size
    return {
        "counts": counts,
        "results": [rating_out(r, tz) for r in rows[start : start + size]],
        "page": number,
        "pages": max(1, -(-total // size)),
        "total": total,
    }


@router.get("/nps", response={200: NpsOut, **PROBLEMS})
def get_nps(request, branch_id: str | None = None):
    """F7: NPS = % promoters (9–10) − % detractors (1–6), rounded half up to one decimal, over
    the merchant's days `from`–`to` (both optional) and one branch or all. `nps` is null when
    there is no rating in the period."""
    actor = _staff(request)
    scope = _scope(actor, branch_id, request.GET.get("from"), request.GET.get("to"))
    return scores.nps(actor.merchant, **scope).as_dict()


@router.post("/ratings/{rating_id}/messages", response={201: RatingMessageOut, **PROBLEMS})
def post_message(request, rating_id: str, payload: MessageIn):
    """F4, F5: the merchant's reply on a rating (also when it has no comment), optionally with a
    catalog gift (`gift_id`), which becomes the customer's gift offer. The customer is told by
    e-mail. 422 `validation_error` for an empty or over-long body; 404 another merchant's rating
    or gift."""
    actor = _staff(request)
    rating = inbox.get_rating_for(actor.merchant, rating_id)
    gift = None
    if payload.gift_id:
        gift = Gift.objects.filter(
            pk=parse_id(payload.gift_id, "gift"), merchant=actor.merchant
        ).first()
        if gift is None:
            raise NotFound(_("Gift not found."))
    body = payload.body.strip()
    if not body:
        message = _("Write a message.")
        raise ValidationFailed([{"field": "body", "message": message}], message)
    message = actions.reply(rating, body=body, staff=actor.user, gift=gift)
    return Status(
        201,
        {
            "id": str(message.pk),
            "rating_id": str(rating.pk),
            "author": str(message.author),
            "body": message.body,
            "created_at": message.created_at.isoformat(),
            "gift_offer_id": str(message.gift_offer_id) if message.gift_offer_id else None,
        },
    )
