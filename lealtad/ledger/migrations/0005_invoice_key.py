"""Invoice numbers get one normal form (ledger.invoices.invoice_key) in their own column, and the
one-invoice-per-merchant constraint compares it, leaving rejected accruals out.

The backfill keys every accrual that still stands. Where the old, case-sensitive constraint let
one invoice in twice ("F-1001" and "f-1001"), the first accrual keeps the key and the later ones
keep only their number as typed: their points stay where they are, and the invoice is not taken
a third time.
"""

from django.db import migrations, models

from lealtad.ledger.invoices import invoice_key


def backfill(apps, schema_editor):
    Transaction = apps.get_model("ledger", "Transaction")
    taken = set()
    rows = (
        Transaction.objects.filter(kind="accrual", invoice_number__isnull=False)
        .exclude(status="rejected")
        .order_by("created_at", "pk")
        .values_list("pk", "merchant_id", "invoice_number")
        .iterator(chunk_size=2000)
    )
    batch = []
    for pk, merchant_id, number in rows:
        key = invoice_key(number)
        if key is None or (merchant_id, key) in taken:
            continue
        taken.add((merchant_id, key))
        batch.append(Transaction(pk=pk, invoice_key=key))
        if len(batch) >= 2000:
            Transaction.objects.bulk_update(batch, ["invoice_key"])
            batch = []
    if batch:
        Transaction.objects.bulk_update(batch, ["invoice_key"])


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0004_report_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="transaction",
            name="invoice_key",
            field=models.CharField(max_length=64, null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
        migrations.RemoveConstraint(
            model_name="transaction",
            name="transaction_unique_invoice",
        ),
        migrations.AddConstraint(
            model_name="transaction",
            constraint=models.UniqueConstraint(
                condition=models.Q(("invoice_key__isnull", False), ("kind", "accrual"))
                & ~models.Q(status="rejected"),
                fields=("merchant", "invoice_key"),
                name="transaction_unique_invoice",
            ),
        ),
    ]
