"""I4: webhooks delivered by a real worker to a real HTTP receiver that verifies every signature
with the `standardwebhooks` library: at least once, the same `webhook-id` on every attempt."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from lealtad.core import testing
from lealtad.notifications.models import Event as MailEvent
from lealtad.notifications.models import OutgoingEmail
from lealtad.notifications.tests.test_mail import decoded, smtp  # noqa: F401 (a fixture)
from lealtad.webhooks import delivery
from lealtad.webhooks.actions import (
    EndpointDisabled,
    enable_endpoint,
    redeliver,
    rotate_secret,
    send_test_event,
)
from lealtad.webhooks.models import Delivery, Endpoint, Event
from lealtad.webhooks.tests.helpers import emit_accrual, endpoint_on, run_worker
from lealtad.webhooks.tests.receiver import receiver  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db(transaction=True)


def wait_due(row: Delivery) -> None:
    """Sleep until the delivery's next attempt is due (the test schedule is ~1 s)."""
    row.refresh_from_db()
    if row.next_attempt_at:
        time.sleep(max(0.0, (row.next_attempt_at - timezone.now()).total_seconds()) + 0.05)


def test_an_event_is_delivered_signed_and_the_library_verifies_it(receiver):  # noqa: F811
    endpoint, _secret = endpoint_on(receiver)
    event = emit_accrual(endpoint.merchant, points=25)
    run_worker()
    (got,) = receiver.requests
    assert got.verified, got.error
    assert got.id == event.pk and got.id.startswith("msg_")
    assert got.user_agent == "Lealtad-Webhooks/1"
    assert got.content_type == "application/json"
    assert got.type == "accrual.posted"
    assert got.payload["data"]["points"] == 25
    assert got.payload["data"]["amount"] == "25000.00"  # Decimal → string
    assert got.payload == event.payload
    assert abs(int(got.timestamp) - time.time()) < 5
    row = Delivery.objects.get()
    assert (row.status, row.attempts, row.last_status_code) == ("delivered", 1, 200)
    assert row.delivered_at is not None and row.last_error == ""
    assert row.last_response == '{"ok": true}'


def test_another_merchants_endpoint_receives_nothing(receiver):  # noqa: F811
    endpoint, _ = endpoint_on(receiver)
    other = testing.make_merchant().merchant
    assert emit_accrual(other) is None
    run_worker()
    assert receiver.requests == []
    assert not Event.objects.exists() and not Delivery.objects.exists()
    assert endpoint.deliveries.count() == 0


def test_a_type_the_endpoint_does_not_subscribe_to_is_not_sent(receiver):  # noqa: F811
    endpoint, _ = endpoint_on(receiver, events=["redemption.created"])
    assert emit_accrual(endpoint.merchant) is None
    assert not Event.objects.exists()


def test_the_receiver_down_for_a_while_gets_it_afterwards_with_the_same_id(receiver):  # noqa: F811
    endpoint, _ = endpoint_on(receiver)
    receiver.stop()
    event = emit_accrual(endpoint.merchant)
    run_worker()
    row = Delivery.objects.get()
    assert (row.status, row.attempts) == ("pending", 1)
    assert "ConnectionRefusedError" in row.last_error
    assert row.last_status_code is None
    assert row.next_attempt_at > row.last_attempt_at
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None and endpoint.active
    # Its retry is a task waiting for its time: the worker does not run it early.
    run_worker()
    assert Delivery.objects.get().attempts == 1
    receiver.start()  # back, on the same port
    wait_due(row)
    run_worker()
    (got,) = receiver.requests
    assert got.verified and got.id == event.pk
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("delivered", 2)
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None  # a success clears the failure clock


def test_a_retry_keeps_the_id_and_body_with_a_fresh_signature(receiver):  # noqa: F811
    endpoint, _ = endpoint_on(receiver)
    receiver.answer = 500
    event = emit_accrual(endpoint.merchant)
    run_worker()
    row = Delivery.objects.get()
    assert (row.status, row.last_status_code, row.last_error) == ("pending", 500, "HTTP 500")
    time.sleep(1.1)  # a new second: a new timestamp, so a new signature
    receiver.answer = 200
    wait_due(row)
    run_worker()
    first, second = receiver.requests
    assert first.id == second.id == event.pk
    assert first.body == second.body  # the exact same bytes
    assert first.timestamp != second.timestamp and first.signature != second.signature
    assert first.verified and second.verified
    assert Delivery.objects.get().status == "delivered"


def test_the_retries_give_up_after_the_schedule(receiver):  # noqa: F811
    endpoint, _ = endpoint_on(receiver)
    receiver.answer = 503
    emit_accrual(endpoint.merchant)
    row = Delivery.objects.get()
    for _ in range(4):  # the test schedule: 3 retries after the first attempt
        wait_due(row)
        assert delivery.attempt(row.pk) in ("pending", "failed")
    row.refresh_from_db()
    assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 4, None)
    assert len(receiver.requests) == 4
    assert len({g.id for g in receiver.requests}) == 1
    assert delivery.attempt(row.pk) == "done"  # a stray task sends nothing more


def test_410_gone_disables_the_endpoint_and_cancels_what_waits(receiver):  # noqa: F811
    endpoint, _ = endpoint_on(receiver)
    receiver.answer = 410
    emit_accrual(endpoint.merchant)
    emit_accrual(endpoint.merchant)
    first, second = Delivery.objects.order_by("pk")
    assert delivery.attempt(first.pk) == "failed"
    endpoint.refresh_from_db()
    assert (endpoint.active, endpoint.disabled_reason) == (False, "gone")
    assert endpoint.disabled_at is not None
    second.refresh_from_db()
    assert second.status == "cancelled"
    run_worker()
    assert len(receiver.requests) == 1  # nothing more went to it
    assert emit_accrual(endpoint.merchant) is None  # a disabled endpoint subscribes to nothing
    assert not OutgoingEmail.objects.filter(event=MailEvent.WEBHOOK).exists()


def test_failing_beyond_the_limit_disables_and_emails_the_admin(receiver, settings, smtp):  # noqa: F811
    settings.WEBHOOK_DISABLE_AFTER_HOURS = 72
    endpoint, _ = endpoint_on(receiver)
    admin = endpoint.merchant.staff.get(role="merchant_admin")
    admin.email = "admin@cafe.example"
    admin.save(update_fields=["email"])
    receiver.answer = 500
    emit_accrual(endpoint.merchant)
    run_worker()
    endpoint.refresh_from_db()
    assert endpoint.active  # one failure is not days of failures
    Endpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=timezone.now() - timedelta(hours=72, minutes=1)
    )
    emit_accrual(endpoint.merchant)
    waiting = Delivery.objects.order_by("pk").last()
    assert delivery.attempt(waiting.pk) == "cancelled"
    endpoint.refresh_from_db()
    assert (endpoint.active, endpoint.disabled_reason) == (False, "failing")
    assert set(Delivery.objects.values_list("status", flat=True)) == {"cancelled"}
    (mail,) = OutgoingEmail.objects.filter(event=MailEvent.WEBHOOK)
    assert mail.to == "admin@cafe.example" and mail.merchant_id == endpoint.merchant_id
    assert mail.subject == f"Webhook deshabilitado: {endpoint.url}"  # the merchant's language
    assert "72 horas" in mail.body and endpoint.url in mail.body
    run_worker()  # the outbox's task takes it to a real SMTP server
    ((to, text),) = smtp.messages
    assert to == ["admin@cafe.example"]
    assert "Webhook deshabilitado" in decoded(text) and "72 horas" in decoded(text)
    # Enabled again: its clock starts over and new events go.
    enable_endpoint(endpoint)
    assert (endpoint.active, endpoint.failing_since, endpoint.disabled_reason) == (True, None, "")
    receiver.answer = 200
    emit_accrual(endpoint.merchant)
    run_worker()
    assert receiver.requests[-1].status == 200


def test_the_admins_email_is_in_the_merchants_language(receiver):  # noqa: F811
    from lealtad.webhooks.delivery import tell_admins

    shop = testing.make_merchant(country="BR").merchant
    endpoint, _ = endpoint_on(receiver, merchant=shop)
    shop.staff.filter(role="merchant_admin").update(email="chefe@posto.example")
    assert tell_admins(endpoint, 72) == 1
    mail = OutgoingEmail.objects.get(event=MailEvent.WEBHOOK)
    assert mail.subject == f"Webhook desativado: {endpoint.url}"  # a Brazilian merchant
    assert "72 horas" in mail.body and "ative o endpoint" in mail.body
    assert "failed" not in mail.body and "Webhook disabled" not in mail.subject


def test_rotation_signs_with_both_secrets_for_24_hours_then_only_the_new(receiver):  # noqa: F811
    endpoint, old = endpoint_on(receiver)
    new = rotate_secret(endpoint)
    assert new != old and new.startswith("whsec_")
    endpoint.refresh_from_db()
    assert endpoint.previous_secret == old
    left = endpoint.previous_secret_until - timezone.now()
    assert timedelta(hours=23, minutes=59) < left <= timedelta(hours=24)
    receiver.secrets = [old]  # a receiver not yet switched
    emit_accrual(endpoint.merchant)
    run_worker()
    (got,) = receiver.requests
    assert got.verified and len(got.signature.split(" ")) == 2
    receiver.secrets = [new]  # and one switched
    emit_accrual(endpoint.merchant)
    run_worker()
    assert receiver.requests[1].verified
    # 24 hours later the old secret signs no more.
    Endpoint.objects.filter(pk=endpoint.pk).update(
        previous_secret_until=timezone.now() - timedelta(seconds=1)
    )
    receiver.secrets = [old]
    emit_accrual(endpoint.merchant)
    run_worker()
    late = receiver.requests[2]
    assert not late.verified and late.status == 401
    assert len(late.signature.split(" ")) == 1
    assert Delivery.objects.order_by("pk").last().status == "pending"  # retried, not lost


def test_redeliver_sends_again_now_with_the_same_id(receiver):  # noqa: F811
    endpoint, _ = endpoint_on(receiver)
    event = emit_accrual(endpoint.merchant)
    run_worker()
    row = Delivery.objects.get()
    redeliver(row)
    run_worker()
    first, again = receiver.requests
    assert first.id == again.id == event.pk
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("delivered", 2)


def test_redeliver_to_a_disabled_endpoint_is_refused(receiver):  # noqa: F811
    endpoint, _ = endpoint_on(receiver)
    emit_accrual(endpoint.merchant)
    run_worker()
    Endpoint.objects.filter(pk=endpoint.pk).update(active=False, disabled_reason="manual")
    with pytest.raises(EndpointDisabled):
        redeliver(Delivery.objects.get())
    assert Delivery.objects.get().status == "delivered"


def test_a_test_event_goes_to_that_endpoint_only(receiver):  # noqa: F811
    endpoint, _ = endpoint_on(receiver, events=["redemption.created"])
    other, _ = endpoint_on(receiver, merchant=endpoint.merchant)
    receiver.secrets = [endpoint.secret, other.secret]
    row = send_test_event(endpoint)
    run_worker()
    (got,) = receiver.requests
    assert got.verified and got.type == "webhook.test" and got.id == row.event_id
    assert got.payload["data"]["endpoint_id"] == str(endpoint.pk)
    assert list(Delivery.objects.values_list("endpoint", flat=True)) == [endpoint.pk]


def test_an_event_for_two_endpoints_reaches_both_each_with_its_signature(receiver):  # noqa: F811
    one, _ = endpoint_on(receiver)
    two, _ = endpoint_on(receiver, merchant=one.merchant)
    receiver.secrets = [one.secret, two.secret]
    event = emit_accrual(one.merchant)
    run_worker()
    first, second = receiver.requests
    assert first.id == second.id == event.pk and first.verified and second.verified
    assert first.signature != second.signature  # each endpoint its own secret
    assert set(Delivery.objects.values_list("status", flat=True)) == {"delivered"}


def test_an_events_first_attempts_go_out_at_once_so_a_hanging_receiver_delays_no_other(
    receiver,  # noqa: F811
    settings,
):
    """deliver_event sends each endpoint's copy in its own thread: the second request arrives
    while the first still hangs, not after its time-out."""
    settings.WEBHOOK_TIMEOUT_SECONDS = 20
    one, _ = endpoint_on(receiver)
    two, _ = endpoint_on(receiver, merchant=one.merchant)
    receiver.secrets = [one.secret, two.secret]
    receiver.hang = True
    event = emit_accrual(one.merchant)

    def task():  # the deliver_event task's work, on a thread of its own (as a worker would)
        try:
            delivery.start_event(event.pk)
        finally:
            connection.close()

    worker = threading.Thread(target=task)
    worker.start()
    try:
        assert receiver.wait_for(2, timeout=15), "the second copy waited for the first"
    finally:
        receiver.release()
        worker.join(30)
    assert set(Delivery.objects.values_list("status", flat=True)) == {"delivered"}
    assert Delivery.objects.filter(attempts=1).count() == 2


def test_a_deleted_endpoints_task_sends_nothing(receiver):  # noqa: F811
    endpoint, _ = endpoint_on(receiver)
    emit_accrual(endpoint.merchant)
    endpoint.delete()
    run_worker()
    assert receiver.requests == []
    assert Event.objects.count() == 1  # the event stays


def test_a_time_out_is_retried(receiver, settings):  # noqa: F811
    settings.WEBHOOK_TIMEOUT_SECONDS = 1
    settings.WEBHOOK_RETRY_SCHEDULE = [30]
    endpoint, _ = endpoint_on(receiver)
    receiver.hang = True
    event = emit_accrual(endpoint.merchant)
    started = time.monotonic()
    run_worker()
    assert time.monotonic() - started < 5  # the time-out, not the receiver, ended the attempt
    row = Delivery.objects.get()
    assert (row.status, row.attempts) == ("pending", 1)
    assert "timed out" in row.last_error.lower() and row.leased_until is None
    wait = (row.next_attempt_at - row.last_attempt_at).total_seconds()
    assert 24 <= wait <= 36 + 1.5  # 30 s ± 20 %, from the time-out (1 s after the attempt began)
    (retry,) = DBTaskResult.objects.filter(task_path=delivery.TASK_PATH, status="READY")
    assert retry.run_after == row.next_attempt_at and retry.args_kwargs["args"] == [row.pk]
    assert [g.id for g in receiver.requests] == [event.pk]
    receiver.release()


def test_a_rolled_back_transaction_emits_nothing(receiver):  # noqa: F811
    endpoint, _ = endpoint_on(receiver)
    with pytest.raises(RuntimeError), transaction.atomic():
        assert emit_accrual(endpoint.merchant) is not None
        assert DBTaskResult.objects.filter(task_path=delivery.EVENT_TASK_PATH).count() == 1
        raise RuntimeError("what followed the movement failed")
    assert not Event.objects.exists() and not Delivery.objects.exists()
    assert not DBTaskResult.objects.exists()
    run_worker()
    assert receiver.requests == []


def test_an_endpoint_deleted_while_its_delivery_is_sent_is_no_error(receiver, monkeypatch):  # noqa: F811
    endpoint, _ = endpoint_on(receiver)
    emit_accrual(endpoint.merchant)
    row = Delivery.objects.get()

    def answer_after_deleting(*args):
        Endpoint.objects.filter(pk=endpoint.pk).delete()  # the admin, meanwhile
        return 200, "ok"

    monkeypatch.setattr(delivery, "post", answer_after_deleting)  # the receiver's 200 arrives
    assert delivery.attempt(row.pk) == "done"
    assert not Delivery.objects.exists()


def test_the_operator_sees_endpoints_and_deliveries_but_never_a_secret(receiver, client):  # noqa: F811
    from lealtad.network.models import User

    endpoint, secret = endpoint_on(receiver)
    rotate_secret(endpoint)
    emit_accrual(endpoint.merchant)
    run_worker()
    client.force_login(User.objects.create_superuser("operador", password="x-long-pass-1"))
    for path in (
        "/admin/webhooks/endpoint/",
        f"/admin/webhooks/endpoint/{endpoint.pk}/change/",
        "/admin/webhooks/delivery/",
        f"/admin/webhooks/delivery/{Delivery.objects.get().pk}/change/",
    ):
        page = client.get(path)
        assert page.status_code == 200, path
        html = page.content.decode()
        assert secret[6:] not in html and endpoint.secret[6:] not in html
    assert client.get("/admin/webhooks/endpoint/add/").status_code == 403
