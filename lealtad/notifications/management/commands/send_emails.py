import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from lealtad.notifications.actions import deliver


class Command(BaseCommand):
    help = "Send the customer e-mails waiting in the outbox (M1); --loop keeps doing it."

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
                if sent == 0:  # nothing left, or the mail server is down: wait
                    break
            if not options["loop"]:
                self.stdout.write(f"sent {total_sent} e-mails, {total_failed} failed")
                return
            close_old_connections()
            time.sleep(options["loop"])
