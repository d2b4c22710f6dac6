"""I4: `emit` writes the event and its deliveries in the caller's transaction — cheaply when
nobody subscribes — and the payload is plain JSON."""

import datetime as dt
import json
import threading
import uuid
import zoneinfo
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django_tasks_db.models import DBTaskResult

from lealtad.core import testing
from lealtad.core.env import BadSetting, env_seconds_list
from lealtad.webhooks import delivery
from lealtad.webhooks.actions import create_endpoint, disable_endpoint
from lealtad.webhooks.events import EVENT_TYPES, body, emit, json_safe
from lealtad.webhooks.models import Delivery, Event
from lealtad.webhooks.tests.helpers import accrual_data, emit_accrual, endpoint_on
from lealtad.webhooks.tests.receiver import receiver  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db
BOGOTA = zoneinfo.ZoneInfo("America/Bogota")


def test_the_twelve_event_types_of_the_api():
    assert sorted(EVENT_TYPES) == sorted(
        [
            "customer.joined",
            "accrual.posted",
            "accrual.held",
            "accrual.approved",
            "accrual.rejected",
            "redemption.created",
            "transaction.reversed",
            "coins.earned",
            "coin_payment.captured",
            "coin_payment.cancelled",
            "invoice.waiting",
            "rating.received",
        ]
    )
    assert all(str(description) for description in EVENT_TYPES.values())


def test_data_becomes_plain_json():
    pk = uuid.uuid4()
    data = {
        "id": pk,
        "amount": Decimal("25000.50"),
        "at": dt.datetime(2026, 5, 17, 14, 30, 5, tzinfo=BOGOTA),
        "day": dt.date(2026, 5, 17),
        "points": 25,
        "lines": [{"price": Decimal("1.10")}],
        "note": None,
    }
    assert json_safe(data) == {
        "id": str(pk),
        "amount": "25000.50",
        "at": "2026-05-17T14:30:05-05:00",
        "day": "2026-05-17",
        "points": 25,
        "lines": [{"price": "1.10"}],
        "note": None,
    }


@pytest.mark.parametrize("bad", [dt.datetime(2026, 5, 17, 14, 30), object(), {1, 2}])  # noqa: DTZ001
def test_what_json_cannot_say_is_refused(bad):
    with pytest.raises(TypeError):
        json_safe({"x": bad})


def test_the_body_is_the_same_bytes_whatever_the_key_order():
    assert body({"b": 1, "a": {"d": 2, "c": "é"}}) == '{"a":{"c":"é","d":2},"b":1}'
    assert body({"a": {"c": "é", "d": 2}, "b": 1}) == body({"b": 1, "a": {"d": 2, "c": "é"}})


def test_an_unknown_type_is_a_bug_not_an_event():
    shop = testing.make_merchant().merchant
    with pytest.raises(ValueError, match=r"points\.stolen"):
        emit(shop, "points.stolen", {})


def test_without_a_subscriber_emit_costs_one_query_and_writes_nothing(django_assert_num_queries):
    shop = testing.make_merchant().merchant
    create_endpoint(shop, url="https://93.184.215.14/h", events=["redemption.created"])
    with django_assert_num_queries(1):
        assert emit(shop, "accrual.posted", accrual_data()) is None
    assert not Event.objects.exists() and not Delivery.objects.exists()
    assert not DBTaskResult.objects.filter(task_path=delivery.TASK_PATH).exists()


def test_an_event_gets_one_delivery_per_active_subscriber_and_one_task(
    django_assert_num_queries,
):
    shop = testing.make_merchant().merchant
    url = "https://93.184.215.14/h"
    one, _ = create_endpoint(shop, url=url, events=["accrual.posted"])
    two, _ = create_endpoint(shop, url=url + "2", events=["redemption.created", "accrual.posted"])
    off, _ = create_endpoint(shop, url=url + "3", events=["accrual.posted"])
    disable_endpoint(off)
    create_endpoint(testing.make_merchant().merchant, url=url, events=["accrual.posted"])
    data = accrual_data(points=7)
    # One statement on PostgreSQL (data-modifying CTEs); the check and three inserts elsewhere.
    expected = 1 if connection.vendor == "postgresql" else 4
    with transaction.atomic(), django_assert_num_queries(expected):  # as inside a movement
        event = emit(shop, "accrual.posted", data)
    assert event.id.startswith("msg_") and len(event.id) == 28
    assert set(event.payload) == {"type", "timestamp", "data"}
    assert event.payload["type"] == "accrual.posted"
    assert event.payload["data"] == json.loads(json.dumps(json_safe(data)))
    assert dt.datetime.fromisoformat(event.payload["timestamp"]) == event.created_at
    rows = Delivery.objects.filter(event=event)
    assert {d.endpoint_id for d in rows} == {one.pk, two.pk}
    assert {d.status for d in rows} == {"pending"}
    (task,) = DBTaskResult.objects.all()
    assert task.task_path == "lealtad.webhooks.tasks.deliver_event"
    assert task.args_kwargs == {"args": [event.id], "kwargs": {}}
    assert task.status == "READY" and task.backend_name == "default"
    assert task.task_result.task.name == "deliver_event"  # the worker finds the task


def test_a_new_endpoint_gets_the_very_next_event():
    """No per-process cache to go stale: an endpoint created anywhere sees the next event."""
    shop = testing.make_merchant().merchant
    assert emit_accrual(shop) is None
    endpoint, _ = create_endpoint(shop, url="https://93.184.215.14/h", events=["accrual.posted"])
    event = emit_accrual(shop)
    assert event.deliveries.get().endpoint == endpoint


def test_the_retry_schedule_setting_is_read_strictly(monkeypatch):
    monkeypatch.setenv("WEBHOOK_RETRY_SCHEDULE", "5, 60,300")
    assert env_seconds_list("WEBHOOK_RETRY_SCHEDULE") == [5, 60, 300]
    monkeypatch.setenv("WEBHOOK_RETRY_SCHEDULE", "")
    assert env_seconds_list("WEBHOOK_RETRY_SCHEDULE") is None
    for bad in ("5,soon", "0,5", ","):
        monkeypatch.setenv("WEBHOOK_RETRY_SCHEDULE", bad)
        with pytest.raises(BadSetting, match="WEBHOOK_RETRY_SCHEDULE"):
            env_seconds_list("WEBHOOK_RETRY_SCHEDULE")


def test_retry_delays_grow_with_jitter_then_give_up(settings):
    settings.WEBHOOK_RETRY_SCHEDULE = None
    delays = [delivery.retry_delay(n) for n in range(1, 12)]
    assert delays[-1] is None  # after the 11th attempt: failed
    for got, base in zip(delays, delivery.RETRY_SCHEDULE, strict=False):
        assert 0.8 * base <= got.total_seconds() <= 1.2 * base
    total = sum(delivery.RETRY_SCHEDULE) / 3600
    assert 70 < total < 75  # about three days


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_delivery_is_sent_once_by_threads_attempting_it_at_once(receiver):  # noqa: F811
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    endpoint, _ = endpoint_on(receiver)
    emit_accrual(endpoint.merchant)
    row = Delivery.objects.get()
    results, start = [], threading.Barrier(8)

    def attempt():
        start.wait()
        try:
            results.append(delivery.attempt(row.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(receiver.requests) == 1
    assert results.count("delivered") == 1
    assert set(results) - {"delivered"} <= {"done", "held"}
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("delivered", 1)


def test_the_one_statement_writes_the_rows_enqueue_and_create_would():
    """PostgreSQL's path writes the event, deliveries and task itself: every column as the
    ORM and the task backend write them, so the worker and the console read them alike."""
    from lealtad.webhooks.tasks import deliver_event

    shop = testing.make_merchant().merchant
    create_endpoint(shop, url="https://93.184.215.14/h", events=["accrual.posted"])
    event = emit(shop, "accrual.posted", accrual_data())
    written = DBTaskResult.objects.get(task_path=delivery.EVENT_TASK_PATH)
    reference = DBTaskResult.objects.get(id=deliver_event.enqueue(event.pk).id)
    for field in DBTaskResult._meta.concrete_fields:
        if field.name not in ("id", "enqueued_at"):
            assert getattr(written, field.name) == getattr(reference, field.name), field.name
    assert abs(written.enqueued_at - reference.enqueued_at).total_seconds() < 5
    stored = Event.objects.get(pk=event.pk)
    assert (stored.merchant_id, stored.type, stored.payload) == (shop.pk, event.type, event.payload)
    assert stored.created_at == event.created_at
    (row,) = Delivery.objects.filter(event=event)
    assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 0, event.created_at)
    assert (row.last_error, row.last_response, row.leased_until) == ("", "", None)
