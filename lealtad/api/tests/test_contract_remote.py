"""The API contract over real HTTP (issue 17), proved against one real `lealtad serve`.

A database of its own (lealtad_contract_live, beside the test database: a copy of it, or
`lealtad migrate` on an empty one when the copy cannot be made), a gunicorn server on it, and
`remote.run_contract_suite` running contract modules in a subprocess with LEALTAD_API_URL
pointing at the server. The topology test runs the whole CONTRACT_MODULES through the load
balancer; this one runs `remote.CONTRACT_SMOKE`, a slice
that crosses every part of the mechanism (tokens and keys made through the ORM and seen by the
server, customer tokens, problem+json, paging, ratings): about a minute on a loaded 2-core
machine (the whole contract: 6 minutes), hence `slow`.
"""

import contextlib
import os
import time

import dj_database_url
import psycopg
import pytest
from django.db import connection, connections

from lealtad.api.tests import remote
from lealtad.core.tests.crash_harness import Server, lealtad, port_is_free

PORT = 8731
LIVE_DB = "lealtad_contract_live"
SECRET = "contract-self-test-secret-key-0123456789-abcdefghijklmnop"

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")),
        reason="needs PostgreSQL (a live server and the test process share one committed "
        "database): set DATABASE_URL=postgres://…",
    ),
    pytest.mark.skipif(bool(remote.API_URL), reason="already running against a live server"),
]


def _admin_dsn(url: str) -> str:
    config = dj_database_url.parse(url)
    return psycopg.conninfo.make_conninfo(
        host=config["HOST"] or "127.0.0.1",
        port=config["PORT"] or 5432,
        user=config["USER"] or None,
        password=config["PASSWORD"] or None,
        dbname="postgres",
    )


def _live_url(url: str) -> str:
    return url.rsplit("/", 1)[0].split("?")[0] + f"/{LIVE_DB}"


def _drop(admin: str) -> None:
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{LIVE_DB}" WITH (FORCE)')


@pytest.fixture
def live_server_env(django_db_setup, django_db_blocker, tmp_path):
    """The live database and a `lealtad serve` on it; both gone afterwards, even on failure."""
    if not port_is_free(PORT):
        pytest.fail(f"port {PORT} is taken")
    url = os.environ["DATABASE_URL"]
    admin = _admin_dsn(url)
    with django_db_blocker.unblock():
        template = connection.settings_dict["NAME"]  # the test database, migrated
    connections.close_all()  # CREATE DATABASE … TEMPLATE needs it unused
    _drop(admin)
    with psycopg.connect(admin, autocommit=True) as conn:
        try:
            # The test database, migrated by pytest-django: its copy is a migrated database in
            # a second (`lealtad migrate` with nothing to apply costs 30 s here).
            conn.execute(f'CREATE DATABASE "{LIVE_DB}" TEMPLATE "{template}"')
            copied = True
        except psycopg.errors.ObjectInUse:
            conn.execute(f'CREATE DATABASE "{LIVE_DB}"')  # another session on it: from scratch
            copied = False
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTEST_", "LEALTAD_API_URL"))
    }
    env.update(DATABASE_URL=_live_url(url), SECRET_KEY=SECRET, API_RATE_LIMIT="0")
    server = Server(env, PORT, workers=2, log=tmp_path / "serve.log")
    try:
        began = time.monotonic()
        if not copied:
            lealtad(env, "migrate", "--no-input", "-v", "0")
        server.start()
        print(
            f"\nlive database {'copied' if copied else 'migrated'}, serving in "
            f"{time.monotonic() - began:.0f}s"
        )
        yield env
    finally:
        began = time.monotonic()
        server.stop()
        with contextlib.suppress(psycopg.Error):
            _drop(admin)
        print(f"server stopped, live database dropped in {time.monotonic() - began:.0f}s")


def test_the_contract_passes_over_http_against_a_live_server(live_server_env):
    env = live_server_env
    began = time.monotonic()
    result = remote.run_contract_suite(
        f"http://127.0.0.1:{PORT}",
        env["DATABASE_URL"],
        {"SECRET_KEY": SECRET, "API_RATE_LIMIT": "0"},
        modules=remote.CONTRACT_SMOKE,
    )
    seconds = time.monotonic() - began
    counts = remote.summary(result)
    output = result.stdout[-6000:] + result.stderr[-3000:]
    assert result.returncode == 0, output
    assert counts.get("failed", 0) == 0 and counts.get("errors", 0) == 0, output
    assert counts.get("passed", 0) >= 40, (counts, output)
    # Most spoke HTTP to the server (the others call functions or Django's test Client in their
    # own process, against the same committed database).
    assert counts.get("over_http", 0) >= 28 and counts["requests"] >= 60, (counts, output)
    print(f"\ncontract smoke over HTTP: {counts} in {seconds:.0f}s")
