"""Idempotency keys under concurrency: real threads against a real PostgreSQL."""

import json
import threading
import time

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from lealtad.core import testing
from lealtad.ledger.check import check_ledger
from lealtad.ledger.models import Account, Entry, Transaction

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason="needs PostgreSQL (advisory locks): set DATABASE_URL=postgres://… to run it",
    ),
    pytest.mark.django_db(transaction=True),
]


def _dsn():
    """The test database, for connections of our own beside Django's."""
    connection.ensure_connection()
    return connection.connection.info.dsn


@pytest.fixture
def shop():
    return testing.make_merchant(point_value="1")


@pytest.fixture
def member(shop):
    return testing.make_customer(shop).membership


def accrue(shop, member, key, amount="5000"):
    response = Client().post(
        "/api/v1/accruals",
        {"customer_id": str(member.customer_id), "amount": amount},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {shop.api_key}",
        HTTP_IDEMPOTENCY_KEY=key,
    )
    connection.close()
    return response


def blocked_backends(cursor) -> list[int]:
    cursor.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
    )
    return [row[0] for row in cursor.fetchall()]


def wait_for(condition, seconds=20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.05)
    pytest.fail("timed out waiting")


def test_a_duplicate_while_the_first_runs_is_409_and_the_work_is_done_once(shop, member):
    results = {}
    with psycopg.connect(_dsn(), autocommit=False) as holder, holder.cursor() as cursor:
        # The first request blocks on the account row this transaction holds, with its key held.
        cursor.execute(
            f"SELECT 1 FROM {Account._meta.db_table} WHERE id = %s FOR UPDATE",
            [member.account_id],
        )
        first = threading.Thread(target=lambda: results.update(first=accrue(shop, member, "k")))
        first.start()
        with psycopg.connect(_dsn(), autocommit=True) as watcher, watcher.cursor() as watch:
            wait_for(lambda: blocked_backends(watch))
        duplicate = accrue(shop, member, "k")
        assert duplicate.status_code == 409
        assert duplicate.json()["code"] == "idempotency_in_progress"
        holder.rollback()
        first.join(timeout=30)
    assert results["first"].status_code == 201, results["first"].content
    replay = accrue(shop, member, "k")
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    assert replay.json() == results["first"].json()
    assert Transaction.objects.filter(kind="accrual").count() == 1
    assert check_ledger() == []


def test_ten_simultaneous_requests_with_one_key_accrue_once(shop, member):
    barrier = threading.Barrier(10)
    responses = [None] * 10

    def send(i):
        barrier.wait(timeout=30)
        responses[i] = accrue(shop, member, "burst")

    threads = [threading.Thread(target=send, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    done = [r for r in responses if r.status_code == 201 and "Idempotent-Replayed" not in r]
    replayed = [r for r in responses if r.status_code == 201 and "Idempotent-Replayed" in r]
    busy = [r for r in responses if r.status_code == 409]
    assert len(done) == 1, [(r.status_code, r.content) for r in responses]
    assert len(done) + len(replayed) + len(busy) == 10
    assert all(json.loads(r.content) == json.loads(done[0].content) for r in replayed)
    assert all(r.json()["code"] == "idempotency_in_progress" for r in busy)
    assert Transaction.objects.filter(kind="accrual").count() == 1
    assert Entry.objects.filter(transaction__kind="accrual").count() == 1
    assert check_ledger() == []


def donate(customer, cause, key, coins=100):
    from lealtad.app.testing import bearer

    response = Client().post(
        "/api/v1/me/donations",
        {"cause_id": cause.pk, "coins": coins},
        content_type="application/json",
        headers={**bearer(customer), "Idempotency-Key": key},
    )
    connection.close()
    return response


def test_a_customers_duplicate_while_the_first_runs_is_409_and_gives_once():
    """The customer's own API (/me/donations): the same lock, the same answers."""
    from lealtad.coins import causes
    from lealtad.coins.actions import wallet_of
    from lealtad.coins.models import Donation
    from lealtad.coins.tests.promo_helpers import acceptor, customer_with_coins

    ana = customer_with_coins(acceptor(), amount=300)
    trees = causes.create_cause("Árboles")
    results = {}
    with psycopg.connect(_dsn(), autocommit=False) as holder, holder.cursor() as cursor:
        # The first donation blocks on the wallet row this transaction holds, its key held.
        cursor.execute(f"SELECT 1 FROM {Account._meta.db_table} FOR UPDATE")
        first = threading.Thread(target=lambda: results.update(first=donate(ana, trees, "d")))
        first.start()
        with psycopg.connect(_dsn(), autocommit=True) as watcher, watcher.cursor() as watch:
            wait_for(lambda: blocked_backends(watch))
        duplicate = donate(ana, trees, "d")
        assert duplicate.status_code == 409
        assert duplicate.json()["code"] == "idempotency_in_progress"
        holder.rollback()
        first.join(timeout=30)
    assert results["first"].status_code == 201, results["first"].content
    replay = donate(ana, trees, "d")
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    assert replay.json() == results["first"].json()
    assert Donation.objects.count() == 1 and wallet_of(ana)["available"] == 200
    assert check_ledger() == []
