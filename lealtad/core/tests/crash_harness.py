"""The machinery of the API crash run (test_crash_api.py, issue 16): a PostgreSQL cluster of its
own, a real `lealtad serve` against it, clients that retry with the same Idempotency-Key, and the
faults (kill -9 of a worker or of the master, terminated backends, an immediate restart of
PostgreSQL). Nothing here mocks the product: the clients speak HTTP to gunicorn, the checks read
the database the server wrote.
"""

import contextlib
import glob
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[3]
LEALTAD = [sys.executable, "-m", "lealtad.cli"]


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL's binaries (Debian's layout), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    return Path(found[-1]).parent if found else None


def _version(path: str) -> int:
    try:
        return int(Path(path).parent.parent.name)
    except ValueError:
        return 0


class Cluster:
    """initdb into a temporary directory, serve on 127.0.0.1:`port` with fsync on. As root the
    server runs as `postgres` (PostgreSQL refuses root)."""

    def __init__(self, port: int):
        self.bin = postgres_bin()
        self.port = port
        self.home = Path(tempfile.mkdtemp(prefix="lealtad-crash-pg-"))
        self.data = self.home / "data"
        self.log = self.home / "postgres.log"
        self.as_root = os.geteuid() == 0
        if self.as_root:
            account = pwd.getpwnam("postgres")
            os.chown(self.home, account.pw_uid, account.pw_gid)
        self.dsn = f"postgres://postgres@127.0.0.1:{port}/lealtad"

    def _run(self, *command, check=True, timeout=120):
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_root else []
        return subprocess.run(
            [*prefix, *command], check=check, timeout=timeout, capture_output=True, text=True
        )

    def _pg_ctl(self, *args, timeout=120):
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.home} -c fsync=on "
            "-c synchronous_commit=on -c full_page_writes=on -c max_connections=60 "
            # Crash recovery first syncs the data directory: one syncfs() instead of an
            # fsync() per file (both make it durable; the latter took 8 s on a busy disk).
            "-c recovery_init_sync_method=syncfs"
        )
        return self._run(
            str(self.bin / "pg_ctl"),
            *("-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60"),
            *args,
            timeout=timeout,
        )

    def start(self):
        self._run(
            str(self.bin / "initdb"),
            *("-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8"),
            "--no-locale",
        )
        self._pg_ctl("start")
        with psycopg.connect(self.admin_dsn, autocommit=True) as admin:
            admin.execute("CREATE DATABASE lealtad")

    @property
    def admin_dsn(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def restart_immediate(self):
        """`pg_ctl restart -m immediate`: no checkpoint, every backend killed, crash recovery on
        start. Only a durable commit survives it."""
        self._pg_ctl("restart", "-m", "immediate")

    def stop(self, mode="fast"):
        self._pg_ctl("stop", "-m", mode, timeout=60)

    def destroy(self, keep_log: Path | None = None):
        if keep_log is not None and self.log.exists():
            shutil.copy(self.log, keep_log)
        with contextlib.suppress(subprocess.SubprocessError):
            self.stop("immediate")  # its files are deleted next: no checkpoint to wait for
        shutil.rmtree(self.home, ignore_errors=True)


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (our own child not yet reaped) is dead for every purpose here.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


class Server:
    """`lealtad serve` (gunicorn master and its workers) on 127.0.0.1:`port`."""

    def __init__(self, env: dict, port: int, workers: int, log: Path):
        self.env, self.port, self.workers, self.log = env, port, workers, log
        self.proc = None

    def start(self):
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            [
                *LEALTAD,
                *("serve", "--port", str(self.port), "--workers", str(self.workers)),
                *("--no-worker", "--no-collectstatic", "--timeout", "60"),
            ],
            env=self.env,
            cwd=ROOT,
            stdout=out,
            stderr=out,
        )
        out.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"lealtad serve exited {self.proc.returncode}: see {self.log}")
            if len(self.worker_pids()) >= self.workers and _healthy(self.port):
                return
            time.sleep(0.1)
        raise RuntimeError("lealtad serve did not come up in 60 s")

    def worker_pids(self) -> list[int]:
        pid = self.proc.pid
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            return []
        return [int(child) for child in children]

    def kill_worker(self, rng) -> int | None:
        pids = self.worker_pids()
        if not pids:
            return None
        pid = rng.choice(pids)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return None
        return pid

    def kill_master(self) -> float:
        """kill -9 the master; its workers must die with it and free the port. Returns the
        seconds until they had."""
        workers = self.worker_pids()
        started = time.monotonic()
        self.proc.kill()
        self.proc.wait(timeout=10)
        deadline = started + 20
        dead = None
        while time.monotonic() < deadline:
            if dead is None and not any(alive(pid) for pid in workers):
                dead = time.monotonic() - started
            if dead is not None and port_is_free(self.port):
                return dead, time.monotonic() - started
            time.sleep(0.05)
        left = [pid for pid in workers if alive(pid)]
        raise AssertionError(f"after kill -9 of the master: workers {left} alive, port taken")

    def stop(self):
        """At the end of the run, when nothing is left to check: kill -9, the workers first (a
        graceful stop spent 10 s here on a busy machine)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        for pid in self.worker_pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.proc.kill()
        self.proc.wait(timeout=30)


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as reply:
            return reply.status == 200
    except (OSError, urllib.error.HTTPError):
        return False


def lealtad(env: dict, *args, timeout=300) -> str:
    return together(env, [args], timeout)[0]


def together(env: dict, commands, timeout=300) -> list[str]:
    """Runs `lealtad` commands side by side; their outputs, in order (a failure raises)."""
    procs = [
        subprocess.Popen(
            [*LEALTAD, *args],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args in commands
    ]
    outputs = []
    for args, proc in zip(commands, procs, strict=True):
        out, err = proc.communicate(timeout=timeout)
        if proc.returncode:
            raise RuntimeError(f"lealtad {' '.join(args)} failed: {out}\n{err}")
        outputs.append(out)
    return outputs


def call(base: str, path: str, body, token: str, key: str | None = None, timeout=10):
    """(status, raw body bytes, headers) of one POST (or GET without a body)."""
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    if key:
        headers["Idempotency-Key"] = key
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            return reply.status, reply.read(), dict(reply.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


def is_final(status: int, raw: bytes) -> bool:
    """A final answer: anything but 5xx, 429 and 409 `idempotency_in_progress`."""
    if status >= 500 or status == 429:
        return False
    if status == 409:
        try:
            return json.loads(raw).get("code") != "idempotency_in_progress"
        except ValueError:
            return True
    return True


class Counter:
    def __init__(self):
        self._lock = threading.Lock()
        self.counts: dict[str, int] = {}

    def add(self, name: str, n: int = 1):
        with self._lock:
            self.counts[name] = self.counts.get(name, 0) + n

    def __getitem__(self, name):
        return self.counts.get(name, 0)
