"""The read replica's routing (issue 17), on the test database: a "replica" alias that mirrors it
(TEST MIRROR, as DATABASE_REPLICA_URL makes it), so these tests see which alias a query took —
the two connections reach the same database, and the replica's connection does not see the
test's uncommitted rows: routing is checked by alias, never by data. The real streaming replica
(a standby paused, lag, read-your-writes over HTTP) is test_replica_streaming.py.
"""

import copy
import time
import zoneinfo

import pytest
from django.db import DatabaseError, connections, transaction
from django.db.backends.signals import connection_created
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils.timezone import localdate, now

from lealtad.core import replica, testing
from lealtad.core.env import BadSetting
from lealtad.core.replica_url import replica_database
from lealtad.network.actions import create_staff
from lealtad.ratings.models import AutoReply

pytestmark = pytest.mark.django_db(databases=["default", "replica"])

TODAY = localdate(timezone=zoneinfo.ZoneInfo("America/Bogota")).isoformat()  # the shop's today
REPORTS = [
    # Today only: read live (closed days come from the roll-up, computed on the primary).
    (f"/console/dashboard/?from={TODAY}&to={TODAY}", "ledger_transaction"),
    ("/console/exports/?from=2026-03-01&to=2026-03-31", "customers_membership"),
    ("/console/exports/customers.csv", "customers_membership"),
    ("/console/exports/movements.csv?from=2026-03-01&to=2026-03-31", "ledger_transaction"),
    ("/console/exports/ratings.csv?from=2026-03-01&to=2026-03-31", "ratings_rating"),
    ("/console/ratings/", "ratings_rating"),
]


def _sqlite_reads_uncommitted(sender, connection, **kwargs):
    # SQLite's shared-cache test database: without it the mirror's reads wait on the table locks
    # of the test's open transaction (PostgreSQL's MVCC needs nothing).
    if connection.alias == replica.REPLICA and connection.vendor == "sqlite":
        connection.cursor().execute("PRAGMA read_uncommitted = 1")


@pytest.fixture(scope="module", autouse=True)
def replica_alias(django_db_setup):
    """The "replica" alias for this module only: the rest of the suite runs without one."""
    configured = connections.settings.get(replica.REPLICA)  # a run with DATABASE_REPLICA_URL
    settings_dict = copy.deepcopy(connections[replica.DEFAULT].settings_dict)
    settings_dict["TEST"] = {**settings_dict["TEST"], "MIRROR": replica.DEFAULT}
    if settings_dict["ENGINE"].endswith("sqlite3"):
        # A reader's transactions (the test case opens one on every alias) need no write lock.
        settings_dict["OPTIONS"] = {**settings_dict["OPTIONS"], "transaction_mode": "DEFERRED"}
    connections.settings[replica.REPLICA] = settings_dict
    connection_created.connect(_sqlite_reads_uncommitted)
    yield
    connection_created.disconnect(_sqlite_reads_uncommitted)
    connections[replica.REPLICA].close()
    del connections.settings[replica.REPLICA]
    if hasattr(connections._connections, replica.REPLICA):
        delattr(connections._connections, replica.REPLICA)
    if configured is not None:
        connections.settings[replica.REPLICA] = configured


@pytest.fixture(autouse=True)
def _fresh_health():
    replica.health.forget()
    yield
    replica.health.forget()


@pytest.fixture
def shop():
    return testing.make_merchant("Café Réplica")


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def admin(shop):
    return _signed_in(shop.admin)


class Queries:
    """The SQL each alias ran during the block."""

    def __enter__(self):
        self.on = {
            alias: CaptureQueriesContext(connections[alias])
            for alias in (replica.DEFAULT, replica.REPLICA)
        }
        for capture in self.on.values():
            capture.__enter__()
        return self

    def __exit__(self, *exc):
        for capture in self.on.values():
            capture.__exit__(*exc)

    def sql(self, alias) -> list[str]:
        return [q["sql"] for q in self.on[alias].captured_queries]

    def mention(self, alias, table) -> bool:
        return any(table in sql for sql in self.sql(alias))


def _get(client, url):
    with Queries() as queries:
        response = client.get(url)
        if response.streaming:
            b"".join(response.streaming_content)
    assert response.status_code == 200, url
    return queries


def test_reports_exports_and_the_inbox_read_from_the_replica(admin):
    for url, table in REPORTS:
        queries = _get(admin, url)
        assert queries.mention(replica.REPLICA, table), url
        if "dashboard" not in url:  # the dashboard's roll-up fills its missing days on the primary
            assert not queries.mention(replica.DEFAULT, table), (url, queries.sql("default"))


def test_other_screens_and_the_api_stay_on_the_primary(shop, admin):
    api = Client(headers={"Authorization": f"Bearer {testing.token_for(shop.admin)}"})
    for client, url in (
        (admin, "/console/"),
        (admin, "/console/customers/"),
        (admin, "/cashier/"),
        (api, "/api/v1/customers?document=12345678"),
    ):
        with Queries() as queries:
            client.get(url)
        assert queries.sql(replica.REPLICA) == [], url


def test_a_committed_write_pins_its_author_to_the_primary_until_the_pin_expires(
    shop, admin, monkeypatch, settings
):
    settings.REPLICA_PIN_SECONDS = 10
    exports = REPORTS[1][0]
    response = admin.post(
        "/console/ratings/auto-reply/", {"subject": "Gracias", "body": "Gracias por venir"}
    )
    assert response.status_code == 302 and AutoReply.objects.filter(merchant=shop.merchant)
    assert replica.COOKIE in response.cookies
    assert _get(admin, exports).sql(replica.REPLICA) == []

    # The pin is in the shared cache too: the same person without the cookie (another node's
    # session, an API token) is pinned as well; another admin of the merchant is not.
    admin.cookies.pop(replica.COOKIE)
    assert _get(admin, exports).sql(replica.REPLICA) == []
    other = create_staff(
        merchant=shop.merchant, username="otra", password=testing.PASSWORD, role="merchant_admin"
    )
    assert _get(_signed_in(other), exports).sql(replica.REPLICA) != []

    now = time.time()
    monkeypatch.setattr(replica, "_clock", lambda: now + 11)
    assert _get(admin, exports).sql(replica.REPLICA) != []


def test_the_cookie_alone_pins_a_screen_user(admin, settings):
    """A cache per process (no CACHE_URL) or Redis down: the signed cookie still pins."""
    admin.post("/console/ratings/auto-reply/", {"subject": "Gracias", "body": "Vuelva pronto"})
    from django.core.cache import cache

    cache.clear()
    assert _get(admin, REPORTS[1][0]).sql(replica.REPLICA) == []
    # Someone else's cookie, or a forged one, pins nothing.
    admin.cookies[replica.COOKIE] = "forged"
    assert _get(admin, REPORTS[1][0]).sql(replica.REPLICA) != []


def test_a_write_through_the_api_pins_the_same_person_on_the_screens(shop, admin):
    api = Client(headers={"Authorization": f"Bearer {testing.token_for(shop.admin)}"})
    cache_key = replica._cache_key(f"user:{shop.admin.pk}")
    from django.core.cache import cache

    cache.delete(cache_key)  # issuing the token wrote (it pinned: nothing to test yet)
    assert _get(admin, REPORTS[1][0]).sql(replica.REPLICA) != []
    body = {
        "document_type": "CC",
        "document_number": testing.colombian_document(),
        "country": "CO",
        "email": "nueva@example.com",
    }
    response = api.post("/api/v1/customers", body, content_type="application/json")
    assert response.status_code == 201, response.content
    assert replica.COOKIE not in response.cookies  # API clients get no cookie: the cache pins
    assert _get(admin, REPORTS[1][0]).sql(replica.REPLICA) == []


def test_requests_that_write_nothing_or_roll_back_pin_no_one(shop, admin):
    # A refused form (400) writes nothing; a read-only screen neither; a GET of a report neither.
    assert (
        admin.post("/console/ratings/auto-reply/", {"subject": "", "body": ""}).status_code == 400
    )
    admin.get("/console/customers/")
    assert _get(admin, REPORTS[1][0]).sql(replica.REPLICA) != []

    watcher = replica._WriteWatcher()
    with (
        connections["default"].execute_wrapper(watcher),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        AutoReply.objects.create(merchant=shop.merchant, subject="x", body="y", updated_at=now())
        raise RuntimeError  # rolled back: its on_commit never runs
    assert watcher.committed(connections["default"]) is False
    with connections["default"].execute_wrapper(watcher), transaction.atomic():
        AutoReply.objects.create(merchant=shop.merchant, subject="x", body="y", updated_at=now())
        assert watcher.committed(connections["default"]) is False  # not yet
    assert watcher.committed(connections["default"]) is True


@pytest.mark.parametrize(
    "sql, write",
    [
        ('INSERT INTO "ratings_autoreply" ("subject") VALUES (%s)', True),
        ('UPDATE "ledger_account" SET "balance" = 1', True),
        ('DELETE FROM "offers_gift" WHERE id = 1', True),
        ("WITH moved AS (UPDATE ledger_account SET balance = 0 RETURNING id) SELECT 1", True),
        ('UPDATE "django_session" SET "session_data" = %s', False),
        ('INSERT INTO "console_dayfigures" ("day") VALUES (%s)', False),
        ('SELECT "id" FROM "ledger_account" FOR UPDATE', False),
        ("SELECT pg_advisory_xact_lock(1)", False),
        ("SAVEPOINT s1", False),
    ],
)
def test_which_statements_are_writes(sql, write):
    assert replica.is_write(sql) is write


def test_a_lagging_or_unreachable_replica_is_not_read(admin, monkeypatch, settings):
    settings.REPLICA_MAX_LAG_SECONDS = 30
    measured = []

    def lag(value):
        def measure():
            measured.append(value)
            if isinstance(value, Exception):
                raise value
            return value

        return measure

    exports = REPORTS[1][0]
    for value, on_replica in (
        (31.0, False),
        (None, False),
        (DatabaseError("down"), False),
        (2.0, True),
    ):
        replica.health.forget()
        monkeypatch.setattr(replica, "measure_lag", lag(value))
        assert (_get(admin, exports).sql(replica.REPLICA) != []) is on_replica, value
    # At most once a second per process: three more requests measure nothing.
    for _ in range(3):
        _get(admin, exports)
    assert len(measured) == 4


def test_the_mirror_measures_no_lag():
    assert replica.measure_lag() == 0.0


def test_a_replica_that_fails_mid_request_is_answered_by_the_primary(admin):
    """A real failure: the replica's server ends its connection (its backend terminated) just
    after the once-a-second check found it well. The page is a 200 from the primary, and the
    next second's requests skip the replica."""
    conn = connections[replica.REPLICA]
    if conn.vendor != "postgresql":
        pytest.skip("a replica is PostgreSQL: SQLite has no server to end the connection")
    assert replica.replica_usable()
    with conn.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    with connections[replica.DEFAULT].cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    with Queries() as queries:
        response = admin.get(REPORTS[1][0])
    assert response.status_code == 200
    assert queries.mention(replica.DEFAULT, "customers_membership")
    assert replica.health.usable is False


def test_reads_inside_an_atomic_block_on_the_primary_stay_there():
    token = replica._reading.set(replica.REPLICA)
    try:
        router = replica.ReplicaRouter()
        assert router.db_for_read(AutoReply) == replica.REPLICA
        with transaction.atomic():
            assert router.db_for_read(AutoReply) == replica.DEFAULT
        assert router.db_for_write(AutoReply) == replica.DEFAULT
    finally:
        replica._reading.reset(token)
    assert replica.ReplicaRouter().db_for_read(AutoReply) == replica.DEFAULT


def test_writes_relations_and_migrations():
    router = replica.ReplicaRouter()
    assert router.allow_migrate(replica.REPLICA, "ledger") is False
    assert router.allow_migrate(replica.DEFAULT, "ledger") is None
    first, second = AutoReply(), AutoReply()
    first._state.db, second._state.db = replica.REPLICA, replica.DEFAULT
    assert router.allow_relation(first, second) is True
    # An object read from the replica is saved on the primary (Django would pick its own alias).
    assert router.db_for_write(AutoReply, instance=first) == replica.DEFAULT


@pytest.mark.django_db(databases=["default"])
def test_no_replica_configured_everything_on_the_primary(admin, monkeypatch):
    monkeypatch.delitem(connections.settings, replica.REPLICA)
    assert not replica.configured()
    with CaptureQueriesContext(connections["default"]) as on_default:
        for url, _table in REPORTS:
            response = admin.get(url)
            assert response.status_code == 200
            if response.streaming:
                b"".join(response.streaming_content)
        admin.post("/console/ratings/auto-reply/", {"subject": "Hola", "body": "Gracias"})
    assert any("ratings_rating" in q["sql"] for q in on_default.captured_queries)
    assert replica.COOKIE not in admin.cookies  # no replica, no pins


def test_the_replica_alias_copies_the_defaults_options():
    default = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "lealtad",
        "HOST": "primary",
        "PORT": 6432,
        "USER": "app",
        "PASSWORD": "s",
        "CONN_MAX_AGE": 0,
        "CONN_HEALTH_CHECKS": True,
        "DISABLE_SERVER_SIDE_CURSORS": True,
        "OPTIONS": {"prepare_threshold": None},
    }
    alias = replica_database(default, "postgres://ro:pw@standby:5433/lealtad?sslmode=require")
    assert (alias["HOST"], alias["PORT"], alias["USER"], alias["PASSWORD"]) == (
        "standby",
        5433,
        "ro",
        "pw",
    )
    assert alias["DISABLE_SERVER_SIDE_CURSORS"] is True and alias["CONN_MAX_AGE"] == 0
    assert alias["OPTIONS"] == {
        "prepare_threshold": None,
        "sslmode": "require",
        "connect_timeout": 3,
    }
    assert alias["TEST"] == {"MIRROR": "default"}
    assert default["OPTIONS"] == {"prepare_threshold": None}  # a copy: default is untouched
    assert replica_database(default, "") is None
    with pytest.raises(BadSetting, match="DATABASE_REPLICA_URL"):
        replica_database(default, "sqlite:///x.sqlite3")
    with pytest.raises(BadSetting, match="DATABASE_URL"):
        replica_database({"ENGINE": "django.db.backends.sqlite3"}, "postgres://h/db")
