import os
import signal
import threading

from django.core.management.base import CommandError
from django.db import DatabaseError, close_old_connections, connection
from django_tasks_db.management.commands.db_worker import Command as DbWorker

from lealtad.notifications import engine

SCHEDULE_SECONDS = 10
IDLE_POLL_SECONDS = 0.2  # how often a worker looks for a periodic job whose period has begun


def _schedule_forever(stop: threading.Event, schedule: bool = True) -> None:
    """Every SCHEDULE_SECONDS: the clock checked against the database's (issue 17), then the
    periodic jobs whose period has begun enqueued (unless `schedule` is off: --no-schedule)."""
    while not stop.is_set():
        try:
            engine.check_clock()
            if schedule:
                engine.tick()
        except engine.ClockSkewed as exc:
            # Its leases would be misjudged: stop taking tasks (SIGTERM: the task at hand
            # finishes); a supervisor starts it again, and it starts once the clock is right.
            engine.log.error("the worker stops: %s", exc)
            stop.set()
            os.kill(os.getpid(), signal.SIGTERM)
        except Exception:  # a database hiccup: the next tick tries again
            engine.log.exception("the scheduler's tick failed")
        finally:
            close_old_connections()
        stop.wait(SCHEDULE_SECONDS)
    connection.close()


class Command(DbWorker):
    help = (
        "Run a task worker (M2): sends the outbox e-mails and runs the periodic jobs (daily "
        "expiry). Start as many as you like, on any machine that reaches the database; "
        "`lealtad serve` starts one unless --no-worker."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        # An idle worker looks for new tasks five times a second (django-tasks-db's default is
        # once a second): a webhook, a payment code or an e-mail leaves within ~0.2 s of its
        # commit, for one small indexed query per poll.
        parser.set_defaults(interval=IDLE_POLL_SECONDS)
        parser.add_argument(
            "--no-schedule",
            action="store_true",
            help="only run tasks; do not enqueue the periodic jobs from this worker",
        )

    def handle(self, *args, **options):
        no_schedule = options.pop("no_schedule")
        try:
            engine.check_clock()
        except engine.ClockSkewed as exc:
            raise CommandError(f"the worker does not start: {exc}") from None
        except DatabaseError:  # the database is away: the worker's loop meets it as before,
            pass  # and the clock is checked again every SCHEDULE_SECONDS
        if options.get("batch"):  # one pass: what is due now, then exit
            if not no_schedule:
                engine.tick()
            return super().handle(*args, **options)
        stop = threading.Event()
        thread = threading.Thread(
            target=_schedule_forever, args=(stop, not no_schedule), daemon=True
        )
        thread.start()
        try:
            return super().handle(*args, **options)
        finally:
            stop.set()
