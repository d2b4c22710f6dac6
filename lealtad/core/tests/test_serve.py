"""`lealtad serve`: the production server answers real HTTP, with production settings."""

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from lealtad.core.tests import live

ROOT = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _call(url, body=None, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, time.monotonic()))
        return "250 OK"


@pytest.fixture
def inbox():
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    inbox.url = f"smtp://127.0.0.1:{controller.port}"
    yield inbox
    controller.stop()


@pytest.fixture
def server(tmp_path, inbox):
    port = _free_port()
    env = {
        "EMAIL_URL": inbox.url,
        **os.environ,
        "DATABASE_URL": live.sqlite_copy(tmp_path / "serve.sqlite3"),  # migrated once a session
        "DEBUG": "false",
        "SECRET_KEY": "serve-test-" + "k" * 50,
        "SECURE_SSL_REDIRECT": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        # Collected once a session; `serve` below collects again (its own step, tested here).
        "STATIC_ROOT": live.static_root(),
    }
    lealtad = [sys.executable, "-m", "lealtad.cli"]
    out = subprocess.run(
        [
            *lealtad,
            "create-merchant",
            "--name",
            "Serve",
            "--country",
            "CO",
            "--admin",
            "srv",
            "--admin-password",
            "serve-secret-1",
        ],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    proc = subprocess.Popen(
        [*lealtad, "serve", "--port", str(port), "--workers", "2"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if _call(f"{base}/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the server did not answer /healthz")
        yield base, json.loads(out.stdout)
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_serve_answers_the_api_over_http(server):
    base, merchant = server
    status, body = _call(
        f"{base}/api/v1/customers",
        {
            "document_type": "CC",
            "document_number": "80123456",
            "country": "CO",
            "email": "serve@example.com",
        },
        token=merchant["api_key"],
    )
    assert status == 201, body
    status, body = _call(
        f"{base}/api/v1/accruals",
        {"customer_id": body["id"], "amount": "12000.00", "invoice_number": "S-1"},
        token=merchant["api_key"],
    )
    assert (status, body["points"]) == (201, 12)
    status, body = _call(f"{base}/api/v1/auth/token", {"username": "srv", "password": "bad"})
    assert (status, body["code"]) == (401, "invalid_credentials")
    with urllib.request.urlopen(f"{base}/api/v1/openapi.json", timeout=10) as response:
        assert response.status == 200


def test_the_task_worker_serve_starts_sends_the_email_within_seconds(server, inbox, tmp_path):
    """M2: `serve` starts a task worker; the welcome e-mail, enqueued in the transaction that
    registered the customer, reaches the SMTP server within seconds of the request."""
    base, merchant = server
    asked = time.monotonic()
    status, body = _call(
        f"{base}/api/v1/customers",
        {
            "document_type": "CC",
            "document_number": "80654321",
            "country": "CO",
            "email": "welcome@example.com",
        },
        token=merchant["api_key"],
    )
    assert status == 201, body
    deadline = asked + 15
    while not inbox.messages and time.monotonic() < deadline:
        time.sleep(0.05)
    ((to, _arrived),) = inbox.messages
    assert to == ["welcome@example.com"]
    # Arrived before the 15 s deadline: sent by the worker `serve` started, at once, not by a
    # retry (how fast is the benchmark's business: bench/code_delivery.py).
    # The same worker scheduled the day's expiry itself (no cron) and ran it.
    import sqlite3

    deadline = time.monotonic() + 15
    with contextlib.closing(sqlite3.connect(tmp_path / "serve.sqlite3")) as db:
        while time.monotonic() < deadline:
            runs = db.execute(
                "SELECT status FROM django_tasks_database_dbtaskresult WHERE task_path LIKE ?",
                ("%daily_expiry",),
            ).fetchall()
            if runs == [("SUCCESSFUL",)]:
                break
            time.sleep(0.2)
        assert runs == [("SUCCESSFUL",)]
        jobs = db.execute("SELECT job FROM notifications_scheduledrun").fetchall()
        # Every periodic job (engine.PERIODIC: expiry, sweeps, …) was taken by that worker.
        from lealtad.notifications.engine import PERIODIC

        assert sorted(job for (job,) in jobs) == sorted(job.name for job in PERIODIC)
        assert {"daily-expiry", "outbox-sweep", "webhook-sweep"} <= {job for (job,) in jobs}
