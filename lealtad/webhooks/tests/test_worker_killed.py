"""I4 "Done when": the worker killed mid-delivery → delivered again, with the same `webhook-id`.

Real processes on a real PostgreSQL: `lealtad worker` takes the delivery and POSTs it, the
receiver keeps the request hanging, the worker is killed with SIGKILL (its task stays RUNNING
for good, as django-tasks-db leaves it), and once its lease has run out the every-minute sweep
(engine.PERIODIC "webhook-sweep") gives the delivery a new task that a second worker sends."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from lealtad.notifications import engine
from lealtad.webhooks import delivery
from lealtad.webhooks.models import Delivery
from lealtad.webhooks.tests.helpers import emit_accrual, endpoint_on
from lealtad.webhooks.tests.receiver import receiver  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[3]
TIMEOUT = 3  # seconds: the worker hangs on the receiver for up to that; its lease is 11 s


def worker_env() -> dict:
    db = connection.settings_dict
    auth = quote(db["USER"] or "")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"])
    url = f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return {
        **os.environ,
        "DATABASE_URL": url,  # the test database this test writes in
        "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
        "WEBHOOK_TIMEOUT_SECONDS": str(TIMEOUT),
        "WEBHOOK_RETRY_SCHEDULE": "1,1,1",
        "EMAIL_URL": "console://",
    }


def start_worker(log: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "lealtad.cli", "worker", "--no-startup-delay", "--no-reload"]
    with log.open("ab") as out:  # what it printed, shown if the test fails
        return subprocess.Popen(
            [*command, "--interval", "0.2", "-v", "3"],
            env=worker_env(),
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_a_worker_killed_mid_delivery_the_delivery_goes_again_with_the_same_id(
    receiver,  # noqa: F811
    settings,
    tmp_path,
):
    if connection.vendor != "postgresql":
        pytest.skip("real worker processes share the database: PostgreSQL")
    settings.WEBHOOK_TIMEOUT_SECONDS = TIMEOUT  # the same lease as the workers'
    endpoint, _ = endpoint_on(receiver)
    receiver.hang = True
    event = emit_accrual(endpoint.merchant)
    log = tmp_path / "workers.log"
    first = start_worker(log)
    try:
        assert receiver.wait_for(1, timeout=60), "the first worker did not send it"
        os.kill(first.pid, signal.SIGKILL)  # mid-delivery: the receiver has not answered
        first.wait(timeout=10)
    finally:
        stop(first)
    row = Delivery.objects.get()
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.leased_until is not None  # the dead worker's lease
    (task,) = DBTaskResult.objects.filter(task_path=delivery.EVENT_TASK_PATH)
    assert task.status == "RUNNING"  # what a killed worker leaves: it never finishes
    receiver.hang = False
    receiver.release()

    # Nobody takes it during the lease: the worker might only be slow.
    assert delivery.resend_stuck() == 0
    time.sleep(max(0.0, (row.leased_until - timezone.now()).total_seconds()) + 0.5)

    # The every-minute job, in the next minute's period, run by a second worker.
    (sweep,) = [job for job in engine.PERIODIC if job.name == "webhook-sweep"]
    assert sweep.every == timedelta(minutes=1)
    assert engine.tick(now=timezone.now() + timedelta(minutes=1), jobs=[sweep]) == ["webhook-sweep"]
    second = start_worker(log)
    try:
        sent = receiver.wait_for(2, timeout=60)
        assert sent, "not sent again:\n" + log.read_text()[-3000:]
        deadline = time.monotonic() + 30
        while Delivery.objects.get().status == "pending" and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        stop(second)
    first_try, again = receiver.requests
    assert first_try.id == again.id == event.pk  # the same webhook-id: receivers drop repeats
    assert first_try.body == again.body and again.verified and again.status == 200
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_status_code) == ("delivered", 2, 200)
    assert len(receiver.requests) == 2  # sent again once, not once per worker
