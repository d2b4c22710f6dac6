from django.core.management.base import BaseCommand

from lealtad.network.models import Merchant
from lealtad.ratings import counters
from lealtad.ratings.models import Rating


class Command(BaseCommand):
    help = (
        "Recount the ratings inbox's day counters (F2/F7) from the ratings: after a bulk load "
        "written around the actions, or after a merchant's time zone changed. Safe to run at "
        "any time; the actions keep the counters right on their own."
    )

    def add_arguments(self, parser):
        parser.add_argument("--merchant", help="only this merchant's id")

    def handle(self, *args, **options):
        merchants = Merchant.objects.filter(pk__in=Rating.objects.values("merchant_id"))
        if options["merchant"]:
            merchants = merchants.filter(pk=options["merchant"])
        days = merchants_done = 0
        for merchant in merchants:
            days += counters.rebuild(merchant)
            merchants_done += 1
        self.stdout.write(f"{merchants_done} merchants, {days} day rows")
