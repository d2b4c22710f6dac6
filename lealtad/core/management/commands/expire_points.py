from django.core.management.base import BaseCommand

from lealtad.api.actions import purge_expired
from lealtad.ledger.actions import expire_points
from lealtad.offers.actions import expire_gifts


class Command(BaseCommand):
    help = (
        "Daily maintenance (run it from cron): expire every points and coin lot past its date "
        "and every gift offer past its date, "
        "and purge idempotency keys older than 24 hours and stale login failures."
    )

    def handle(self, *args, **options):
        points = expire_points()
        gifts = expire_gifts()
        keys, failures = purge_expired()
        self.stdout.write(
            f"expired {points} points/coins and {gifts} gift offers; "
            f"purged {keys} idempotency keys and {failures} login failures"
        )
