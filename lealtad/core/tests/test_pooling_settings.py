"""DB_TRANSACTION_POOLING and PGBOUNCER_PREPARED_STATEMENTS (issue 17): what they do to the
database settings, the system checks that go with them, and backup refusing the pooler. The
settings module is run afresh under each environment (no database needed)."""

import importlib.util
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from lealtad.core import checks

SETTINGS = Path(__file__).resolve().parents[2] / "settings.py"
VARIABLES = (
    "DATABASE_URL",
    "DB_TRANSACTION_POOLING",
    "DB_PREPARED_STATEMENTS",
    "PGBOUNCER_PREPARED_STATEMENTS",
)
PG = "postgres://u@db.example:6432/lealtad"


def fresh_settings(monkeypatch, **env):
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location("lealtad_settings_probe", SETTINGS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_off_by_default_prepared_statements_and_cursors_as_before(monkeypatch):
    s = fresh_settings(monkeypatch, DATABASE_URL=PG)
    assert s.DB_TRANSACTION_POOLING is False and s.DB_PREPARED_STATEMENTS is True
    db = s.DATABASES["default"]
    assert db["OPTIONS"]["prepare_threshold"] == 2 and db["OPTIONS"]["server_side_binding"]
    assert not db.get("DISABLE_SERVER_SIDE_CURSORS")


def test_pooling_turns_off_prepared_statements_and_server_side_cursors(monkeypatch):
    s = fresh_settings(monkeypatch, DATABASE_URL=PG, DB_TRANSACTION_POOLING="true")
    db = s.DATABASES["default"]
    assert s.DB_TRANSACTION_POOLING and not s.DB_PREPARED_STATEMENTS
    assert db["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert "prepare_threshold" not in db.get("OPTIONS", {})
    assert not s.DB_PREPARED_STATEMENTS_REFUSED  # not asked for: nothing to say


def test_prepared_statements_asked_for_behind_pooling_are_refused(monkeypatch):
    s = fresh_settings(
        monkeypatch, DATABASE_URL=PG, DB_TRANSACTION_POOLING="true", DB_PREPARED_STATEMENTS="on"
    )
    assert not s.DB_PREPARED_STATEMENTS and s.DB_PREPARED_STATEMENTS_REFUSED
    assert "prepare_threshold" not in s.DATABASES["default"].get("OPTIONS", {})


def test_a_pgbouncer_that_carries_prepared_statements_keeps_them(monkeypatch):
    s = fresh_settings(
        monkeypatch,
        DATABASE_URL=PG,
        DB_TRANSACTION_POOLING="true",
        PGBOUNCER_PREPARED_STATEMENTS="true",
    )
    db = s.DATABASES["default"]
    assert s.DB_PREPARED_STATEMENTS and not s.DB_PREPARED_STATEMENTS_REFUSED
    assert db["OPTIONS"]["prepare_threshold"] == 2 and db["DISABLE_SERVER_SIDE_CURSORS"]


def test_sqlite_ignores_pooling(monkeypatch):
    s = fresh_settings(monkeypatch, DATABASE_URL="sqlite:///x.db", DB_TRANSACTION_POOLING="1")
    assert not s.DB_TRANSACTION_POOLING and not s.DB_PREPARED_STATEMENTS


def test_a_wrong_value_names_the_variable(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="DB_TRANSACTION_POOLING"):
        fresh_settings(monkeypatch, DATABASE_URL=PG, DB_TRANSACTION_POOLING="maybe")


POSTGRES = {"ENGINE": "django.db.backends.postgresql", "PORT": 5432}


def test_the_check_refuses_prepared_statements_asked_for_behind_pooling(settings):
    settings.DB_TRANSACTION_POOLING, settings.DB_PREPARED_STATEMENTS = True, False
    settings.DB_PREPARED_STATEMENTS_REFUSED = True
    found = checks.problems(POSTGRES)
    assert [m.id for m in found] == ["pgbouncer.E001"]
    assert "PGBOUNCER_PREPARED_STATEMENTS" in found[0].hint


def test_the_check_warns_of_port_6432_without_pooling(settings):
    settings.DB_TRANSACTION_POOLING = False
    assert [m.id for m in checks.problems({**POSTGRES, "PORT": "6432"})] == ["pgbouncer.W001"]
    assert checks.problems(POSTGRES) == []
    assert checks.problems({"ENGINE": "django.db.backends.sqlite3", "PORT": "6432"}) == []
    settings.DB_TRANSACTION_POOLING, settings.DB_PREPARED_STATEMENTS = True, False
    assert checks.problems({**POSTGRES, "PORT": "6432"}) == []


@pytest.mark.django_db  # `check` asks each database what it supports
def test_the_check_is_registered_and_stops_the_commands_that_check(settings):
    from django.core.management.base import SystemCheckError

    settings.DB_PREPARED_STATEMENTS_REFUSED = True
    with pytest.raises(SystemCheckError, match=r"pgbouncer\.E001"):
        call_command("check")


def test_backup_and_restore_refuse_to_go_through_the_pooler(settings, tmp_path):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the refusal is PostgreSQL's (SQLite has no pooler)")
    settings.DB_TRANSACTION_POOLING = True
    with pytest.raises(CommandError, match="DB_TRANSACTION_POOLING"):
        call_command("backup", str(tmp_path))
