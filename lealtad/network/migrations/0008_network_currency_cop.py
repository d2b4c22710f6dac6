"""N4: the network's currency comes from NETWORK_CURRENCY (COP by default, the seeds' network).

The default network the system created ("Lealtad", by Network.default() or 0005) got the old
column default, USD, whatever the merchants' currency: it now takes NETWORK_CURRENCY."""

from django.conf import settings
from django.db import migrations, models

import lealtad.network.models


def fix_default_network(apps, schema_editor):
    Network = apps.get_model("network", "Network")
    Network.objects.filter(name="Lealtad", currency="USD").update(
        currency=settings.NETWORK_CURRENCY
    )


class Migration(migrations.Migration):
    dependencies = [
        ("network", "0007_loginfailure_by_address"),
    ]

    operations = [
        migrations.AlterField(
            model_name="network",
            name="currency",
            field=models.CharField(default=lealtad.network.models.network_currency, max_length=3),
        ),
        migrations.RunPython(fix_default_network, migrations.RunPython.noop),
    ]
