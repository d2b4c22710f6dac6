"""I4: the event types and `emit`, which writes an event and its deliveries in the caller's
transaction.

Why no cache of "who subscribes": `emit` runs on every accrual, so the check must be cheap, and it
is one indexed query (`Endpoint` by merchant and `active`, a handful of rows at most) that returns
nothing for most merchants. A per-process cache would save that query but each web and worker
process would keep its own copy: an endpoint created in one process would miss the events of
the others until their copies expired, and those events would be lost for good (nothing replays
them). Measured in docs/webhooks.md: the query costs well under a millisecond next to an accrual's
tens of queries, so correctness wins.
"""

import datetime as dt
import json
import secrets
import uuid
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from lealtad.webhooks.models import Delivery, Endpoint, Event

# The 12 event types of API.md Part 2, each with what it tells (shown when choosing them).
EVENT_TYPES = {
    "customer.joined": _("A customer joined the program"),
    "accrual.posted": _("Points or coins were accrued"),
    "accrual.held": _("An accrual was held for approval"),
    "accrual.approved": _("A held accrual was approved"),
    "accrual.rejected": _("A held accrual was rejected"),
    "redemption.created": _("A prize was redeemed"),
    "transaction.reversed": _("A movement was reversed"),
    "coins.earned": _("A customer earned coins"),
    "coin_payment.captured": _("A payment with coins was captured"),
    "coin_payment.cancelled": _("A payment with coins was cancelled"),
    "invoice.waiting": _("An invoice is waiting for its customer"),
    "rating.received": _("A customer rated a visit"),
}
# Sent only by "send a test event", to the one endpoint; nobody subscribes to it.
TEST_EVENT = "webhook.test"


def new_event_id() -> str:
    return "msg_" + secrets.token_urlsafe(18)  # 24 characters, 144 random bits


def _default(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        if timezone.is_naive(value):
            raise TypeError(f"a naive datetime cannot go in a webhook: {value!r}")
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} cannot go in a webhook: {value!r}")


def json_safe(data: dict) -> dict:
    """`data` as plain JSON: Decimal → string ("25000.00"), datetimes ISO 8601 with their
    offset, dates ISO, UUIDs strings; anything else that JSON does not know is a TypeError
    (a bug in the caller, found by its tests rather than by a merchant's receiver)."""
    return json.loads(json.dumps(data, default=_default))


def body(payload: dict) -> str:
    """The exact bytes sent and signed: sorted keys, so every attempt sends the same body
    whatever order the database gives the keys back in (PostgreSQL's jsonb does not keep it)."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def subscribed(merchant_id, type_: str) -> list:
    """The ids of the merchant's active endpoints that receive `type_`: one indexed query."""
    rows = Endpoint.objects.filter(merchant_id=merchant_id, active=True).values_list("pk", "events")
    return [pk for pk, events in rows if type_ in (events or ())]


def emit(merchant, type: str, data: dict, now=None) -> Event | None:
    """Write the event `type` with `data` and a pending delivery to each active endpoint of
    `merchant` subscribed to it, and enqueue their delivery tasks — all in the caller's
    transaction: a rolled-back movement reports nothing, a committed one is never lost.
    Returns the event, or None when no endpoint subscribes (then it writes nothing)."""
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {type!r}")
    endpoint_ids = subscribed(merchant.pk, type)
    if not endpoint_ids:
        return None
    return _write(merchant, type, data, endpoint_ids, now)


def _write(merchant, type_, data, endpoint_ids, now=None) -> Event:
    """Four queries whatever the number of endpoints (with the subscriber check): the event,
    its deliveries in one insert, and one task that starts them all (tasks.deliver_all)."""
    from lealtad.webhooks.delivery import enqueue_all

    now = now or timezone.now()
    payload = {"type": type_, "timestamp": now.isoformat(), "data": json_safe(data)}
    # No savepoint: inside the movement's transaction a failure here fails the movement (all or
    # nothing), and a savepoint would cost two more round trips on every event.
    with transaction.atomic(savepoint=False):
        event = Event.objects.create(
            id=new_event_id(), merchant=merchant, type=type_, payload=payload, created_at=now
        )
        deliveries = Delivery.objects.bulk_create(
            Delivery(event=event, endpoint_id=pk, next_attempt_at=now, created_at=now)
            for pk in endpoint_ids
        )
        enqueue_all([delivery.pk for delivery in deliveries])
    return event
