import sys

from django.core.management.base import BaseCommand

from lealtad.ledger.check import check_ledger
from lealtad.ledger.identity import coin_identity


class Command(BaseCommand):
    help = (
        "Prove balance = sum of entries = sum of open lots for every account, and the coins' "
        "settlement identity: issued + converted - accepted - expired - donated - reversed = "
        "available + held in every wallet."
    )

    def handle(self, *args, **options):
        problems = check_ledger() + coin_identity()
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            self.stderr.write(f"ledger-check: {len(problems)} problem(s), see above")
            sys.exit(1)
        self.stdout.write(
            "ledger-check: every account agrees, and the coins' settlement identity holds"
        )
