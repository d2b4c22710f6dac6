"""The documented production start, as an operator does it: `.env.example` as the env file with
the production values filled in, `lealtad migrate`, then `lealtad serve` on PostgreSQL. No
collectstatic by hand; the pages must work, the workers must die with their master and a restart
must come up at once (issue 10).

Needs PostgreSQL: run with DATABASE_URL=postgres://… (a database of its own is created)."""

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from lealtad.core.tests import live

ROOT = Path(__file__).resolve().parents[3]
PORTS = iter(range(8130, 8136))
LEALTAD = [sys.executable, "-m", "lealtad.cli"]


def env_file(path: Path) -> dict:
    """Reads an env file as docker --env-file and systemd's EnvironmentFile do: NAME=value,
    comments skipped, an empty value passed through as an empty string."""
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value
    return values


def _postgres_url():
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        pytest.skip("needs PostgreSQL: set DATABASE_URL=postgres://…")
    return url


@pytest.fixture(scope="module")
def production_env(tmp_path_factory):
    import psycopg

    url = _postgres_url()
    name = f"lealtad_serve_{uuid.uuid4().hex[:8]}"
    migrated = live.postgres_copy(url, name)  # a copy of a database migrated once a session
    static = tmp_path_factory.mktemp("static")
    env = {
        **{k: v for k, v in os.environ.items() if k not in env_file(ROOT / ".env.example")},
        **env_file(ROOT / ".env.example"),
        # What the operator fills in for production; everything else stays as .env.example has it.
        "DEBUG": "false",
        "SECRET_KEY": "production-test-" + "s" * 50,
        "DATABASE_URL": migrated,
        "ALLOWED_HOSTS": "127.0.0.1",
        "STATIC_ROOT": str(static),  # not the worktree's var/static, which other runs share
    }
    yield env
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(_NoRedirect)


def get(url, **headers):
    # Behind the TLS proxy production runs behind: SECURE_SSL_REDIRECT stays on.
    headers.setdefault("X-Forwarded-Proto", "https")
    request = urllib.request.Request(url, headers=headers)
    try:
        with OPENER.open(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def children(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            found |= {int(p) for p in task.read_text().split()}
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class Serve:
    def __init__(self, env, port, *extra):
        self.env, self.port = env, port
        self.base = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [*LEALTAD, "serve", "--port", str(port), "--workers", "2", *extra],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, seconds=60) -> float:
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            if self.proc.poll() is not None:
                pytest.fail(f"serve exited: {self.proc.stdout.read().decode()[-3000:]}")
            with contextlib.suppress(OSError):
                if get(f"{self.base}/healthz")[0] == 200:
                    return time.monotonic() - started
            time.sleep(0.1)
        pytest.fail("serve did not answer /healthz")

    def stop(self):
        pids = children(self.proc.pid)
        if self.proc.poll() is None:
            self.proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=30)
        for pid in pids:  # only if a test failed half-way: never leave a worker behind
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def serve(production_env):
    started = []

    def start(*extra, **env):
        server = Serve({**production_env, **env}, next(PORTS), *extra)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def test_env_example_reads_the_same_in_a_shell_as_in_an_env_file():
    # docker --env-file and systemd take values as written; `set -a; . file` runs them as shell.
    out = subprocess.run(
        ["sh", "-c", "set -a; . ./.env.example; env -0"],
        env={"PATH": os.environ["PATH"]},
        cwd=ROOT,
        capture_output=True,
        timeout=10,
        check=True,
    )
    shell = dict(line.split("=", 1) for line in out.stdout.decode().split("\0") if "=" in line)
    for name, value in env_file(ROOT / ".env.example").items():
        assert shell.get(name) == value, name


def test_env_example_as_env_file_gives_the_production_defaults(production_env):
    code = (
        "from django.conf import settings as s;"
        "print(s.SECURE_HSTS_SECONDS, s.SECURE_SSL_REDIRECT, s.MEDIA_ROOT, s.TIME_ZONE,"
        " s.LANGUAGE_COOKIE_SECURE, s.LANGUAGE_COOKIE_HTTPONLY, s.LANGUAGE_COOKIE_SAMESITE)"
    )
    env = {**production_env, "STATIC_ROOT": ""}
    out = subprocess.run(
        [*LEALTAD, "shell", "-c", code + ";print(s.STATIC_ROOT)"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    first, static = out.stdout.splitlines()[-2:]
    assert first.split() == [
        "31536000",
        "True",
        str(ROOT / "var" / "media"),
        "America/Bogota",
        "True",
        "True",
        "Lax",
    ]
    assert static == str(ROOT / "var" / "static")


def test_a_wrong_value_stops_start_up_naming_the_variable(production_env):
    for name, value in (("SECURE_HSTS_SECONDS", "a year"), ("SECURE_SSL_REDIRECT", "maybe")):
        out = subprocess.run(
            [*LEALTAD, "check"],
            env={**production_env, name: value},
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode != 0 and name in out.stderr, out.stderr[-500:]
    out = subprocess.run(
        [*LEALTAD, "serve", "--no-mail"],
        env={**production_env, "WEB_WORKERS": "many"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode != 0 and "WEB_WORKERS" in out.stderr, out.stderr[-500:]
    assert "Traceback" not in out.stderr


def test_migrate_then_serve_serves_working_pages_and_static_files(serve):
    server = serve()  # WEB_WORKERS= and WEB_THREADS from .env.example, no collectstatic by hand
    server.wait_ready()
    for path in ("/", "/login/", "/signup/", "/admin/login/", "/api/v1/docs"):
        status, headers, body = get(server.base + path)
        assert status == 200, (path, status, body[:300])
        assert "Content-Security-Policy" in headers, path
    status, _headers, body = get(server.base + "/login/")
    css = body.decode().split('rel="stylesheet" href="', 1)[1].split('"', 1)[0]
    assert css.startswith("/static/") and css != "/static/cashier/cashier.css"  # hashed name
    assert get(server.base + css)[0] == 200
    status, headers, _body = get(server.base + "/login/", **{"X-Forwarded-Proto": "http"})
    assert status == 301 and headers["Location"].startswith("https://")  # SECURE_SSL_REDIRECT=


def test_workers_die_with_a_killed_master_and_a_restart_comes_up_at_once(serve):
    first = serve()
    first.wait_ready()
    deadline = time.monotonic() + 20
    while len(children(first.proc.pid)) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)  # the second worker may still be booting after the first answered
    orphans = children(first.proc.pid)
    assert len(orphans) >= 3  # two web workers and the task worker
    commands = [Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") for pid in orphans]
    assert [b"lealtad.cli", b"worker"] in [c[2:4] for c in commands], commands
    os.kill(first.proc.pid, signal.SIGKILL)
    first.proc.wait(timeout=10)
    deadline = time.monotonic() + 10
    while any(map(alive, orphans)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(map(alive, orphans)), "workers outlived their master"
    second = Serve(first.env, first.port)
    try:
        second.wait_ready(seconds=60)
        assert get(second.base + "/login/")[0] == 200
    finally:
        second.stop()
    # Not a stopwatch (a busy machine is slow to start anything): the port was free at once,
    # where the orphans used to hold it for ~19 s of gunicorn's "Connection in use" retries.
    assert b"Connection in use" not in second.proc.stdout.read()
