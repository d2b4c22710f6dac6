"""The day counters of the ratings already written (ratings.counters keeps them from now on).
With historical models, so that this migration stays what it was when the counters change."""

import zoneinfo

from django.db import migrations
from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import TruncDate


def fill(apps, schema_editor):
    Merchant = apps.get_model("network", "Merchant")
    Rating = apps.get_model("ratings", "Rating")
    Message = apps.get_model("ratings", "Message")
    RatingDay = apps.get_model("ratings", "RatingDay")
    unread_messages = Message.objects.filter(
        rating=OuterRef("pk"), author="customer", read_at__isnull=True
    )
    unread = (Q(comment_read_at__isnull=True) & ~Q(comment="")) | Q(Exists(unread_messages))
    for merchant in Merchant.objects.filter(pk__in=Rating.objects.values("merchant_id")):
        tz = zoneinfo.ZoneInfo(merchant.timezone)
        days = {}
        grouped = (
            Rating.objects.filter(merchant=merchant)
            .annotate(day=TruncDate("created_at", tzinfo=tz))
            .values("branch_id", "day")
            .annotate(
                ratings=Count("pk"),
                comments=Count("pk", filter=~Q(comment="")),
                unread=Count("pk", filter=unread),
                **{f"score_{n}": Count("pk", filter=Q(score=n)) for n in range(1, 11)},
            )
            .order_by()
        )
        for found in grouped:
            key = (found.pop("branch_id"), found.pop("day"))
            days[key] = RatingDay(merchant=merchant, branch_id=key[0], day=key[1], **found)
        replies = (
            Message.objects.filter(rating__merchant=merchant, author="merchant")
            .annotate(day=TruncDate("rating__created_at", tzinfo=tz))
            .values("rating__branch_id", "day")
            .annotate(n=Count("pk"))
            .order_by()
        )
        for found in replies:
            days[(found["rating__branch_id"], found["day"])].replies = found["n"]
        RatingDay.objects.bulk_create(days.values(), batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [("ratings", "0003_rating_day")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
