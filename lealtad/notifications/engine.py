"""M2: the task engine. Django's Tasks framework (`django.tasks` on Django 6, the `django-tasks`
backport on 5.2) with django-tasks-db's durable backend: enqueuing writes a row in this database,
so a task enqueued inside a movement's transaction exists exactly when the movement does.

Periodic work runs on the same engine. `lealtad worker` calls `tick()` every few seconds; for each
job in `PERIODIC` it takes the row (job, period) in a transaction and enqueues the job's task in
that same transaction, so however many workers run, each period runs once. Adding a periodic job
is one line in `PERIODIC`.
"""

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

try:  # Django 6
    from django.tasks import task
except ImportError:  # Django 5.2: the backport
    from django_tasks import task

__all__ = ["PERIODIC", "ClockSkewed", "Periodic", "check_clock", "clock_skew", "task", "tick"]

log = logging.getLogger("lealtad.tasks")


@dataclass(frozen=True)
class Periodic:
    name: str
    task_path: str  # "module:attribute" of a task taking no arguments
    every: timedelta

    def period(self, now: datetime) -> str:
        """The period `now` falls in, as a stable key: the start of it, in UTC."""
        seconds = int(self.every.total_seconds())
        start = int(now.timestamp()) // seconds * seconds
        return datetime.fromtimestamp(start, tz=UTC).isoformat()

    def task(self):
        from importlib import import_module

        module, attribute = self.task_path.split(":")
        return getattr(import_module(module), attribute)


PERIODIC = [
    # Expiry of points, coins and gifts, and the purges `lealtad expire-points` does: once a day.
    Periodic("daily-expiry", "lealtad.notifications.tasks:daily_expiry", timedelta(days=1)),
    # E-mails and SMS whose task died with a killed worker get a new one (issue 16: every
    # minute, so a message held by a dead worker goes again about a lease after it died).
    Periodic("outbox-sweep", "lealtad.notifications.tasks:outbox_sweep", timedelta(minutes=1)),
    # K3: coin payments never confirmed release their holds.
    Periodic("coin-hold-expiry", "lealtad.coins.tasks:expire_holds", timedelta(minutes=1)),
    # I3: POS invoices past the merchant's wait limit can no longer be claimed.
    Periodic("invoice-expiry", "lealtad.invoices.tasks:expire_invoices", timedelta(minutes=10)),
    # F6: silent detractors whose automatic reply has not gone yet.
    Periodic("rating-auto-replies", "lealtad.ratings.tasks:auto_replies", timedelta(minutes=1)),
    # I4: webhook deliveries whose task died with a killed worker get a new one.
    Periodic("webhook-sweep", "lealtad.webhooks.tasks:sweep", timedelta(minutes=1)),
    # Issue 15: the console dashboard's daily roll-up, closed days and stale ones.
    Periodic("dashboard-rollup", "lealtad.console.tasks:dashboard_rollup", timedelta(hours=1)),
]


def tick(now=None, jobs=None) -> list[str]:
    """Enqueue every periodic job whose current period has not been taken yet; returns the
    names enqueued. Safe to call from any number of workers at once."""
    from lealtad.notifications.models import ScheduledRun

    now = now or timezone.now()
    started = []
    for job in PERIODIC if jobs is None else jobs:
        period = job.period(now)
        if ScheduledRun.objects.filter(job=job.name, period=period).exists():
            continue
        try:
            with transaction.atomic():
                ScheduledRun.objects.create(job=job.name, period=period, enqueued_at=now)
                job.task().enqueue()
        except IntegrityError:  # another worker took this period first
            continue
        except OperationalError as exc:  # SQLite busy: the next tick tries again
            log.warning("periodic job %s not enqueued yet: %s", job.name, exc)
            continue
        started.append(job.name)
    return started


# Issue 17: workers on several machines. Every lease (an e-mail's, an SMS's, a webhook
# delivery's) is written by one worker with its own clock and judged run out by another with
# its own, so the machines' clocks must agree to well within the leases' margin. The database's
# clock is the one every worker shares: each compares itself with it at start-up and at every
# scheduler tick, and a worker whose clock is off by more than WORKER_MAX_CLOCK_SKEW_SECONDS
# does not start, or stops (a supervisor restarts it, and it starts again once the clock is
# right).
local_time = time.time  # this machine's clock (a test moves it)


class ClockSkewed(Exception):
    pass


def clock_skew() -> float | None:
    """How many seconds this machine's clock is proven ahead of the database's (negative:
    behind), or None when there is no other clock (SQLite is on this machine). Proven: the
    database read its clock between our two readings, so only what lies outside that round
    trip counts; a slow answer never looks like a skew."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        before = local_time()
        cursor.execute("SELECT extract(epoch FROM clock_timestamp())")
        database = float(cursor.fetchone()[0])
        after = local_time()
    if before > database:
        return before - database
    if after < database:
        return after - database
    return 0.0


def check_clock() -> float | None:
    """Raise ClockSkewed when this machine's clock is off the database's by more than
    WORKER_MAX_CLOCK_SKEW_SECONDS (0: not checked); returns the skew."""
    limit = float(getattr(settings, "WORKER_MAX_CLOCK_SKEW_SECONDS", 2))
    if limit <= 0:
        return None
    skew = clock_skew()
    if skew is not None and abs(skew) > limit:
        raise ClockSkewed(
            f"this machine's clock is {abs(skew):.1f} s {'ahead of' if skew > 0 else 'behind'} "
            f"the database's (at most {limit:g} s: WORKER_MAX_CLOCK_SKEW_SECONDS). Leases taken "
            "by one worker are judged by the others' clocks: synchronise the clocks (NTP)"
        )
    return skew
