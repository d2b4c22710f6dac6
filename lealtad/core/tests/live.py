"""Set-up shared by the tests that run `lealtad` in subprocesses (`serve`, two servers, a crash):
each of them used to run `migrate` and `collectstatic` of its own, two Python start-ups and ~70
migrations per test. Here the migrations run ONCE per test process (each pytest-xdist worker has
its own) into a template, and every test gets a fresh copy of it: a SQLite file copied with
SQLite's backup API, a PostgreSQL database made with `CREATE DATABASE … TEMPLATE`. A copy is
byte for byte what `migrate` left (schema, data migrations, content types), so what a test proves
about a freshly migrated database still holds. `collectstatic` runs once too, into one
STATIC_ROOT the tests' servers read (a server that collects again finds its files there)."""

import atexit
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
LEALTAD = [sys.executable, "-m", "lealtad.cli"]
# What the set-up commands need to start with production settings (the tests' servers run so).
_SETUP_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "live-setup-" + "k" * 50,
    "SECURE_SSL_REDIRECT": "false",
    "ALLOWED_HOSTS": "127.0.0.1",
    "EMAIL_URL": "console://",
}
_made: dict[str, object] = {}


def _dir() -> Path:
    """This test process's own folder for the template and the static files, removed at exit."""
    if "dir" not in _made:
        _made["dir"] = Path(tempfile.mkdtemp(prefix="lealtad-live-"))
        atexit.register(shutil.rmtree, _made["dir"], True)
    return _made["dir"]


def _run(env: dict, *command: str, timeout: int = 300) -> None:
    subprocess.run([*LEALTAD, *command], env=env, cwd=ROOT, check=True, timeout=timeout)


def _env(**extra: str) -> dict:
    return {**os.environ, **_SETUP_ENV, **extra}


def static_root() -> str:
    """A STATIC_ROOT collected once for the whole session (production's manifest storage)."""
    if "static" not in _made:
        static = _dir() / "static"
        _run(
            _env(STATIC_ROOT=str(static), DATABASE_URL=f"sqlite:///{_dir() / 'cs.sqlite3'}"),
            "collectstatic",
            "--no-input",
            "-v",
            "0",
        )
        _made["static"] = str(static)
    return _made["static"]


def sqlite_copy(path: Path) -> str:
    """A freshly migrated SQLite database at `path`; returns its DATABASE_URL."""
    if "sqlite" not in _made:
        template = _dir() / "template.sqlite3"
        _run(
            _env(DATABASE_URL=f"sqlite:///{template}", STATIC_ROOT=str(_dir() / "unused")),
            "migrate",
            "-v",
            "0",
        )
        _made["sqlite"] = template
    source = sqlite3.connect(_made["sqlite"])
    target = sqlite3.connect(path)
    try:
        source.backup(target)  # consistent, WAL or not; journal_mode=WAL is in the file
    finally:
        target.close()
        source.close()
    return f"sqlite:///{path}"


def _server(url: str) -> tuple[str, str]:
    """The server's part of a postgres:// URL and the database's name."""
    server, _sep, name = url.rpartition("/")
    return server, name.split("?", 1)[0]


def postgres_copy(url: str, name: str) -> str:
    """A freshly migrated PostgreSQL database `name` on the server of `url` (any database of
    it); drops one left by an interrupted run first. Returns its URL; drop it with `drop`."""
    import psycopg

    server = _server(url)[0]
    # One template per test process: several runs (xdist workers, other checkouts) share a server.
    template = f"lealtad_live_template_{os.getpid()}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        if "postgres" not in _made:
            admin.execute(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{template}"')
            atexit.register(drop, url, template)
            _run(
                _env(DATABASE_URL=f"{server}/{template}", STATIC_ROOT=str(_dir() / "unused")),
                "migrate",
                "-v",
                "0",
            )
            _made["postgres"] = template
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return f"{server}/{name}"


def drop(url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(f"{_server(url)[0]}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
