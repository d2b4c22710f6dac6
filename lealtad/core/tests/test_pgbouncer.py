"""PgBouncer in transaction pooling mode (issue 17), Debian's pgbouncer in front of the test
database: what breaks through it (prepared statements, cursors held between transactions,
session settings), what does not (the time zone, which PgBouncer tracks), and the application
itself, a real `lealtad serve` with DB_TRANSACTION_POOLING=true and more threads than the pool's
two server connections: accruals with Idempotency-Key from many threads at once, a redemption, a
coin payment, the customer lookup, the CSV exports and the audit trail's actors."""

import datetime as dt
import json
import os
import random
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from lealtad.audit import guard
from lealtad.audit.models import AuditEntry
from lealtad.coins import qr
from lealtad.console import reports
from lealtad.core import testing
from lealtad.core.tests.crash_harness import Server, port_is_free
from lealtad.core.tests.pgbouncer_harness import PGBOUNCER, Bouncer
from lealtad.ledger.check import check_ledger
from lealtad.ledger.models import Account, AccountKind, Transaction
from lealtad.network.actions import issue_api_key

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason="needs PostgreSQL: set DATABASE_URL=postgres://… to run it",
    ),
    pytest.mark.skipif(
        PGBOUNCER is None, reason="needs pgbouncer (Debian: apt-get install pgbouncer)"
    ),
    # Most tests here speak to the test database only through PgBouncer, outside Django: they
    # need it created (django_db_setup), not emptied after them (transactional_db costs a flush).
]
BOUNCER_PORTS, HTTP_PORTS = range(6441, 6450), range(8710, 8720)


def _database() -> str:
    return connection.settings_dict["NAME"]


@pytest.fixture
def bouncer(django_db_setup):
    started = Bouncer.started(BOUNCER_PORTS)
    try:
        yield started
    finally:
        started.stop()


def _connect(dsn):
    return psycopg.connect(dsn, autocommit=True)


def _pid(conn) -> int:
    return conn.execute("SELECT pg_backend_pid()").fetchone()[0]


# --- what transaction pooling does to a session ---------------------------------------------------


@pytest.mark.parametrize("prepare", [True, False], ids=["prepared", "not-prepared"])
def test_a_prepared_statement_stays_on_the_server_connection_it_was_made_on(bouncer, prepare):
    """The failure DB_TRANSACTION_POOLING's DB_PREPARED_STATEMENTS=false prevents: the lookup
    prepares its query (`prepare=True`, customers/lookup.py), psycopg prepares what a connection
    runs twice (prepare_threshold=2); PgBouncer 1.18 gives the client's next transaction to
    another server connection, where that statement does not exist."""
    dsn = bouncer.dsn(_database())
    sql = "SELECT count(*) FROM customers_customer WHERE document_number = %s"
    with _connect(dsn) as till, _connect(dsn) as other:
        till.execute(sql, ["1"], prepare=prepare)  # on the pool's one server connection
        with other.transaction():
            other.execute("SELECT 1")  # which the other client now holds
            if prepare:
                with pytest.raises(psycopg.errors.InvalidSqlStatementName, match="_pg3_0"):
                    till.execute(sql, ["1"], prepare=True)
            else:
                assert till.execute(sql, ["1"], prepare=False).fetchone() == (0,)


@pytest.mark.parametrize("inside", [False, True], ids=["with-hold", "in-a-transaction"])
def test_a_cursor_lives_only_as_long_as_its_transaction(bouncer, inside):
    """Django's `.iterator()` outside a transaction declares its cursor WITH HOLD (what
    DISABLE_SERVER_SIDE_CURSORS turns off): its next FETCH may reach another server connection.
    Declared inside a transaction (the CSV exports, console/reports.py) it cannot."""
    dsn = bouncer.dsn(_database())
    with _connect(dsn) as export, _connect(dsn) as other:
        query = "SELECT g FROM generate_series(1, 10) g"
        if inside:
            with export.transaction(), export.cursor("_django_curs_1", withhold=False) as rows:
                rows.execute(query)
                assert [r[0] for r in rows.fetchmany(5)] == [1, 2, 3, 4, 5]
                with other.transaction():  # another server connection: this one is held
                    other.execute("SELECT 1")
                    assert [r[0] for r in rows.fetchmany(5)] == [6, 7, 8, 9, 10]
            return
        rows = export.cursor("_django_curs_1", withhold=True)
        rows.execute(query)
        assert [r[0] for r in rows.fetchmany(5)] == [1, 2, 3, 4, 5]
        with other.transaction():
            other.execute("SELECT 1")
            with pytest.raises(psycopg.errors.InvalidCursorName):
                rows.fetchmany(5)


def test_session_settings_stay_on_the_server_connection_but_the_time_zone_is_tracked(bouncer):
    """A session-wide set_config reaches the next client of that server connection (why the
    audit trail's flush permit is transaction-local and backup refuses to go through the
    pooler); the TimeZone Django sets on each new connection does not, PgBouncer tracks it and
    sets it again when it hands the server connection to another client."""
    dsn = bouncer.dsn(_database())
    with _connect(dsn) as first, _connect(dsn) as second:
        first.execute("SELECT set_config('lealtad.audit_flush', 'on', false)")
        assert _pid(first) == _pid(second)  # one server connection, two clients
        assert second.execute("SELECT current_setting('lealtad.audit_flush', true)").fetchone()[
            0
        ] == ("on")
        second.execute("SELECT set_config('lealtad.audit_flush', '', false)")

        first.execute("SET TIME ZONE 'UTC'")  # what Django runs on a new connection
        second.execute("SET TIME ZONE 'Asia/Tokyo'")
        for _ in range(3):
            assert first.execute("SHOW TimeZone").fetchone()[0] == "UTC"
            assert second.execute("SHOW TimeZone").fetchone()[0] == "Asia/Tokyo"
            assert _pid(first) == _pid(second)
        moment = first.execute("SELECT '2026-01-01 12:00:00+00'::timestamptz::text").fetchone()
        assert moment[0] == "2026-01-01 12:00:00+00"


@pytest.mark.django_db
def test_the_export_streams_through_a_cursor_of_its_transaction_with_them_disabled():
    """DB_TRANSACTION_POOLING sets DISABLE_SERVER_SIDE_CURSORS; the export still streams (a
    cursor declared inside its transaction, not a client-side copy of the whole result)."""
    shop = testing.make_merchant()
    testing.make_customer(shop)
    before = connection.settings_dict.get("DISABLE_SERVER_SIDE_CURSORS")
    connection.settings_dict["DISABLE_SERVER_SIDE_CURSORS"] = True
    try:
        _header, rows = reports.customer_rows(shop.merchant)
        first = next(rows)
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_cursors WHERE name LIKE '_django_curs_%%'")
            assert cursor.fetchone()[0] == 1
        assert first and list(rows) == []
    finally:
        connection.settings_dict["DISABLE_SERVER_SIDE_CURSORS"] = before


# --- the application through PgBouncer ------------------------------------------------------------


def _send(base, method, path, *, token=None, body=None, key=None, agent="", cookie=None):
    """(status, body bytes) of one request; retried while the key is in progress (409)."""
    headers = {"User-Agent": agent or "lealtad-test"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if key:
        headers["Idempotency-Key"] = key
    if cookie:
        headers["Cookie"] = cookie
    data = None
    if body is not None:
        headers["Content-Type"] = "application/json"
        data = json.dumps(body).encode()
    deadline = time.monotonic() + 30
    while True:
        request = urllib.request.Request(base + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                return reply.status, reply.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        if status == 409 and b"idempotency_in_progress" in raw and time.monotonic() < deadline:
            time.sleep(0.02)
            continue
        return status, raw


@pytest.fixture
def served(tmp_path):
    """A private PgBouncer (2 server connections) and `lealtad serve` through it: 3 workers × 4
    threads, each thread a client connection of its own (DB_CONN_MAX_AGE)."""
    http_port = next((port for port in HTTP_PORTS if port_is_free(port)), None)
    if http_port is None:
        pytest.skip(f"ports {HTTP_PORTS.start}–{HTTP_PORTS.stop - 1} are all taken")
    pool = server = None
    try:
        pool = Bouncer.started(BOUNCER_PORTS, pool_size=2)
        (tmp_path / "static").mkdir()
        env = {
            **os.environ,
            "DATABASE_URL": pool.dsn(_database()),
            "DB_TRANSACTION_POOLING": "true",
            "DB_PREPARED_STATEMENTS": "",  # the default: off behind the pooler
            "PGBOUNCER_PREPARED_STATEMENTS": "",
            "DB_CONN_MAX_AGE": "60",
            "DEBUG": "false",
            "SECRET_KEY": settings.SECRET_KEY,  # the sessions and QR codes made here
            "SECURE_SSL_REDIRECT": "false",
            "ALLOWED_HOSTS": "127.0.0.1",
            "STATIC_ROOT": str(tmp_path / "static"),
            "API_RATE_LIMIT": "0",
            "EMAIL_URL": "console://",
            "WEB_THREADS": "4",
            "CACHE_URL": "",
        }
        server = Server(env, http_port, workers=3, log=tmp_path / "serve.log")
        server.start()
        yield pool, f"http://127.0.0.1:{http_port}", tmp_path / "serve.log"
    finally:
        if server is not None:
            server.stop()
        if pool is not None:
            pool.stop()


@pytest.mark.django_db(transaction=True)
def test_the_api_through_pgbouncer_in_transaction_mode(served):
    pool, base, log = served
    shop = testing.make_merchant(point_value="1")
    second_key = issue_api_key(shop.merchant, shop.branch, name="Caja 2")
    keys = {"POS": shop.api_key, "Caja 2": second_key}
    members = [testing.make_customer(shop).membership for _ in range(4)]
    reward = testing.make_reward(shop, cost=100)
    issuer = testing.make_merchant(coin_issuer=True, cashback_rate=Decimal("0.03"))
    acceptor = testing.make_merchant(coin_acceptor=True)
    web = Client()
    web.force_login(shop.admin)
    cookie = f"{settings.SESSION_COOKIE_NAME}={web.cookies[settings.SESSION_COOKIE_NAME].value}"

    # Accruals, each key sent twice from two threads, two credentials interleaved, with
    # lookups and both exports running among them: 12 threads on 2 server connections.
    accruals = []
    for n in range(40):
        member = members[n % len(members)]
        name = random.choice(list(keys))
        body = {"customer_id": str(member.customer_id), "amount": f"{1000 + n}.00"}
        accruals.append((f"acc-{n}", name, body))
    work = [("accrual", item) for item in accruals * 2]
    work += [("lookup", member) for member in members * 4]
    work += [("export", "customers"), ("export", "movements")]
    random.shuffle(work)
    today = reports.merchant_today(shop.merchant)
    answers: dict[str, list] = {}
    lock = threading.Lock()

    def run(job):
        kind, item = job
        if kind == "accrual":
            key, name, body = item
            status, raw = _send(
                base,
                "POST",
                "/api/v1/accruals",
                token=keys[name],
                body=body,
                key=key,
                agent=f"till/{key}",
            )
            with lock:
                answers.setdefault(key, []).append((status, raw))
            return kind, status, raw
        if kind == "lookup":
            document = item.customer.document_number
            status, raw = _send(base, "GET", f"/api/v1/customers?q={document}", token=shop.api_key)
            assert status == 200, raw
            results = json.loads(raw)["results"]
            assert [r["id"] for r in results] == [str(item.customer_id)]
            return kind, status, raw
        period = f"?from={today - dt.timedelta(days=1)}&to={today}" if item == "movements" else ""
        status, raw = _send(base, "GET", f"/console/exports/{item}.csv{period}", cookie=cookie)
        assert status == 200, raw[:300]
        return kind, status, raw

    with ThreadPoolExecutor(max_workers=12) as threads:
        done = list(threads.map(run, work))
    assert not [d for d in done if d[1] >= 500], log.read_text()[-3000:]

    # Every key's two answers are the same 201, and the work was done once.
    for key, _name, _body in accruals:
        (first_status, first), (second_status, second) = answers[key]
        assert first_status == second_status == 201, (first, second)
        assert json.loads(first)["id"] == json.loads(second)["id"]
    ids = {json.loads(answers[key][0][1])["id"] for key, _n, _b in accruals}
    made = Transaction.objects.filter(merchant=shop.merchant, kind="accrual")
    assert made.count() == len(accruals) and set(map(str, made.values_list("id", flat=True))) == ids
    points = {str(m.customer_id): 0 for m in members}
    for key, _name, body in accruals:
        points[body["customer_id"]] += json.loads(answers[key][0][1])["points"]
    for member in members:
        account = Account.objects.get(pk=member.account_id)
        assert account.balance == points[str(member.customer_id)] > 0

    # The audit trail names the credential and the till of each accrual, however interleaved.
    for key, name, _body in accruals:
        txn = json.loads(answers[key][0][1])["id"]
        entry = AuditEntry.objects.get(action="points.accrue", target_id=txn)
        assert (entry.actor_name, entry.user_agent) == (name, f"till/{key}")

    # The lookup (not prepared behind the pooler) reads the balances right.
    for member in members:
        status, raw = _send(
            base,
            "GET",
            f"/api/v1/customers?q={member.customer.document_number}",
            token=shop.api_key,
        )
        assert status == 200
        assert (
            json.loads(raw)["results"][0]["points"]["available"] == points[str(member.customer_id)]
        )

    # A redemption, twice with its key: once.
    member = members[0]
    redeem = {"customer_id": str(member.customer_id), "reward_id": str(reward.pk)}
    first = _send(base, "POST", "/api/v1/redemptions", token=shop.api_key, body=redeem, key="r1")
    again = _send(base, "POST", "/api/v1/redemptions", token=shop.api_key, body=redeem, key="r1")
    assert first[0] == again[0] == 201 and first[1] == again[1], first
    assert json.loads(first[1])["balance"]["available"] == points[str(member.customer_id)] - 100

    # Coins: earned at the issuer, paid at the acceptor with the customer app's QR.
    customer = member.customer
    earned = _send(
        base,
        "POST",
        "/api/v1/coins/earnings",
        token=issuer.api_key,
        body={"customer_id": str(customer.pk), "amount": "100000.00", "invoice_number": "E-1"},
        key="e1",
    )
    assert earned[0] == 201, earned
    coins = json.loads(earned[1])
    paid = _send(
        base,
        "POST",
        "/api/v1/coin-payments",
        token=acceptor.api_key,
        body={
            "customer_id": str(customer.pk),
            "invoice_amount": "2000.00",
            "coins": 500,
            "invoice_number": "P-1",
            "qr_payload": qr.mint_payment_qr(customer),
        },
        key="p1",
    )
    assert paid[0] == 201 and json.loads(paid[1])["status"] == "captured", paid
    wallet = Account.objects.get(customer=customer, kind=AccountKind.COINS, merchant=None)
    assert wallet.balance == coins["coins"] - 500 > 0

    # The exports, after the load: every member, every movement.
    status, raw = _send(base, "GET", "/console/exports/customers.csv", cookie=cookie)
    lines = raw.decode("utf-8-sig").strip().splitlines()
    assert status == 200 and len(lines) == 1 + len(members)
    period = f"?from={today - dt.timedelta(days=1)}&to={today}"
    status, raw = _send(base, "GET", f"/console/exports/movements.csv{period}", cookie=cookie)
    lines = raw.decode("utf-8-sig").strip().splitlines()
    assert status == 200 and len(lines) == 1 + len(accruals) + 1

    assert check_ledger() == []
    # The audit trail's flush permit (the flush after this test) is one transaction's.
    with guard.flushing():
        assert connection.in_atomic_block
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('lealtad.audit_flush', true)")
            assert cursor.fetchone()[0] == "on"
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('lealtad.audit_flush', true)")
        assert cursor.fetchone()[0] in ("", None)
    # Multiplexed: a dozen client connections, never more than the pool's two servers.
    database = _database()
    clients = pool.show("CLIENTS", database)
    servers = pool.show("SERVERS", database)
    assert len(clients) > 2 >= len(servers) > 0, (clients, servers)
