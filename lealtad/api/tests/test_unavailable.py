"""A database away for a moment is 503 + Retry-After (problem+json on the API), a bug stays 500
(issue 16's crash run found HTML 500 pages on /api during a PostgreSQL restart). The errors are
real ones, from real connections: a PostgreSQL port nobody listens on, a locked SQLite file, a
missing SQLite table."""

import json
import socket
import sqlite3

import pytest
from django.db.backends.postgresql.base import DatabaseWrapper as PostgresWrapper
from django.db.backends.sqlite3.base import DatabaseWrapper as SqliteWrapper
from django.db.utils import OperationalError
from django.test import RequestFactory
from django.utils import translation

from lealtad.api.api import on_server_error
from lealtad.api.unavailable import database_unavailable, server_error


@pytest.fixture(autouse=True)
def _own_connections(django_db_blocker):
    """These tests open connections of their own (never the test database's)."""
    with django_db_blocker.unblock():
        yield


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when the block ends


def _settings(engine, name, **extra):
    return {
        "ENGINE": engine,
        "NAME": name,
        "USER": "nobody",
        "PASSWORD": "",
        "HOST": "127.0.0.1",
        "PORT": "",
        "OPTIONS": {},
        "TIME_ZONE": None,
        "CONN_MAX_AGE": 0,
        "CONN_HEALTH_CHECKS": False,
        "AUTOCOMMIT": True,
        "ATOMIC_REQUESTS": False,
        "TEST": {},
        **extra,
    }


def _raised(work) -> OperationalError:
    with pytest.raises(OperationalError) as caught:
        work()
    return caught.value


def _postgres_down() -> OperationalError:
    db = PostgresWrapper(
        _settings("django.db.backends.postgresql", "lealtad", PORT=str(_closed_port()))
    )
    return _raised(db.ensure_connection)


def _sqlite(path, timeout=0) -> SqliteWrapper:
    return SqliteWrapper(
        _settings("django.db.backends.sqlite3", str(path), OPTIONS={"timeout": timeout})
    )


def _sqlite_locked(path) -> OperationalError:
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x int)")
    holder.execute("BEGIN EXCLUSIVE")
    db = _sqlite(path)
    try:
        return _raised(lambda: db.cursor().execute("INSERT INTO t VALUES (1)"))
    finally:
        db.close()
        holder.execute("ROLLBACK")
        holder.close()


def _answer(path, exc):
    """handler500 as Django calls it: inside the `except` of the failure."""
    request = RequestFactory().post(path)
    try:
        raise exc
    except OperationalError:
        return server_error(request)


def test_a_postgresql_that_does_not_answer_is_503_with_retry_after_on_the_api():
    response = _answer("/api/v1/accruals", _postgres_down())
    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    assert response["Retry-After"] == "1"
    assert json.loads(response.content)["code"] == "service_unavailable"


def test_a_screen_meeting_a_database_away_says_so_with_503():
    with translation.override("en"):
        response = _answer("/cashier/", _postgres_down())
    assert response.status_code == 503 and response["Retry-After"] == "1"
    assert b"Try again in a moment" in response.content


def test_a_locked_sqlite_is_503_and_a_missing_table_a_500(tmp_path):
    locked = _sqlite_locked(tmp_path / "locked.sqlite3")
    assert database_unavailable(locked)
    assert _answer("/api/v1/redemptions", locked).status_code == 503

    db = _sqlite(tmp_path / "empty.sqlite3")
    missing = _raised(lambda: db.cursor().execute("SELECT * FROM no_such_table"))
    db.close()
    assert not database_unavailable(missing)  # a bug, not a moment's absence
    api = _answer("/api/v1/redemptions", missing)
    assert api.status_code == 500 and api["Content-Type"] == "application/problem+json"
    assert json.loads(api.content)["code"] == "internal_error"
    assert _answer("/cashier/", missing).status_code == 500


def test_a_view_that_meets_a_database_away_is_503_not_internal_error():
    request = RequestFactory().post("/api/v1/accruals")
    response = on_server_error(request, _postgres_down())
    assert (response.status_code, response["Retry-After"]) == (503, "1")
    assert json.loads(response.content)["code"] == "service_unavailable"
    response = on_server_error(request, ValueError("a bug"))
    assert json.loads(response.content)["code"] == "internal_error"
