"""`lealtad rebuild-dashboard [--merchant ID] [--since YYYY-MM-DD]`: the dashboard's roll-up
computed again from the ledger (console.rollup.rebuild), every closed day."""

import datetime as dt

from django.core.management.base import BaseCommand

from lealtad.console import rollup
from lealtad.network.models import Merchant


class Command(BaseCommand):
    help = "Compute the console dashboard's daily roll-up again from the ledger."

    def add_arguments(self, parser):
        parser.add_argument("--merchant", help="one merchant's id (all when not given)")
        parser.add_argument(
            "--since", type=dt.date.fromisoformat, help="from this day (the first movement)"
        )

    def handle(self, *args, merchant=None, since=None, **options):
        merchants = Merchant.objects.all().order_by("name")
        if merchant:
            merchants = merchants.filter(pk=merchant)
        for shop in merchants:
            days = rollup.rebuild(shop, since)
            if options["verbosity"]:
                self.stdout.write(f"{shop.name}: {days} days")
