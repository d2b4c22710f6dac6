# The contact-change mobile codes were written to ContactCodeSms, waiting for an SMS channel;
# they now go through the SMS outbox (notifications.OutgoingSms, sent by the task worker). The
# codes of changes still waiting and not expired move there (the outbox sweep gives them their
# send task within 10 minutes); the rest could confirm nothing and go with the table.

from django.db import migrations
from django.utils import timezone


def move_waiting_codes(apps, schema_editor):
    ContactCodeSms = apps.get_model("customers", "ContactCodeSms")
    OutgoingSms = apps.get_model("notifications", "OutgoingSms")
    waiting = ContactCodeSms.objects.filter(
        sent_at__isnull=True, change__state="pending", change__expires_at__gt=timezone.now()
    ).select_related("change")
    OutgoingSms.objects.bulk_create(
        OutgoingSms(
            merchant_id=row.change.merchant_id,
            customer_id=row.change.customer_id,
            purpose="contact-code",
            to=row.to,
            body=row.body,
            created_at=row.created_at,
        )
        for row in waiting
    )


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0007_renormalise_documents'),
        ('notifications', '0005_outgoing_sms'),
    ]

    operations = [
        migrations.RunPython(move_waiting_codes, migrations.RunPython.noop, elidable=True),
        migrations.RemoveIndex(
            model_name='contactcodesms',
            name='contact_sms_unsent',
        ),
        migrations.DeleteModel(
            name='ContactCodeSms',
        ),
    ]
