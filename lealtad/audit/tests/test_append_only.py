"""Append-only, twice over: the ORM refuses to change or delete an entry, and so does the database
(a trigger on PostgreSQL and on SQLite), whatever SQL reaches it; the one sanctioned rewrite is
anonymisation's, inside `guard.redacting()`."""

from contextlib import contextmanager

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from lealtad.audit import actions as audit
from lealtad.audit import guard
from lealtad.audit.models import AppendOnly, AuditEntry

pytestmark = pytest.mark.django_db

TABLE = AuditEntry._meta.db_table


@contextmanager
def refused():
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        yield


@pytest.fixture
def entry():
    return audit.record(
        "points.adjust", merchant=None, target_type="transaction", target_id="t-1", after={"a": 1}
    )


def test_the_orm_refuses_to_change_or_delete_an_entry(entry):
    entry.action = "points.accrue"
    with pytest.raises(AppendOnly):
        entry.save()
    with pytest.raises(AppendOnly):
        entry.delete()
    with pytest.raises(AppendOnly):
        AuditEntry.objects.filter(pk=entry.pk).update(action="x")
    with pytest.raises(AppendOnly):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    assert AuditEntry.objects.get(pk=entry.pk).action == "points.adjust"


@pytest.mark.parametrize(
    "sql",
    [f"UPDATE {TABLE} SET action = 'x'", f"DELETE FROM {TABLE}"],
    ids=["update", "delete"],
)
def test_the_database_refuses_update_and_delete(entry, sql):
    with refused(), connection.cursor() as cursor:
        cursor.execute(sql)
    assert AuditEntry.objects.filter(pk=entry.pk, action="points.adjust").exists()


def test_postgresql_refuses_truncate_too(entry):
    if connection.vendor != "postgresql":
        pytest.skip("TRUNCATE is PostgreSQL's (SQLite has none)")
    with refused(), connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {TABLE}")
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_redacting_lets_an_update_through_and_only_an_update(entry):
    with transaction.atomic(), guard.redacting():
        AuditEntry.objects.filter(pk=entry.pk).redact(after={"a": "[redacted]"})
        with refused(), connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {TABLE}")
    assert AuditEntry.objects.get(pk=entry.pk).after == {"a": "[redacted]"}
    # The permission ended with the block.
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).redact(after={})


def test_an_entry_written_in_a_rolled_back_transaction_is_gone():
    count = AuditEntry.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        audit.record("points.adjust", merchant=None, now=timezone.now())
        raise RuntimeError
    assert AuditEntry.objects.count() == count
