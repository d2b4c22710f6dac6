import os

import pytest
from django.db import connection
from hypothesis import settings as hypothesis_settings

from lealtad.api.tests import remote

# Hypothesis's 200 ms deadline per example measures the machine, not the code: on a busy CI
# runner a database round trip can take longer. The properties still run every example.
hypothesis_settings.register_profile("lealtad", deadline=None)
hypothesis_settings.load_profile("lealtad")


def pytest_configure(config):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lealtad.settings")


def pytest_collection_modifyitems(config, items):
    remote.modify_items(config, items)


def pytest_terminal_summary(terminalreporter):
    remote.terminal_summary(terminalreporter)


if remote.API_URL:

    @pytest.fixture(scope="session")
    def django_db_setup():
        """The API contract against a live server (LEALTAD_API_URL, lealtad/api/tests/remote.py):
        the server's database (DATABASE_URL) as it is, migrated by whoever started the server; no
        test_ database is made or dropped."""

    @pytest.fixture(autouse=True, scope="session")
    def _remote_fast_flush():
        with remote.fast_flush(), remote.api_paths_over_http():
            yield

else:

    @pytest.fixture(autouse=True, scope="session")
    def _fast_flush():
        """Transactional tests (browsers, threads, servers) on PostgreSQL end with DELETE under
        deferred foreign keys instead of Django's flush (a TRUNCATE of every table, then
        post_migrate): the same empty database in a fraction of the time
        (remote.empty_tables). LEALTAD_DJANGO_FLUSH=1 keeps Django's."""
        if os.environ.get("LEALTAD_DJANGO_FLUSH"):
            yield
            return
        with remote.fast_flush():
            yield


@pytest.fixture(autouse=True)
def _a_live_database_connection():
    """Each test starts on a connection that answers. A test that terminates backends on
    purpose (test_crash_worker.py's pg_terminate_backend rounds) can end one this process keeps
    open without it noticing, and PostgreSQL says so only at the next use: the next test's first
    query ("terminating connection due to administrator command", seen in CI). A dead one is
    closed here, so Django opens a new one."""
    from django.db import connections

    for conn in connections.all(initialized_only=True):
        if conn.connection is not None and not conn.in_atomic_block and not conn.is_usable():
            conn.close()
    yield


@pytest.fixture
def postgres_only(db):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (row locks): set DATABASE_URL=postgres://… to run it")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Argon2 is deliberately slow; tests create hundreds of users.
    settings.PASSWORD_HASHERS = (
        ["lealtad.api.tests.remote.FastPBKDF2PasswordHasher"]
        if remote.API_URL
        else ["django.contrib.auth.hashers.MD5PasswordHasher"]
    )


@pytest.fixture(autouse=True, scope="session")
def _static_root():
    from django.conf import settings

    # WhiteNoise warns at start-up when STATIC_ROOT does not exist yet (before collectstatic).
    settings.STATIC_ROOT.mkdir(parents=True, exist_ok=True)


@pytest.fixture(autouse=True)
def _default_language():
    # A view that activates a language (the merchant's, on a page with no sign-in) leaves it on the
    # thread; each test starts in the site's default language, as a fresh request would.
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fresh_actor_cache():
    # Each test has its own database: the actors and promotion flags cached by an earlier test
    # (lealtad/core/sharedcache.py) and the API's rate-limit counts, all in the Django cache
    # (local memory in the tests), must not leak into it.
    from django.core.cache import cache

    from lealtad.core import sharedcache

    cache.clear()
    sharedcache._down, sharedcache._retry_at = False, 0.0  # an earlier test's outage is over


@pytest.fixture(autouse=True, scope="session")
def _sqlite_flush_past_the_append_only_trigger():
    """Transactional tests (browser, concurrency) empty the database between tests with DELETE,
    which SQLite's append-only trigger on ledger entries refuses: lift it for the flush only."""
    import importlib

    from django.db import connection

    if connection.vendor != "sqlite":
        yield
        return
    DatabaseOperations = type(connection.ops)
    migration = importlib.import_module("lealtad.ledger.migrations.0003_entries_append_only")
    original = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, **kwargs):
        statements = original(self, style, tables, **kwargs)
        if "ledger_entry" in tables:
            return [*migration.SQLITE_DOWN, *statements, *migration.SQLITE_UP]
        return statements

    DatabaseOperations.sql_flush = sql_flush
    yield
    DatabaseOperations.sql_flush = original
