"""Issue 17, "workers on several machines send nothing twice": real `lealtad worker` processes
on one PostgreSQL share the queue. A few hundred e-mails (to an aiosmtpd server), SMS (to the
fake Twilio over HTTP) and webhook deliveries (to the verifying receiver) are enqueued through
the actions that cause them before the workers start, so they race for a full queue:

- every message arrives exactly once (by Message-ID, by SMS body, by webhook-id), every
  worker took a share, nothing is left queued, nothing failed;
- the periodic jobs the workers schedule (engine.PERIODIC: the daily expiry, the sweeps, the
  automatic replies, the roll-up) are enqueued once per period however many workers tick,
  and a silent detractor's automatic reply, which its own task, a duplicate of it and the
  every-minute sweep all try at once, goes once;
- then, with more work queued, the worker sending an SMS is killed with SIGKILL: the other two
  finish the queue once the dead one's leases run out. Every SMS still arrives exactly once
  (the one in doubt asks the provider first), every webhook-id is delivered (a repeat only
  for a delivery the dead worker held, under the same webhook-id), an e-mail at most once
  more than it was interrupted, under its one Message-ID (docs/tasks.md, "The window that
  remains").

The machines are played by processes of this one: what a second machine changes is only that
nothing is shared but the database, and these workers share nothing else either (no files, no
cache, no scheduler of their own). Each worker has its own `--worker-id`, recorded on the task
rows it ran. Skipped on SQLite: one machine by definition, and pytest's SQLite test database is
in memory, out of other processes' reach.
"""

import asyncio
import contextlib
import email
import itertools
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from aiosmtpd.controller import Controller
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from lealtad.core import testing
from lealtad.ledger import actions as ledger
from lealtad.notifications import engine, sms
from lealtad.notifications.models import Event as MailEvent
from lealtad.notifications.models import OutgoingEmail, OutgoingSms, ScheduledRun
from lealtad.notifications.tests import fake_sms
from lealtad.ratings import actions as ratings
from lealtad.ratings.models import Message
from lealtad.ratings.tasks import auto_reply
from lealtad.webhooks.models import Delivery, Event
from lealtad.webhooks.tests.helpers import endpoint_on
from lealtad.webhooks.tests.receiver import Receiver
from lealtad.webhooks.tests.test_worker_killed import ROOT, worker_env

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

# This suite's ports (issue 17, the workers helper's range 8740–8749).
PORT_BASE = int(os.environ.get("SEVERAL_WORKERS_PORT_BASE", 8740))
LEASE = 3  # OUTBOX_LEASE_SECONDS of the workers (the SMTP and SMS time-outs are 2 s)
HOOK_TIMEOUT = 1  # WEBHOOK_TIMEOUT_SECONDS: a webhook lease of 2 × 1 + 5 = 7 s


class Inbox:
    """What the SMTP server took: the Message-ID of each DATA answered 250."""

    def __init__(self, delay: float = 0.0):
        self.message_ids: list[str] = []
        self.delay = delay
        self.sending = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        self.sending.set()
        if self.delay:
            await asyncio.sleep(self.delay)
        parsed = email.message_from_bytes(envelope.original_content)
        self.message_ids.append(parsed["Message-ID"] or "")
        return "250 OK"


@contextlib.contextmanager
def receivers(offset: int, mail_delay: float = 0.0, sms_delay: float = 0.0):
    """An SMTP server, a fake Twilio and a webhook receiver on this suite's ports; each e-mail
    and SMS takes that long to be taken (a real relay's time, where a kill lands)."""
    with contextlib.ExitStack() as running:  # each one stopped, whatever fails after it
        inbox = Inbox(mail_delay)
        smtp = Controller(inbox, hostname="127.0.0.1", port=PORT_BASE + offset)
        smtp.start()
        running.callback(smtp.stop)
        twilio = fake_sms.start(PORT_BASE + offset + 1)
        running.callback(twilio.server.server_close)
        running.callback(twilio.server.shutdown)
        twilio.hang_seconds = sms_delay
        twilio.sending = threading.Event()
        hooks = Receiver(port=PORT_BASE + offset + 2).start()
        running.callback(hooks.stop)
        yield inbox, twilio, hooks


class Workers:
    """`lealtad worker` processes w0, w1, …, stopped (SIGTERM, then SIGKILL) whatever happens."""

    def __init__(self, env: dict, log):
        self.env, self.log = env, log
        self.procs: dict[str, subprocess.Popen] = {}
        self.cpu_before = self._children_cpu()

    @staticmethod
    def _children_cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    def start(self, count: int) -> None:
        command = [sys.executable, "-m", "lealtad.cli", "worker", "--no-startup-delay"]
        with self.log.open("ab") as out:
            for n in range(count):
                self.procs[f"w{n}"] = subprocess.Popen(
                    [*command, "--no-reload", "--interval", "0.1", "--worker-id", f"w{n}"],
                    env=self.env,
                    cwd=ROOT,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )

    def kill(self, worker_id: str) -> None:
        proc = self.procs[worker_id]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def cpu_seconds(self) -> float:
        """CPU time (user + system) of these workers, once they have been waited for."""
        return self._children_cpu() - self.cpu_before

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def environment(inbox_port: int, twilio) -> dict:
    return {
        **worker_env(),
        "EMAIL_URL": f"smtp://127.0.0.1:{inbox_port}?timeout=2",
        "SMS_URL": twilio.url(timeout=2),
        "WEBHOOK_TIMEOUT_SECONDS": str(HOOK_TIMEOUT),
        "WEBHOOK_RETRY_SCHEDULE": "1,1,1,1,1,1,1,1,1,1",
        "EMAIL_RETRY_FIRST_SECONDS": "1",
        "EMAIL_RETRY_MAX_SECONDS": "1",
        "OUTBOX_LEASE_SECONDS": str(LEASE),
        "RATING_AUTO_REPLY_DELAY_SECONDS": "0",
    }


def make_work(shop, members, accruals: int, codes: int) -> list:
    """`codes` codes by SMS, then `accruals` accruals (each an e-mail and an `accrual.posted`
    webhook), through the actions that cause them, in one transaction (cheap to write).
    Returns the accruals' transactions."""
    with transaction.atomic():
        for i in range(codes):
            sms.send_code(
                members[i % len(members)].customer,
                merchant=shop.merchant,
                text=f"Several workers code {OutgoingSms.objects.count():04d}",
                purpose="several-workers",
            )
        return [
            ledger.accrue_points(
                merchant=shop.merchant,
                membership=members[i % len(members)],
                branch=shop.branch,
                amount=Decimal(1000 + i),
            ).transaction
            for i in range(accruals)
        ]


def settled() -> bool:
    return not (
        OutgoingEmail.objects.filter(sent_at__isnull=True).exists()
        or OutgoingSms.objects.filter(sent_at__isnull=True).exists()
        or Delivery.objects.exclude(status=Delivery.Status.DELIVERED).exists()
        or DBTaskResult.objects.ready().exists()
        or DBTaskResult.objects.running().exclude(worker_ids__contains=["dead"]).exists()
    )


def wait_settled(seconds: float, each=None, every: float = 2.0) -> bool:
    """Wait until `settled`, calling `each` every `every` seconds meanwhile."""
    deadline, next_call = time.monotonic() + seconds, 0.0
    while time.monotonic() < deadline:
        if settled():
            return True
        if each and time.monotonic() >= next_call:
            each()
            next_call = time.monotonic() + every
        time.sleep(0.3)
    return settled()


def unsettled() -> list:
    return [
        *OutgoingEmail.objects.filter(sent_at__isnull=True).values_list(
            "pk", "attempts", "interrupted", "leased_until", "last_error"
        ),
        *OutgoingSms.objects.filter(sent_at__isnull=True).values_list(
            "pk", "attempts", "interrupted", "leased_until", "last_error"
        ),
        *Delivery.objects.exclude(status=Delivery.Status.DELIVERED).values_list(
            "pk", "status", "attempts", "leased_until", "last_error"
        ),
        *DBTaskResult.objects.exclude(status="SUCCESSFUL").values_list(
            "task_path", "status", "worker_ids", "run_after"
        ),
    ]


# Decided before any fixture runs, so SQLite pays nothing for these tests.
postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="several workers share one PostgreSQL: SQLite is one machine by definition (and "
    "pytest's SQLite test database is in memory, out of worker processes' reach)",
)


@postgresql_only
def test_workers_share_the_queue_send_each_message_once_and_survive_a_kill(settings, tmp_path):
    accruals, codes, detractors = 60, 60, 6
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    settings.RATING_AUTO_REPLY_DELAY_SECONDS = 0
    with receivers(0) as (inbox, twilio, hooks):
        settings.SMS_URL = twilio.url(timeout=2)  # `send_code` picks SMS when one is set
        shop = testing.make_merchant(email_on_join=False, email_on_accrual=True)
        endpoint_on(hooks, merchant=shop.merchant)
        ratings.save_auto_reply(
            shop.merchant, subject="¿Qué pasó?", body="Cuéntenos, por favor.", enabled=True
        )
        members = [testing.make_customer(shop).membership for _ in range(20)]
        visits = make_work(shop, members, accruals, codes)
        # Silent detractors of some of those visits: each one's own auto-reply task, a
        # duplicate of it, and the workers' every-minute sweep race for it.
        for visit in visits[:detractors]:
            rating = ratings.rate_visit(visit, score=2)
            auto_reply.enqueue(str(rating.pk))
        assert OutgoingEmail.objects.count() == accruals  # the replies are not written yet
        queued = DBTaskResult.objects.ready().count()

        workers = Workers(environment(PORT_BASE, twilio), tmp_path / "workers.log")
        try:
            # 1. Three workers start at once on a full queue.
            started, since = time.monotonic(), timezone.now()
            workers.start(3)
            drained = wait_settled(90)
            seconds = time.monotonic() - started
            assert drained, f"left: {unsettled()[:20]}\n{workers.tail()}"
            first_part(inbox, twilio, hooks, accruals, codes, detractors, since)
            print(
                f"\nseveral workers: {queued} tasks queued, 3 workers, drained in {seconds:.1f} s"
            )

            # 2. More work, each e-mail and SMS slow to be taken; the worker holding an SMS
            # the provider is taking is killed (SIGKILL): the other two finish everything.
            inbox.delay, twilio.hang_seconds = 0.05, 0.5
            twilio.sending.clear()
            make_work(shop, members, 20, 15)
            killed_at, victim, dead = kill_mid_sms(workers, twilio)
            drained = wait_settled(60, each=sweep_now(), every=1.0)
            seconds = time.monotonic() - killed_at
        finally:
            workers.stop()
        cpu = workers.cpu_seconds()
        assert drained, f"left: {unsettled()[:20]}\n{workers.tail()}"
        second_part(inbox, twilio, hooks, dead)
    print(
        f"worker {victim} killed mid-SMS, the others finished in {seconds:.1f} s; "
        f"{len(twilio.lookups)} SMS asked the provider first; the workers' CPU: {cpu:.1f} s"
    )


def first_part(inbox, twilio, hooks, accruals, codes, detractors, since):
    """Every message exactly once; nothing queued or failed; each worker took a share; each
    periodic job enqueued once per period."""
    emails, texts = list(OutgoingEmail.objects.all()), list(OutgoingSms.objects.all())
    events = set(Event.objects.values_list("pk", flat=True))
    delivered = hooks.delivered
    assert len(emails) == accruals + detractors and len(texts) == codes
    assert Counter(inbox.message_ids) == Counter(row.message_id for row in emails)
    assert Counter(form["Body"] for form in twilio.messages) == Counter(row.body for row in texts)
    assert twilio.lookups == []  # no SMS was ever in doubt
    assert len(events) == accruals
    assert Counter(got.id for got in delivered) == Counter(events)
    assert len(hooks.requests) == len(delivered)  # each verified and answered 2xx, once
    assert all(row.attempts == 1 and row.interrupted == 0 for row in emails + texts)
    # The silent detractors: one automatic reply each (a message and its e-mail).
    assert Message.objects.filter(automatic=True).count() == detractors
    assert OutgoingEmail.objects.filter(event=MailEvent.AUTO_REPLY).count() == detractors
    # Nothing left queued, nothing failed, no task run twice; every worker took a share.
    assert set(DBTaskResult.objects.values_list("status", flat=True)) == {"SUCCESSFUL"}
    ran = list(DBTaskResult.objects.values_list("worker_ids", flat=True))
    assert all(len(ids) == 1 for ids in ran)
    shares = Counter(ids[0] for ids in ran)
    assert set(shares) == {"w0", "w1", "w2"}, shares
    # The periodic jobs: the three schedulers ticked, each job was enqueued once per period
    # (no more runs than periods begun while the workers ran; each run a period of its own).
    taken = Counter(ScheduledRun.objects.values_list("job", flat=True))
    assert set(taken) == {job.name for job in engine.PERIODIC}
    seconds = int((timezone.now() - since).total_seconds()) + 1
    for job in engine.PERIODIC:
        path = job.task_path.replace(":", ".")
        assert DBTaskResult.objects.filter(task_path=path).count() == taken[job.name], job.name
        periods = {job.period(since + timedelta(seconds=n)) for n in range(seconds + 1)}
        assert 1 <= taken[job.name] <= len(periods), (job.name, taken[job.name], periods)


def kill_mid_sms(workers, twilio):
    """SIGKILL the worker running an SMS task while the provider is taking an SMS; returns
    when, which worker, and the tasks it held (left RUNNING for good, by django-tasks-db: they
    are marked "dead" so that `settled` passes them over)."""
    deadline, victim = time.monotonic() + 60, None
    while victim is None and time.monotonic() < deadline:
        if not twilio.sending.wait(5):
            continue
        twilio.sending.clear()
        held = DBTaskResult.objects.running().filter(
            task_path="lealtad.notifications.tasks.send_sms"
        )
        victim = next((ids[-1] for ids in held.values_list("worker_ids", flat=True)), None)
    assert victim, workers.tail()
    workers.kill(victim)
    killed_at = time.monotonic()
    dead = list(DBTaskResult.objects.running().filter(worker_ids__contains=[victim]))
    for task in dead:
        DBTaskResult.objects.filter(pk=task.pk).update(worker_ids=[victim, "dead"])
    return killed_at, victim, dead


def sweep_now():
    """The sweeps run every minute: each call moves the scheduler's clock one more minute, so
    they run now (the leases they look at still run out in real time)."""
    sweeps = [job for job in engine.PERIODIC if job.name in ("outbox-sweep", "webhook-sweep")]
    minutes = itertools.count(1)
    return lambda: engine.tick(now=timezone.now() + timedelta(minutes=next(minutes)), jobs=sweeps)


def second_part(inbox, twilio, hooks, dead):
    """After the kill: every SMS still exactly once (the one in doubt asked the provider
    first), every webhook-id delivered (more than once only for a delivery the dead worker
    held), every e-mail once or, only when interrupted, once more under its one Message-ID."""
    emails, texts = list(OutgoingEmail.objects.all()), list(OutgoingSms.objects.all())
    deliveries = {row.event_id: row for row in Delivery.objects.all()}
    assert dead, "the killed worker held no task"
    assert Counter(form["Body"] for form in twilio.messages) == Counter(row.body for row in texts)
    doubted = {row.to for row in texts if row.interrupted}
    # Usually one SMS is in doubt (the victim was sending it); none when the kill landed
    # between the task's start and its claim (test_crash_worker.py proves the doubt path).
    assert set(twilio.lookups) == doubted
    got = Counter(hook.id for hook in hooks.delivered)
    assert set(got) == set(deliveries)
    for event_id, count in got.items():
        assert count == 1 or deliveries[event_id].attempts > 1, event_id
    assert sum(count - 1 for count in got.values()) <= len(dead)
    mail = Counter(inbox.message_ids)
    assert set(mail) == {row.message_id for row in emails}
    for row in emails:
        assert 1 <= mail[row.message_id] <= 1 + row.interrupted, row.pk
    # The dead worker ran one task at a time: one message at most was interrupted.
    interrupted = sum(row.interrupted for row in emails + texts)
    interrupted += sum(1 for row in deliveries.values() if row.attempts > 1)
    assert 1 <= interrupted <= len(dead)
    assert not DBTaskResult.objects.failed().exists()


# --- the clock: the one thing a worker on another machine does not share -------------------


def test_the_workers_clock_is_compared_with_the_databases(settings, monkeypatch):
    settings.WORKER_MAX_CLOCK_SKEW_SECONDS = 2
    if connection.vendor != "postgresql":
        assert engine.clock_skew() is None  # SQLite: the database is on this machine
        assert engine.check_clock() is None
        return
    assert abs(engine.clock_skew()) < 1  # the same machine's clock
    real = time.time
    monkeypatch.setattr(engine, "local_time", lambda: real() + 30)
    assert engine.clock_skew() > 29
    with pytest.raises(engine.ClockSkewed, match=r"30\.\d s ahead of the database's"):
        engine.check_clock()
    monkeypatch.setattr(engine, "local_time", lambda: real() - 5)
    with pytest.raises(engine.ClockSkewed, match="behind"):
        engine.check_clock()
    with pytest.raises(CommandError, match=r"the worker does not start: .*NTP"):
        call_command("worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    settings.WORKER_MAX_CLOCK_SKEW_SECONDS = 0  # not checked
    assert engine.check_clock() is None
    call_command("worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)


@postgresql_only
@pytest.mark.django_db
def test_a_running_worker_whose_clock_drifts_stops(settings, monkeypatch):
    """The scheduler thread checks the clock before every tick: a worker whose clock drifted
    stops taking tasks (SIGTERM to itself: the task at hand finishes, then it exits)."""
    from lealtad.core.management.commands import worker

    settings.WORKER_MAX_CLOCK_SKEW_SECONDS = 2
    readings, real = itertools.count(), time.time
    # Right for the first check (two readings), a minute ahead from the second on.
    monkeypatch.setattr(engine, "local_time", lambda: real() + (60 if next(readings) >= 2 else 0))
    monkeypatch.setattr(worker, "SCHEDULE_SECONDS", 0.05)
    signals = []  # what it sends itself (here: not to the test's own process)
    monkeypatch.setattr(os, "kill", lambda pid, sig: signals.append((pid, sig)))
    stop = threading.Event()
    # Without the periodic jobs (--no-schedule: the clock is checked all the same), so its
    # own connection writes nothing outside the test's transaction.
    thread = threading.Thread(target=worker._schedule_forever, args=(stop, False))
    thread.start()
    thread.join(timeout=20)
    stop.set()
    assert not thread.is_alive()
    assert signals == [(os.getpid(), signal.SIGTERM)]
    assert next(readings) == 4  # two checks: the first passed, the second stopped it
