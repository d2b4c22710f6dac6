"""A request killed with its worker (kill -9) frees its Idempotency-Key at once: the retry does the
work exactly once. Against a real `lealtad serve` (gunicorn) on a real PostgreSQL."""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

from lealtad.core.tests import live

ROOT = Path(__file__).resolve().parents[3]
PORTS = range(8120, 8130)  # the ports this project's test servers may take


def _free_port() -> int:
    for port in PORTS:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.fail(f"no free port in {PORTS}")


pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason="needs PostgreSQL: set DATABASE_URL=postgres://… to run it",
    ),
]


def _call(url, body=None, token=None, key=None, timeout=10):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if key:
        headers["Idempotency-Key"] = key
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), dict(error.headers)


def _wait_for(condition, seconds=30, what="condition"):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if value := condition():
                return value
        except OSError:
            pass
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def _workers(master_pid: int) -> list[int]:
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    return [int(pid) for pid in children]


@pytest.fixture
def served(tmp_path):
    db = settings.DATABASES["default"]
    server_dsn = f"host={db['HOST']} port={db['PORT'] or 5432} user={db['USER']} dbname=postgres"
    if db["PASSWORD"]:
        server_dsn += f" password={db['PASSWORD']}"
    name = f"{db['NAME']}_crash"
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    address = f"{db['HOST']}:{db['PORT'] or 5432}"
    env = {
        **os.environ,
        # A copy of a database migrated once a session (CREATE DATABASE … TEMPLATE).
        "DATABASE_URL": live.postgres_copy(
            f"postgres://{db['USER']}{password}@{address}/postgres", name
        ),
        "DEBUG": "false",
        "SECRET_KEY": "crash-test-" + "k" * 50,
        "SECURE_SSL_REDIRECT": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        # Collected once a session; `serve` below collects again (its own step).
        "STATIC_ROOT": live.static_root(),
    }
    lealtad = [sys.executable, "-m", "lealtad.cli"]
    created = subprocess.run(
        [
            *lealtad,
            *("create-merchant", "--name", "Crash", "--country", "CO", "--point-value", "1"),
            *("--admin", "crash", "--admin-password", "crash-secret-1"),
        ],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    port = _free_port()
    proc = subprocess.Popen(
        [*lealtad, "serve", "--port", str(port), "--workers", "2", "--no-mail"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(lambda: urllib.request.urlopen(f"{base}/healthz", timeout=2).status == 200)
        with psycopg.connect(env["DATABASE_URL"], autocommit=True) as watcher:
            yield base, json.loads(created.stdout), proc, watcher
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        with psycopg.connect(server_dsn, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _blocked(watcher) -> list[int]:
    rows = watcher.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
    ).fetchall()
    return [pid for (pid,) in rows]


def test_a_killed_request_frees_its_key_and_the_retry_accrues_once(served):
    base, merchant, proc, watcher = served
    token = merchant["api_key"]
    status, customer, _h = _call(
        f"{base}/api/v1/customers",
        {"document_type": "CC", "document_number": "80123456", "country": "CO", "email": "k@x.co"},
        token=token,
    )
    assert status == 201, customer
    account_id = watcher.execute(
        "SELECT account_id FROM customers_membership WHERE customer_id = %s", [customer["id"]]
    ).fetchone()[0]
    accrual = {"customer_id": customer["id"], "amount": "12000.00", "invoice_number": "K-1"}
    url = f"{base}/api/v1/accruals"

    holder = psycopg.connect(watcher.info.dsn, autocommit=False)
    holder.execute("SELECT 1 FROM ledger_account WHERE id = %s FOR UPDATE", [account_id])
    lost = []
    request = threading.Thread(
        target=lambda: lost.append(_try(lambda: _call(url, accrual, token, "crash-1", 60)))
    )
    request.start()
    stuck = _wait_for(lambda: _blocked(watcher), what="the accrual to block on the row lock")
    # While the first is alive, a duplicate (served by the other worker) is told to wait.
    status, body, _h = _call(url, accrual, token, "crash-1")
    assert (status, body["code"]) == (409, "idempotency_in_progress")

    for pid in _workers(proc.pid):
        os.kill(pid, signal.SIGKILL)
    request.join(timeout=30)
    assert lost and isinstance(lost[0], OSError)  # the client never got an answer
    holder.rollback()
    holder.close()
    # The orphaned database session rolls back as soon as it finds its client gone.
    _wait_for(
        lambda: not set(stuck) & set(_blocked(watcher) + _sessions(watcher)),
        what="the killed request's session to end",
    )
    _wait_for(lambda: urllib.request.urlopen(f"{base}/healthz", timeout=2).status == 200)

    status, body, headers = _call(url, accrual, token, "crash-1")
    assert status == 201, body
    assert "Idempotent-Replayed" not in headers and body["points"] == 12000
    status, again, headers = _call(url, accrual, token, "crash-1")
    assert (status, headers.get("Idempotent-Replayed"), again) == (201, "true", body)
    (count,) = watcher.execute(
        "SELECT count(*) FROM ledger_transaction WHERE kind = 'accrual'"
    ).fetchone()
    assert count == 1


def _sessions(watcher) -> list[int]:
    rows = watcher.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
    ).fetchall()
    return [pid for (pid,) in rows]


def _try(call):
    try:
        return call()
    except OSError as exc:
        return exc
