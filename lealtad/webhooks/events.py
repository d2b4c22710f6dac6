"""I4: the event types and `emit`, which writes an event, its deliveries and their task in the
caller's transaction (on PostgreSQL in one statement).

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

from django.db import connection, transaction
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
    `merchant` subscribed to it, and enqueue their delivery task — all in the caller's
    transaction: a rolled-back movement reports nothing, a committed one is never lost.
    Returns the event, or None when no endpoint subscribes (then it writes nothing).

    On PostgreSQL it is one statement whether anyone subscribes or not (`_write_at_once`), so
    subscribed endpoints cost an accrual no extra round trip; elsewhere four queries."""
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {type!r}")
    if connection.vendor == "postgresql" and _database_backend():
        return _write_at_once(merchant, type, data, now)
    endpoint_ids = subscribed(merchant.pk, type)
    if not endpoint_ids:
        return None
    return _write(merchant, type, data, endpoint_ids, now)


def _payload(type_, data, now) -> dict:
    return {"type": type_, "timestamp": now.isoformat(), "data": json_safe(data)}


def _write(merchant, type_, data, endpoint_ids, now=None) -> Event:
    """Four queries whatever the number of endpoints (with the subscriber check): the event,
    its deliveries in one insert, and one task that starts them all (tasks.deliver_event)."""
    from lealtad.webhooks.tasks import deliver_event

    now = now or timezone.now()
    # No savepoint: inside the movement's transaction a failure here fails the movement (all or
    # nothing), and a savepoint would cost two more round trips on every event.
    with transaction.atomic(savepoint=False):
        event = Event.objects.create(
            id=new_event_id(),
            merchant=merchant,
            type=type_,
            payload=_payload(type_, data, now),
            created_at=now,
        )
        Delivery.objects.bulk_create(
            Delivery(event=event, endpoint_id=pk, next_attempt_at=now, created_at=now)
            for pk in endpoint_ids
        )
        deliver_event.enqueue(event.pk)
    return event


def _database_backend():
    """The durable backend of django-tasks-db, whose table `_write_at_once` writes the task
    row into; None when another backend is configured (then the task goes through `enqueue`)."""
    from django_tasks_db.backend import DatabaseBackend

    from lealtad.webhooks.tasks import deliver_event

    try:  # Django 6
        from django.tasks import task_backends
    except ImportError:  # Django 5.2: the backport
        from django_tasks import task_backends
    backend = task_backends[deliver_event.backend]
    return backend if isinstance(backend, DatabaseBackend) else None


def _write_at_once(merchant, type_, data, now=None) -> Event | None:
    """PostgreSQL: the subscriber check, the event, its deliveries and its task in one
    statement (data-modifying CTEs, each run once to completion, in the caller's transaction).
    Nothing is written when no active endpoint subscribes. Every column of the three rows comes
    from the models' own fields (`_insert_select`), so a column added to one is not missed."""
    from django_tasks_db.compat import normalize_json
    from django_tasks_db.models import DBTaskResult, get_date_max

    from lealtad.webhooks.tasks import deliver_event

    backend = _database_backend()
    now = now or timezone.now()
    event = Event(
        id=new_event_id(),
        merchant=merchant,
        type=type_,
        payload=_payload(type_, data, now),
        created_at=now,
    )
    delivery = Delivery(event_id=event.pk, next_attempt_at=now, created_at=now)
    task = DBTaskResult(
        id=backend._get_id(),
        args_kwargs=normalize_json({"args": [event.pk], "kwargs": {}}),
        priority=deliver_event.priority,
        task_path=deliver_event.module_path,
        queue_name=deliver_event.queue_name,
        run_after=get_date_max(),
        backend_name=backend.alias,
    )
    endpoints = Endpoint._meta.db_table
    insert_event, event_params = _insert_select(Event, event, {}, "(SELECT 1 FROM ep LIMIT 1) s")
    insert_deliveries, delivery_params = _insert_select(
        Delivery, delivery, {"event_id": "ev.id", "endpoint_id": "ep.id"}, "ev CROSS JOIN ep"
    )
    insert_task, task_params = _insert_select(DBTaskResult, task, {}, "ev")
    sql = (
        f"WITH ep AS (SELECT id FROM {endpoints} WHERE merchant_id = %s AND active"
        f" AND events @> %s::jsonb), "
        f"ev AS ({insert_event} RETURNING id), "
        f"dl AS ({insert_deliveries} RETURNING 1), "
        f"tk AS ({insert_task} RETURNING 1) "
        "SELECT count(*) FROM dl"
    )
    params = [merchant.pk, json.dumps([type_]), *event_params, *delivery_params, *task_params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        (count,) = cursor.fetchone()
    if not count:
        return None
    event._state.adding = False
    return event


def _insert_select(model, obj, expressions: dict, source: str) -> tuple[str, list]:
    """`INSERT INTO <model's table> (<every column>) SELECT <values> FROM <source>`: each
    column's value is `obj`'s, prepared by its field as `save()` would (defaults, auto_now_add,
    JSON) and cast to the column's type, or the SQL expression given for it. An auto-increment
    primary key is left to the database."""
    quote = connection.ops.quote_name
    columns, values, params = [], [], []
    for field in model._meta.concrete_fields:
        if field.primary_key and field.get_internal_type().endswith("AutoField"):
            continue
        columns.append(quote(field.column))
        if field.attname in expressions:
            values.append(expressions[field.attname])
            continue
        value = field.get_db_prep_save(field.pre_save(obj, add=True), connection)
        values.append(f"%s::{field.cast_db_type(connection)}")
        params.append(value)
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(columns)}) "
        f"SELECT {', '.join(values)} FROM {source}"
    )
    return sql, params
