"""Triggers that keep the dashboard's roll-up honest (console.models.StaleHour).

A movement or a registration written with a time more than an hour old (GRACE in
console.rollup: the roll-up closes a day an hour after its midnight), and any change to the
columns the dashboard counts of one already written (a late approval or rejection, a moved
date), records its merchant and UTC hour in the same transaction (an upsert that counts the
changes: see StaleHour.changes). The insert's condition is in the trigger's WHEN, so an
ordinary accrual (written with the time of now) runs no function at all.

Nothing deletes movements (entries protect them; the ledger is append-only) nor memberships, so
deletes are not watched: a test database's flush on SQLite deletes row by row, and a mark
written then would outlive its merchant.
"""

from django.db import migrations

PG_UP = """
CREATE OR REPLACE FUNCTION console_mark_stale() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.merchant_id IS NOT NULL THEN
        INSERT INTO console_stalehour AS s (merchant_id, hour, changes)
        VALUES (OLD.merchant_id, date_trunc('hour', OLD.created_at, 'UTC'), 1)
        ON CONFLICT (merchant_id, hour) DO UPDATE SET changes = s.changes + 1;
    END IF;
    IF NEW.merchant_id IS NOT NULL THEN
        INSERT INTO console_stalehour AS s (merchant_id, hour, changes)
        VALUES (NEW.merchant_id, date_trunc('hour', NEW.created_at, 'UTC'), 1)
        ON CONFLICT (merchant_id, hour) DO UPDATE SET changes = s.changes + 1;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER console_stale_txn_insert AFTER INSERT ON ledger_transaction FOR EACH ROW
    WHEN (NEW.merchant_id IS NOT NULL AND NEW.created_at < clock_timestamp() - interval '1 hour')
    EXECUTE FUNCTION console_mark_stale();
CREATE TRIGGER console_stale_txn_update AFTER UPDATE ON ledger_transaction FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.points IS DISTINCT FROM NEW.points
        OR OLD.amount IS DISTINCT FROM NEW.amount OR OLD.kind IS DISTINCT FROM NEW.kind
        OR OLD.branch_id IS DISTINCT FROM NEW.branch_id
        OR OLD.merchant_id IS DISTINCT FROM NEW.merchant_id
        OR OLD.created_at IS DISTINCT FROM NEW.created_at)
    EXECUTE FUNCTION console_mark_stale();

CREATE TRIGGER console_stale_member_insert AFTER INSERT ON customers_membership FOR EACH ROW
    WHEN (NEW.created_at < clock_timestamp() - interval '1 hour')
    EXECUTE FUNCTION console_mark_stale();
CREATE TRIGGER console_stale_member_update AFTER UPDATE ON customers_membership FOR EACH ROW
    WHEN (OLD.registered_branch_id IS DISTINCT FROM NEW.registered_branch_id
        OR OLD.merchant_id IS DISTINCT FROM NEW.merchant_id
        OR OLD.created_at IS DISTINCT FROM NEW.created_at)
    EXECUTE FUNCTION console_mark_stale();
"""
PG_DOWN = """
DROP TRIGGER IF EXISTS console_stale_txn_insert ON ledger_transaction;
DROP TRIGGER IF EXISTS console_stale_txn_update ON ledger_transaction;
DROP TRIGGER IF EXISTS console_stale_member_insert ON customers_membership;
DROP TRIGGER IF EXISTS console_stale_member_update ON customers_membership;
DROP FUNCTION IF EXISTS console_mark_stale();
"""

# SQLite keeps Django's datetimes as UTC text, 'YYYY-MM-DD HH:MM:SS[.ffffff]', which compares
# in time order as text.
_MARK = (
    "INSERT INTO console_stalehour (merchant_id, hour, changes) "
    "SELECT {row}.merchant_id, strftime('%Y-%m-%d %H:00:00', {row}.created_at), 1 "
    "WHERE {row}.merchant_id IS NOT NULL "
    "ON CONFLICT (merchant_id, hour) DO UPDATE SET changes = changes + 1;"
)
_RECENT = "strftime('%Y-%m-%d %H:%M:%f', 'now', '-1 hour')"
_TXN_CHANGED = (
    "OLD.status IS NOT NEW.status OR OLD.points IS NOT NEW.points "
    "OR OLD.amount IS NOT NEW.amount OR OLD.kind IS NOT NEW.kind "
    "OR OLD.branch_id IS NOT NEW.branch_id OR OLD.merchant_id IS NOT NEW.merchant_id "
    "OR OLD.created_at IS NOT NEW.created_at"
)
_MEMBER_CHANGED = (
    "OLD.registered_branch_id IS NOT NEW.registered_branch_id "
    "OR OLD.merchant_id IS NOT NEW.merchant_id OR OLD.created_at IS NOT NEW.created_at"
)
SQLITE_TRIGGERS = {
    "console_stale_txn_insert": (
        "AFTER INSERT ON ledger_transaction",
        f"NEW.merchant_id IS NOT NULL AND NEW.created_at < {_RECENT}",
        ["NEW"],
    ),
    "console_stale_txn_update": ("AFTER UPDATE ON ledger_transaction", _TXN_CHANGED, ["OLD", "NEW"]),
    "console_stale_member_insert": (
        "AFTER INSERT ON customers_membership",
        f"NEW.created_at < {_RECENT}",
        ["NEW"],
    ),
    "console_stale_member_update": (
        "AFTER UPDATE ON customers_membership",
        _MEMBER_CHANGED,
        ["OLD", "NEW"],
    ),
}


def _sqlite_up() -> list[str]:
    out = []
    for name, (when, condition, rows) in SQLITE_TRIGGERS.items():
        where = f" WHEN {condition}" if condition else ""
        body = " ".join(_MARK.format(row=row) for row in rows)
        out.append(f"CREATE TRIGGER {name} {when} FOR EACH ROW{where} BEGIN {body} END;")
    return out


def up(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = [PG_UP] if vendor == "postgresql" else _sqlite_up() if vendor == "sqlite" else []
    for sql in statements:
        schema_editor.execute(sql, params=None)


def down(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_DOWN, params=None)
    elif vendor == "sqlite":
        for name in SQLITE_TRIGGERS:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name};", params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("console", "0001_dashboard_rollup"),
        ("ledger", "0009_coin_holds"),
        ("customers", "0008_contact_codes_on_the_sms_outbox"),
    ]
    operations = [migrations.RunPython(up, down)]
