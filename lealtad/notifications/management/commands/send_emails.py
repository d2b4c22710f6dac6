import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from lealtad.notifications.actions import deliver, outbox_state


class Command(BaseCommand):
    help = (
        "Send the customer e-mails waiting in the outbox (M1, M3); --loop keeps doing it. "
        "A failed e-mail is retried with a capped backoff until it is sent."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--loop", type=float, default=0, help="seconds between passes; 0: one pass and exit"
        )

    def handle(self, *args, **options):
        while True:
            total_sent = total_failed = 0
            while True:
                sent, failed = deliver()
                total_sent, total_failed = total_sent + sent, total_failed + failed
                if sent == 0:  # nothing due, or the mail server is down: wait
                    break
            if not options["loop"]:
                state = outbox_state()
                line = f"sent {total_sent} e-mails, {total_failed} failed"
                line += f"; waiting: {state.pending} new, {state.failing} to retry"
                if state.oldest_failing:
                    line += f" (failing since {state.oldest_failing.isoformat()})"
                self.stdout.write(line)
                return
            close_old_connections()
            time.sleep(options["loop"])
