from django.core.management.base import BaseCommand

from lealtad.notifications.tasks import daily_maintenance


class Command(BaseCommand):
    help = (
        "Daily maintenance, now: expire every points and coin lot past its date and every gift "
        "offer past its date, and purge idempotency keys older than 24 hours and stale login "
        "failures. The task workers already run it once a day (docs/tasks.md); no cron needed."
    )

    def handle(self, *args, **options):
        self.stdout.write(daily_maintenance())
