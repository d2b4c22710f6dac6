"""The console's reports (D1, D2) read a merchant's movements by date: an index on
(merchant, created_at).

On PostgreSQL it carries the columns the dashboard sums (INCLUDE), so a year of a merchant's
movements is read from the index alone (an index-only scan, see docs/benchmark.md), and it is
built CONCURRENTLY: accruals keep writing while it builds on a large table. Both are
PostgreSQL's own, so the index is SQL here rather than in Transaction.Meta (Django would warn
that SQLite has no INCLUDE on every command); SQLite gets the plain two-column index.
"""

from django.db import migrations

NAME = "txn_merchant_created_idx"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {NAME} ON ledger_transaction "
            "(merchant_id, created_at) INCLUDE (kind, status, points, amount, branch_id)"
        )
    else:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {NAME} ON ledger_transaction (merchant_id, created_at)"
        )


def drop(apps, schema_editor):
    concurrently = "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(f"DROP INDEX {concurrently}IF EXISTS {NAME}")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [("ledger", "0003_entries_append_only")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
