"""Issue 16, "crashes lose nothing", the task worker's run: real `lealtad worker` processes send
e-mails (to an aiosmtpd server), SMS (to a fake Twilio over HTTP) and webhooks (to a receiver
that verifies their signatures) while they are killed with SIGKILL at random moments and
restarted, their database connections are terminated (`pg_terminate_backend`), and each
receiver is taken down for a while and brought back on the same port. Afterwards:

- every e-mail and every SMS was received exactly once. The one exception the design cannot
  close (docs/tasks.md, "Task worker crash run"): a worker killed after the receiver took the
  message and before the worker recorded it. The product counts each such attempt on the row
  (`interrupted`), a resend keeps the e-mail's Message-ID, and no more of them exist than kills
  and terminations could make; a duplicate anywhere else fails the test;
- every webhook event reached the receiver at least once, verified, answered 2xx, and all the
  requests carrying its body carry its one `webhook-id`;
- nothing is left undelivered once the receivers are back (the queue drains, bounded).

The chaos is seeded: CRASH_SEED=<n> repeats a run (the seed is printed with the counts).
"""

import asyncio
import contextlib
import email
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from django.db import connection
from django.utils import timezone

from lealtad.core import testing
from lealtad.ledger import actions as ledger
from lealtad.notifications import engine, sms
from lealtad.notifications.models import OutgoingEmail, OutgoingSms
from lealtad.notifications.tests import fake_sms
from lealtad.webhooks.models import Delivery, Event
from lealtad.webhooks.tests.helpers import endpoint_on
from lealtad.webhooks.tests.receiver import Receiver
from lealtad.webhooks.tests.test_worker_killed import ROOT, worker_env

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

# The receivers' ports (this suite's own range); each comes back on the same one after an outage.
SMTP_PORT, SMS_PORT, HOOK_PORT = (
    int(os.environ.get("CRASH_PORT_BASE", 8621)) + i for i in range(3)
)
WORKERS = 2
CHAOS_SECONDS = 22
DRAIN_SECONDS = 75  # the bound: what is not delivered by then fails the test
WAVES, ACCRUALS_PER_WAVE, SMS_PER_WAVE = 6, 10, 5
# Each e-mail and SMS takes its receiver this long (before it is recorded there), so the workers
# spend their time mid-send and a random kill often lands in a send.
SEND_SECONDS = 0.15
LEASE = 8  # OUTBOX_LEASE_SECONDS of the workers: the SMTP and SMS time-outs are 2 s


class Inbox:
    """What the SMTP server took: (Message-ID, recipients) per DATA it answered 250."""

    def __init__(self, sending: threading.Event):
        self.messages: list[tuple[str, list[str]]] = []
        self.sending = sending

    async def handle_DATA(self, server, session, envelope):
        self.sending.set()
        await asyncio.sleep(SEND_SECONDS)  # a real server's time to take it: a kill lands here
        parsed = email.message_from_bytes(envelope.original_content)
        self.messages.append((parsed["Message-ID"] or "", list(envelope.rcpt_tos)))
        return "250 OK"


class Receivers:
    """The three receivers, each able to go down and come back on its port."""

    def __init__(self):
        self.sending = threading.Event()  # an e-mail or an SMS is being taken, right now
        self.inbox = Inbox(self.sending)
        self.sms_requests: list = []
        self.hooks = Receiver(port=HOOK_PORT)
        self.smtp = self.sms = None
        self.outages = Counter()
        self.up_smtp()
        self.up_sms()
        self.hooks.start()

    def up_smtp(self):
        self.smtp = Controller(self.inbox, hostname="127.0.0.1", port=SMTP_PORT)
        self.smtp.start()

    def up_sms(self):
        self.sms = fake_sms.start(SMS_PORT, requests=self.sms_requests)
        self.sms.hang_seconds, self.sms.sending = SEND_SECONDS, self.sending

    def down(self, name: str):
        self.outages[name] += 1
        if name == "smtp":
            self.smtp.stop()
        elif name == "sms":
            self.sms.server.shutdown()
            self.sms.server.server_close()
        else:
            self.hooks.stop()

    def up(self, name: str):
        {"smtp": self.up_smtp, "sms": self.up_sms, "hooks": self.hooks.start}[name]()

    def close(self):
        for name in ("smtp", "sms", "hooks"):
            with contextlib.suppress(Exception):  # already down
                self.down(name)

    @property
    def sms_lookups(self) -> list[str]:
        return [r.form["_lookup"] for r in self.sms_requests if "_lookup" in r.form]

    @property
    def sms_accepted(self) -> list[dict]:
        return [r.form for r in self.sms_requests if r.form.get("_accepted")]


class Workers:
    """`lealtad worker` subprocesses, restarted when they die (a supervisor's job)."""

    def __init__(self, env: dict, log_path):
        self.env, self.log_path = env, log_path
        self.procs: list[subprocess.Popen | None] = [None] * WORKERS
        self.kills = self.exits = 0

    def start(self, slot: int):
        command = [sys.executable, "-m", "lealtad.cli", "worker", "--no-startup-delay"]
        with self.log_path.open("ab") as out:
            self.procs[slot] = subprocess.Popen(
                [*command, "--no-reload", "--interval", "0.2"],
                env=self.env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def supervise(self):
        """Start what is not running: never started, killed, or exited on its own."""
        for slot, proc in enumerate(self.procs):
            if proc is None:
                self.start(slot)
            elif proc.poll() is not None:
                self.exits += proc.returncode != -signal.SIGKILL
                self.start(slot)

    def kill(self, slot: int):
        proc = self.procs[slot]
        if proc is not None and proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
            self.kills += 1
            self.procs[slot] = None

    def stop_all(self):
        for proc in self.procs:
            if proc is not None and proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            if proc is not None:
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


WORKER_APP = "lealtad-crash-worker"


def terminate_backends() -> int:
    """The workers' connections, not every other one on the database: this process's own
    others (a live server thread's, kept for the next test) would die unnoticed until their next
    use, in another test."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = %s",
            [WORKER_APP],
        )
        return cursor.fetchone()[0]


def settled() -> bool:
    return not (
        OutgoingEmail.objects.filter(sent_at__isnull=True).exists()
        or OutgoingSms.objects.filter(sent_at__isnull=True).exists()
        or Delivery.objects.exclude(status=Delivery.Status.DELIVERED).exists()
    )


def unsettled() -> list:
    return [
        *OutgoingEmail.objects.filter(sent_at__isnull=True).values_list(
            "pk", "attempts", "interrupted", "leased_until", "next_attempt_at", "last_error"
        ),
        *OutgoingSms.objects.filter(sent_at__isnull=True).values_list(
            "pk", "attempts", "interrupted", "leased_until", "next_attempt_at", "last_error"
        ),
        *Delivery.objects.exclude(status=Delivery.Status.DELIVERED).values_list(
            "pk", "status", "attempts", "leased_until", "next_attempt_at", "last_error"
        ),
    ]


def test_the_worker_killed_and_its_receivers_down_each_message_arrives_once(settings, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip(
            "real worker processes share the test database: PostgreSQL (pytest's SQLite test "
            "database is in memory, out of their reach; the SQLite worker is one process)"
        )
    seed = int(os.environ.get("CRASH_SEED") or random.SystemRandom().randrange(10**6))
    rng = random.Random(seed)
    print(f"\ncrash run seed: {seed} (CRASH_SEED={seed} repeats it)")
    started = time.monotonic()

    receivers = Receivers()
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    settings.SMS_URL = receivers.sms.url(timeout=2)  # `send_code` picks SMS when one is set
    shop = testing.make_merchant(email_on_join=False, email_on_accrual=True)
    endpoint_on(receivers.hooks, merchant=shop.merchant)
    members = [testing.make_customer(shop).membership for _ in range(10)]
    env = {
        **worker_env(),
        "EMAIL_URL": f"smtp://127.0.0.1:{SMTP_PORT}?timeout=2",
        "SMS_URL": receivers.sms.url(timeout=2),
        "WEBHOOK_TIMEOUT_SECONDS": "2",
        # Enough attempts to outlast every outage: a spent schedule would fail the delivery.
        "WEBHOOK_RETRY_SCHEDULE": ",".join(["1"] * 5 + ["2"] * 40),
        "EMAIL_RETRY_FIRST_SECONDS": "1",
        "EMAIL_RETRY_MAX_SECONDS": "2",
        "OUTBOX_LEASE_SECONDS": str(LEASE),
        # libpq names the workers' connections: only theirs are terminated (terminate_backends).
        "PGAPPNAME": WORKER_APP,
    }
    workers = Workers(env, tmp_path / "workers.log")
    terminations = aimed = 0
    down: dict[str, float] = {}  # receiver → when it comes back
    sms_sent = 0

    def wave(n: int):
        nonlocal sms_sent
        for i in range(ACCRUALS_PER_WAVE):
            member = members[(n * ACCRUALS_PER_WAVE + i) % len(members)]
            ledger.accrue_points(
                merchant=shop.merchant,
                membership=member,
                branch=shop.branch,
                amount=Decimal(1000 + 10 * i + n),
            )
        for i in range(SMS_PER_WAVE):
            sms_sent += 1
            member = members[(n * SMS_PER_WAVE + i) % len(members)]
            sms.send_code(
                member.customer,
                merchant=shop.merchant,
                text=f"Crash run code {sms_sent:04d}: {rng.randrange(10**6):06d}",
                purpose="crash-run",
            )

    try:
        workers.supervise()
        waves_done = 0
        chaos_end = time.monotonic() + CHAOS_SECONDS
        while time.monotonic() < chaos_end:
            now = time.monotonic()
            for name, back_at in list(down.items()):
                if now >= back_at:
                    receivers.up(name)
                    del down[name]
            workers.supervise()
            roll = rng.random()
            if waves_done < WAVES and (roll < 0.35 or now > chaos_end - 6):
                receivers.sending.clear()
                wave(waves_done)
                waves_done += 1
                if rng.random() < 0.6 and receivers.sending.wait(2):
                    # Aimed: the moment a receiver is taking a message, both workers die, so
                    # one surely dies mid-send (a random moment mostly finds them idle).
                    time.sleep(rng.uniform(0, SEND_SECONDS))
                    aimed += 1
                    for slot in range(WORKERS):
                        workers.kill(slot)
            elif roll < 0.6:
                workers.kill(rng.randrange(WORKERS))
                time.sleep(rng.uniform(0.1, 1.5))  # then the supervisor starts it again
            elif roll < 0.85:
                name = rng.choice([n for n in ("smtp", "sms", "hooks") if n not in down] or [""])
                if name:
                    receivers.down(name)
                    down[name] = now + rng.uniform(1, 4)
            else:
                terminate_backends()
                terminations += 1
            time.sleep(rng.uniform(0.3, 1.2))
        while waves_done < WAVES:
            wave(waves_done)
            waves_done += 1
        for name in list(down):
            receivers.up(name)
        down.clear()
        chaos_seconds = time.monotonic() - started

        # Drain: the receivers up, the workers left alone. Their sweeps run every minute; the
        # test moves the scheduler's clock a minute on every 2 s so they run now (the leases
        # they look at run out in real time).
        sweeps = [job for job in engine.PERIODIC if job.name in ("outbox-sweep", "webhook-sweep")]
        drain_end, minute = time.monotonic() + DRAIN_SECONDS, 0
        while not settled() and time.monotonic() < drain_end:
            workers.supervise()
            minute += 1
            engine.tick(now=timezone.now() + timedelta(minutes=minute), jobs=sweeps)
            time.sleep(2)
        drained = settled()
    finally:
        workers.stop_all()
        receivers.close()
    log = (tmp_path / "workers.log").read_text(errors="replace").splitlines()
    problems = "\n".join(line for line in log if " WARNING " in line or " ERROR " in line)
    if os.environ.get("CRASH_LOG"):  # the whole log, to read after a failed run
        (Path(os.environ["CRASH_LOG"])).write_text("\n".join(log))

    emails = list(OutgoingEmail.objects.all())
    texts = list(OutgoingSms.objects.all())
    events = {event.pk: event for event in Event.objects.all()}
    got_mail = Counter(message_id for message_id, _to in receivers.inbox.messages)
    got_sms = Counter(form["Body"] for form in receivers.sms_accepted)
    sids = {}
    for form in receivers.sms_accepted:
        sids.setdefault(form["Body"], set()).add(form["_sid"])
    hooks = receivers.hooks.delivered
    interrupted = sum(row.interrupted for row in emails) + sum(row.interrupted for row in texts)
    duplicates = {
        "e-mails": sum(n - 1 for n in got_mail.values() if n > 1),
        "SMS": sum(n - 1 for n in got_sms.values() if n > 1),
        "webhooks": len(hooks) - len({got.id for got in hooks}),
    }
    print(
        f"crash run: {chaos_seconds:.0f} s of chaos, drained in "
        f"{time.monotonic() - started - chaos_seconds:.0f} s; {WORKERS} workers, "
        f"{workers.kills} kills (SIGKILL; {aimed} times both mid-send), "
        f"{workers.exits} exits on their own, "
        f"{terminations} pg_terminate_backend rounds; receiver outages {dict(receivers.outages)}"
        f"\n  tasks {_tasks()}; messages interrupted mid-send (recorded on the rows): "
        f"{interrupted}"
        f"\n  e-mails expected {len(emails)}, received {len(receivers.inbox.messages)}, "
        f"distinct {len(got_mail)}, duplicates {duplicates['e-mails']}"
        f"\n  SMS expected {len(texts)}, received {len(receivers.sms_accepted)}, "
        f"distinct {len(got_sms)}, duplicates {duplicates['SMS']}, "
        f"asked the provider {len(receivers.sms_lookups)} times"
        f"\n  webhooks expected {len(events)} events, delivered {len(hooks)} requests, "
        f"distinct ids {len({got.id for got in hooks})}, repeats {duplicates['webhooks']}"
    )

    assert drained, f"left undelivered: {unsettled()}\n" + problems[-6000:]
    assert len(emails) == WAVES * ACCRUALS_PER_WAVE and len(texts) == WAVES * SMS_PER_WAVE
    assert len(events) == WAVES * ACCRUALS_PER_WAVE
    # Each e-mail once, under its own Message-ID; more than once only where a worker died
    # holding it (then under the same Message-ID: receivers and mail clients drop the repeat).
    assert set(got_mail) == {row.message_id for row in emails}
    for row in emails:
        assert 1 <= got_mail[row.message_id] <= 1 + row.interrupted, (row.pk, row.interrupted)
    assert {tuple(to) for _id, to in receivers.inbox.messages} <= {(row.to,) for row in emails}
    # Each SMS exactly once (the bodies are unique): one interrupted asks the provider first.
    assert set(got_sms) == {row.body for row in texts}
    for row in texts:
        assert got_sms[row.body] == 1, (row.pk, row.interrupted)
        assert row.provider_id in sids[row.body]
    assert set(receivers.sms_lookups) == {row.to for row in texts if row.interrupted}
    # A message is interrupted only by a kill or a lost connection: a worker runs one send task
    # at a time, so no more than one per kill and per worker per termination round.
    assert interrupted <= workers.kills + WORKERS * terminations
    # Each webhook at least once, verified, answered 2xx; every request with its body carries
    # its event's one webhook-id.
    assert {got.id for got in hooks} == set(events)
    ids_by_body: dict[bytes, set] = {}
    for got in receivers.hooks.requests:
        assert got.verified, got.error
        ids_by_body.setdefault(got.body, set()).add(got.id)
    assert all(len(ids) == 1 for ids in ids_by_body.values())
    assert all(got.payload["type"] == "accrual.posted" for got in hooks)


def _tasks() -> str:
    from django_tasks_db.models import DBTaskResult

    counts = Counter(DBTaskResult.objects.values_list("status", flat=True))
    return f"{sum(counts.values())} ({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))})"
