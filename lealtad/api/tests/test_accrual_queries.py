"""Issue 15: the statements of one `POST /api/v1/accruals`, exactly, on SQLite and PostgreSQL. The
hot path of the network: a statement more is a round trip more on every purchase, so a change
that adds one must say so here.

Each statement is named by its verb and its first table, so that a failure shows which one came
or went, not only how many."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lealtad.api.tests.test_api import registered
from lealtad.ledger.check import check_ledger
from lealtad.ledger.models import Entry, Lot, Transaction
from lealtad.notifications.models import OutgoingEmail

pytestmark = pytest.mark.django_db

POSTGRES = connection.vendor == "postgresql"


def named(sql: str) -> str:
    """'SELECT network_apikey', 'WITH ledger_account', 'SAVEPOINT' …"""
    verb = sql.split(None, 1)[0].upper()
    table = re.search(r'(?:FROM|INTO|UPDATE|JOIN)\s+"?([a-z_]+)"?', sql, re.IGNORECASE)
    if verb in ("SAVEPOINT", "RELEASE", "BEGIN", "COMMIT", "ROLLBACK"):
        return verb
    if "pg_advisory_xact_lock" in sql:
        return "SELECT pg_advisory_xact_lock"
    return f"{verb} {table.group(1)}" if table else verb


def statements_of(api, body) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        response = api.post("/accruals", body)
    assert response.status_code == 201, response.content
    return [named(q["sql"]) for q in ctx.captured_queries]


# The API key is read on every request (a revoked key is refused at once); its last use was
# written by the first request, within the minute. "No promotion runs today" was learnt by the
# first request too. The test's own transaction makes the accrual's atomic() a savepoint pair.
KEY_AND_MEMBER = ["SELECT network_apikey", "SELECT customers_membership"]

# PostgreSQL: the account's UPDATE … RETURNING, the transaction, its lot and entry in one
# statement (ledger.post_credit_at_once, a CTE on ledger_account); the webhook subscribers,
# event, deliveries and task in one more (webhooks.events._write_at_once), written or not.
POSTGRES_PLAIN = [
    *KEY_AND_MEMBER,
    "SAVEPOINT",
    "SELECT program_fraudrule",  # the merchant's fraud rules (none: nothing judged)
    "WITH ledger_account",  # lock + balances + transaction + lot + entry + audit entry
    "WITH webhooks_endpoint",  # the webhook event, when an endpoint subscribes
    "RELEASE",
]
# SQLite: the portable ORM path, a statement each.
SQLITE_PLAIN = [
    *KEY_AND_MEMBER,
    "SAVEPOINT",
    "SELECT program_fraudrule",
    "UPDATE ledger_account",  # UPDATE … RETURNING: the balances
    "INSERT ledger_transaction",
    "INSERT ledger_lot",
    "INSERT ledger_entry",
    "INSERT audit_auditentry",  # issue 16: the audit trail (in the WITH on PostgreSQL)
    "SELECT webhooks_endpoint",  # the subscribers: none, so nothing more is written
    "RELEASE",
]


@pytest.fixture
def silent_shop(alice_shop):
    """Sends no rating invitation (so the e-mail rows are not counted here; see below)."""
    merchant = alice_shop.merchant
    merchant.rating_invite = False
    merchant.save(update_fields=["rating_invite"])
    return alice_shop


def test_an_accrual_without_invoice_number(silent_shop, pos_api):
    customer = registered(pos_api)
    pos_api.post("/accruals", {"customer_id": customer["id"], "amount": "1000"})
    names = statements_of(pos_api, {"customer_id": customer["id"], "amount": "2000"})
    assert names == (POSTGRES_PLAIN if POSTGRES else SQLITE_PLAIN)
    assert Transaction.objects.filter(customer_id=customer["id"]).count() == 2
    assert check_ledger() == []


def test_an_accrual_with_an_invoice_number(silent_shop, pos_api):
    customer = registered(pos_api)
    pos_api.post("/accruals", {"customer_id": customer["id"], "amount": "1000"})
    body = {"customer_id": customer["id"], "amount": "2000", "invoice_number": "F-77"}
    names = statements_of(pos_api, body)
    if POSTGRES:
        # The number's advisory lock (lock_number); whether a POS invoice waits under it is
        # answered by the ledger write's own statement, so no SELECT of invoices_invoice.
        expected = POSTGRES_PLAIN.copy()
        expected.insert(3, "SELECT pg_advisory_xact_lock")
    else:
        # SQLite: no advisory lock (one writer at a time); the waiting invoice is looked for.
        expected = SQLITE_PLAIN.copy()
        expected.insert(-1, "SELECT invoices_invoice")
    assert names == expected
    txn = Transaction.objects.get(invoice_number="F-77")
    assert (txn.points, txn.balance_after) == (2, 3)
    lot = Lot.objects.get(transaction=txn)
    assert (lot.points, lot.remaining, lot.status) == (2, 2, "active")
    assert Entry.objects.get(transaction=txn).lot_id == lot.pk
    assert check_ledger() == []


def test_an_accrual_with_a_rating_invitation(alice_shop, pos_api):
    """A customer with an e-mail at a merchant that invites: the invitation and its send task."""
    merchant = alice_shop.merchant
    merchant.rating_invite = True
    merchant.save(update_fields=["rating_invite"])
    customer = registered(pos_api)
    pos_api.post("/accruals", {"customer_id": customer["id"], "amount": "1000"})
    before = OutgoingEmail.objects.count()
    names = statements_of(pos_api, {"customer_id": customer["id"], "amount": "2000"})
    mail = ["INSERT notifications_outgoingemail", "INSERT django_tasks_database_dbtaskresult"]
    plain = POSTGRES_PLAIN if POSTGRES else SQLITE_PLAIN
    assert names == plain[:-2] + mail + plain[-2:]
    assert OutgoingEmail.objects.count() == before + 1
