"""M2, M3: the outbox on Django's Tasks framework (django-tasks-db): the task is enqueued in the
movement's transaction, a real worker (`lealtad worker`) sends it to a real SMTP server
(aiosmtpd), failures are retried with backoff and then shown to the operator, and the periodic
jobs run once per period however many workers run."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client, override_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from lealtad.core import testing
from lealtad.core.email_url import parse_email_url
from lealtad.ledger import actions as ledger
from lealtad.notifications import engine
from lealtad.notifications.actions import send_one
from lealtad.notifications.models import OutgoingEmail, ScheduledRun
from lealtad.notifications.tests.test_mail import free_port, smtp  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db(transaction=True)
SEND = "lealtad.notifications.tasks.send_email"


def run_worker():
    """The real worker, once over what is due (as `lealtad worker --batch` does)."""
    call_command("worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)


def shop_and_member():
    shop = testing.make_merchant(email_on_join=False, email_on_accrual=True)
    return shop, testing.make_customer(shop).membership


def accrue(shop, member, amount="9000"):
    ledger.accrue_points(
        merchant=shop.merchant, membership=member, branch=shop.branch, amount=Decimal(amount)
    )


def test_a_rolled_back_accrual_enqueues_nothing(smtp):  # noqa: F811
    shop, member = shop_and_member()
    with pytest.raises(RuntimeError), transaction.atomic():
        accrue(shop, member)
        assert DBTaskResult.objects.filter(task_path=SEND).count() == 1  # in the transaction
        raise RuntimeError("what followed the accrual failed")
    assert not DBTaskResult.objects.filter(task_path=SEND).exists()
    assert not OutgoingEmail.objects.exists()
    run_worker()
    assert smtp.messages == []


def test_a_committed_accrual_is_sent_by_a_real_worker(smtp):  # noqa: F811
    shop, member = shop_and_member()
    accrue(shop, member)
    (result,) = DBTaskResult.objects.filter(task_path=SEND)
    assert result.status == "READY"
    run_worker()
    ((to, _content),) = smtp.messages
    assert to == [member.customer.email]
    result.refresh_from_db()
    row = OutgoingEmail.objects.get()
    assert result.status == "SUCCESSFUL" and result.return_value == "sent"
    assert row.status == "sent" and row.attempts == 1
    run_worker()  # a task is run once
    assert len(smtp.messages) == 1


def test_a_code_written_to_the_outbox_outside_queue_is_sent_too(smtp):  # noqa: F811
    """The identity codes write their OutgoingEmail row themselves: it gets its task too."""
    from lealtad.customers import identity

    shop = testing.make_merchant(email_on_join=False)
    ana = testing.make_customer(shop).customer
    identity.start_change(
        ana, identity.Requester(shop.merchant, channel="console"), {"email": "new.ana@example.com"}
    )
    assert OutgoingEmail.objects.filter(event="code", to="new.ana@example.com").exists()
    run_worker()
    sent_to = sorted(to for (to,), _content in smtp.messages)
    assert "new.ana@example.com" in sent_to
    assert sent_to == sorted(OutgoingEmail.objects.values_list("to", flat=True))
    assert {row.status for row in OutgoingEmail.objects.all()} == {"sent"}


def test_a_down_server_is_retried_with_backoff_then_failed_then_sent_again(smtp):  # noqa: F811
    from lealtad.network.models import User

    shop, member = shop_and_member()
    accrue(shop, member)
    with override_settings(**parse_email_url(f"smtp://127.0.0.1:{free_port()}?timeout=2")):
        run_worker()
    row = OutgoingEmail.objects.get()
    assert row.status == "failing" and "ConnectionRefusedError" in row.last_error
    waiting = DBTaskResult.objects.filter(task_path=SEND, status="READY").get()
    assert waiting.run_after == row.next_attempt_at > timezone.now()  # the backoff
    # The backoff doubles, up to its cap, and the retries go on for EMAIL_RETRY_HOURS (48 h).
    dead = parse_email_url(f"smtp://127.0.0.1:{free_port()}?timeout=2")
    with override_settings(**dead):
        assert send_one(row.pk, now=row.created_at + dt.timedelta(hours=24)) == "failing"
        row.refresh_from_db()
        assert row.next_attempt_at - row.created_at > dt.timedelta(hours=24)
        assert send_one(row.pk, now=row.created_at + dt.timedelta(hours=48)) == "failed"
    row.refresh_from_db()
    assert row.failed_at and row.next_attempt_at is None and row.last_error
    before = DBTaskResult.objects.filter(task_path=SEND, status="READY").count()
    assert send_one(row.pk) == "done"  # a queued retry of a failed e-mail sends nothing
    assert DBTaskResult.objects.filter(task_path=SEND, status="READY").count() == before
    # The operator sees it, with its error, and sends it again.
    client = Client()
    client.force_login(User.objects.create_superuser("op", "op@example.com", testing.PASSWORD))
    url = "/admin/notifications/outgoingemail/"
    page = client.get(url + "?status=failed").content.decode()
    assert "ConnectionRefusedError" in page and "48 horas" in page
    client.post(url, {"action": "retry_now", "_selected_action": [row.pk]})
    again = OutgoingEmail.objects.get()
    assert again.created_at == row.created_at and again.retry_from > row.created_at
    run_worker()
    assert len(smtp.messages) == 1
    assert OutgoingEmail.objects.get().status == "sent"
    # The retries still queued from before find it sent: once is all it is sent.
    for stale in DBTaskResult.objects.filter(task_path=SEND, status="READY"):
        assert send_one(stale.args_kwargs["args"][0]) == "done"
    assert len(smtp.messages) == 1


def test_an_email_whose_worker_was_killed_mid_task_is_sent_by_the_sweep(smtp):  # noqa: F811
    shop, member = shop_and_member()
    accrue(shop, member)
    # What a worker killed (-9) while it ran the task leaves behind: the task claimed, RUNNING.
    DBTaskResult.objects.get(task_path=SEND).claim("killed-worker")
    run_worker()  # it runs this period's sweep too: too early, its task may still be running
    assert smtp.messages == []  # and nobody runs a RUNNING task again
    assert ScheduledRun.objects.filter(job="outbox-sweep").count() == 1
    sweep = [job for job in engine.PERIODIC if job.name == "outbox-sweep"]
    eleven_minutes_ago = timezone.now() - dt.timedelta(minutes=11)
    OutgoingEmail.objects.update(created_at=eleven_minutes_ago)
    assert engine.tick(timezone.now() + dt.timedelta(minutes=10), jobs=sweep) == ["outbox-sweep"]
    run_worker()
    assert len(smtp.messages) == 1
    assert OutgoingEmail.objects.get().status == "sent"


def test_the_daily_expiry_runs_on_the_engine_once_a_day():
    now = timezone.now()
    daily = [job for job in engine.PERIODIC if job.name == "daily-expiry"]
    assert engine.tick(now, jobs=daily) == ["daily-expiry"]
    assert engine.tick(now + dt.timedelta(seconds=30), jobs=daily) == []  # same day: taken
    run_worker()
    done = DBTaskResult.objects.get(task_path="lealtad.notifications.tasks.daily_expiry")
    assert done.status == "SUCCESSFUL" and done.return_value.startswith("expired ")
    assert engine.tick(now + dt.timedelta(days=1), jobs=daily) == ["daily-expiry"]
    assert ScheduledRun.objects.filter(job="daily-expiry").count() == 2


def test_a_periodic_job_is_one_line():
    every_minute = engine.Periodic(
        "minute", "lealtad.notifications.tasks:daily_expiry", dt.timedelta(minutes=1)
    )
    start = dt.datetime(2026, 12, 2, 10, 0, 5, tzinfo=dt.UTC)
    assert engine.tick(start, jobs=[every_minute]) == ["minute"]
    assert engine.tick(start + dt.timedelta(seconds=50), jobs=[every_minute]) == []
    assert engine.tick(start + dt.timedelta(seconds=60), jobs=[every_minute]) == ["minute"]


@pytest.mark.postgres
def test_workers_ticking_at_once_enqueue_one_run():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: set DATABASE_URL=postgres://…")
    now, barrier, started = timezone.now(), threading.Barrier(8), []
    daily = [job for job in engine.PERIODIC if job.name == "daily-expiry"]

    def worker():
        try:
            barrier.wait()
            started.extend(engine.tick(now, jobs=daily))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert started == ["daily-expiry"]
    assert DBTaskResult.objects.filter(task_path__endswith="daily_expiry").count() == 1
