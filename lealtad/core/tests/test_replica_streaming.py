"""Issue 17: a real PostgreSQL streaming replica behind a real `lealtad serve`.

A primary cluster of our own (port 5452) and a hot standby made from it with `pg_basebackup -R`
(port 5453); a server with two workers, DATABASE_URL on the primary, DATABASE_REPLICA_URL on the
standby and CACHE_URL on a redis-server of our own (the read-your-writes pins, shared by the
workers). With the standby's replay paused:

- the customers export of an admin who wrote nothing is the standby's (the new customer missing),
- the admin who just registered that customer through the API reads it at once (pinned to the
  primary, from the cache: an API write, a screen read, any worker);
- once the standby is REPLICA_MAX_LAG_SECONDS behind, everyone reads the primary;
- replay resumed, the standby catches up; the standby stopped, pages still answer, from the
  primary.

The primary's database is a copy of the suite's own test database (already migrated: migrating
a new one took a minute on a busy machine). On the PostgreSQL pass of the suite only.
"""

import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import psycopg
import pytest
from django.db import connection

from lealtad.core.tests.crash_harness import LEALTAD, ROOT, Cluster, Server, postgres_bin

PRIMARY_PORT, STANDBY_PORT, SERVE_PORT = 5452, 5453, 8720
PASSWORD = "replica-secret-1"
PIN_SECONDS, MAX_LAG_SECONDS = 2, 5
MAKE_ADMINS = (
    "from lealtad.network.actions import create_merchant, create_staff\n"
    f"m = create_merchant(name='Réplica', country='CO', admin_username='ana.admin',"
    f" admin_password='{PASSWORD}')\n"
    "create_staff(merchant=m.merchant, username='beto.admin',"
    f" password='{PASSWORD}', role='merchant_admin')\n"
)

# django_db: the suite sets its test database up, which this test copies.
pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


class FastCluster(Cluster):
    """The harness's cluster without durability (nothing here survives a crash on purpose),
    ready to stream its WAL to a standby (wal_level replica; initdb's pg_hba.conf already
    trusts replication connections from 127.0.0.1)."""

    def _pg_ctl(self, *args, timeout=120):
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.home} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=40 "
            "-c wal_level=replica -c max_wal_senders=4 -c hot_standby=on"
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
            "--no-sync",
        )
        self._pg_ctl("start")
        with psycopg.connect(self.admin_dsn, autocommit=True) as admin:
            admin.execute("CREATE DATABASE lealtad")

    def standby_of(self, primary: "FastCluster"):
        """pg_basebackup -R: a copy of the primary that starts as its streaming standby."""
        self._run(
            str(self.bin / "pg_basebackup"),
            *("-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres"),
            *("-D", str(self.data), "-R", "-X", "stream", "-c", "fast", "--no-sync"),
        )
        self._pg_ctl("start")


class Browser:
    """Cookies kept by hand, the CSRF token sent back, redirects not followed."""

    def __init__(self, base):
        self.base, self.cookies = base, {}

    def request(self, path, form=None, headers=None):
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        sent = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if data is not None:
            sent.update(Origin=self.base, **{"X-CSRFToken": self.cookies.get("csrftoken", "")})
        sent.update(headers or {})
        request = urllib.request.Request(self.base + path, data=data, headers=sent)
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            response = opener.open(request, timeout=15)
        except urllib.error.HTTPError as error:
            response = error
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _sep, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, response.read().decode()

    def sign_in(self, username):
        self.request("/login/")
        status, page = self.request("/login/", {"username": username, "password": PASSWORD})
        assert status == 302, page


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def redis_server():
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("needs redis-server (apt-get install redis-server); .ci/run installs it")
    port = _free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _wait(what, check, seconds=10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"not within {seconds} s: {what}")


@pytest.fixture
def topology(django_db_setup, tmp_path):
    if postgres_bin() is None:
        pytest.skip("needs PostgreSQL's server binaries (initdb, pg_basebackup)")
    if connection.vendor != "postgresql":
        pytest.skip("runs on the suite's PostgreSQL pass (it copies the test database)")
    primary, standby, server = FastCluster(PRIMARY_PORT), FastCluster(STANDBY_PORT), None
    try:
        with redis_server() as cache_url:
            began = time.monotonic()
            primary.start()
            test_db = connection.settings_dict
            dump = subprocess.run(
                [
                    str(primary.bin / "pg_dump"),
                    *("-h", test_db["HOST"] or "127.0.0.1", "-p", str(test_db["PORT"] or 5432)),
                    *("-U", test_db["USER"] or "postgres", "--no-owner", "--no-privileges"),
                    test_db["NAME"],
                ],
                check=True,
                capture_output=True,
                timeout=60,
                env={**os.environ, "PGPASSWORD": test_db["PASSWORD"] or ""},
            ).stdout
            loaded = subprocess.run(
                [str(primary.bin / "psql"), "-q", "-v", "ON_ERROR_STOP=1", primary.dsn],
                input=dump + b"\nCREATE TABLE public.replica_probe (n int);\n",
                capture_output=True,
                timeout=60,
            )
            assert loaded.returncode == 0, loaded.stderr.decode()
            tables = "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
            assert _sql(primary.dsn, tables)[0][0] > 50, (test_db["NAME"], len(dump))
            env = {
                **os.environ,
                "DATABASE_URL": primary.dsn,
                "DATABASE_REPLICA_URL": standby.dsn,
                "CACHE_URL": cache_url,
                "REPLICA_PIN_SECONDS": str(PIN_SECONDS),
                "REPLICA_MAX_LAG_SECONDS": str(MAX_LAG_SECONDS),
                "DEBUG": "true",  # plain HTTP, and static files without collectstatic
                "API_RATE_LIMIT": "0",
                "EMAIL_URL": "console://",
                "LOG_LEVEL": "INFO",
            }
            # The two admins are made on the primary while the standby is copied from it (what
            # the copy misses, it streams).
            data = subprocess.Popen(
                [*LEALTAD, "shell", "-c", MAKE_ADMINS],
                env={**env, "DATABASE_REPLICA_URL": ""},
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            try:
                standby.standby_of(primary)
                server = Server(env, SERVE_PORT, workers=2, log=tmp_path / "serve.log")
                server.start()
                out, _err = data.communicate(timeout=120)
            finally:
                if data.poll() is None:
                    data.kill()
                    data.wait()
            assert data.returncode == 0, out.decode()
            print(f"\nprimary, standby, server and data up in {time.monotonic() - began:.1f} s")
            yield primary, standby, f"http://127.0.0.1:{SERVE_PORT}"
    finally:
        if server is not None:
            server.stop()
        standby.destroy(keep_log=tmp_path / "standby.log")
        primary.destroy(keep_log=tmp_path / "primary.log")


def _sql(dsn, query, *params):
    with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
        cursor = conn.execute(query, params)
        return cursor.fetchall() if cursor.description else []


def test_reports_read_the_standby_and_a_writer_reads_their_own_write(topology, tmp_path):
    primary, standby, base = topology

    def log() -> str:  # the server's decisions (the replica's INFO lines) and requests
        return (tmp_path / "serve.log").read_text(errors="replace")[-4000:]

    ana, beto = Browser(base), Browser(base)  # two admins of one merchant
    ana.sign_in("ana.admin")
    beto.sign_in("beto.admin")
    signed_in = time.monotonic()
    token_request = urllib.request.Request(
        f"{base}/api/v1/auth/token",
        data=json.dumps({"username": "ana.admin", "password": PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(token_request, timeout=15) as reply:
        token = json.loads(reply.read())["token"]

    time.sleep(max(0.0, PIN_SECONDS + 0.3 - (time.monotonic() - signed_in)))  # sign-in pins gone
    # Streaming works: a commit on the primary shows on the standby. The standby's lag counts
    # from this commit, the last it replays before the pause.
    probed = time.monotonic()
    _sql(primary.dsn, "INSERT INTO replica_probe VALUES (1)")
    _wait(
        "the standby replays",
        lambda: _sql(standby.dsn, "SELECT count(*) FROM replica_probe")[0][0] == 1,
    )
    _sql(standby.dsn, "SELECT pg_wal_replay_pause()")
    _wait(
        "replay paused",
        lambda: _sql(standby.dsn, "SELECT pg_get_wal_replay_pause_state()")[0][0] == "paused",
    )

    document = "79512468"
    register = urllib.request.Request(
        f"{base}/api/v1/customers",
        data=json.dumps(
            {
                "document_type": "CC",
                "document_number": document,
                "country": "CO",
                "email": "nueva@example.com",
            }
        ).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(register, timeout=15) as reply:
        assert reply.status == 201
    on_standby = "SELECT count(*) FROM customers_customer WHERE document_number = %s"
    assert _sql(primary.dsn, on_standby, document)[0][0] == 1
    assert _sql(standby.dsn, on_standby, document)[0][0] == 0  # paused: not replayed

    export = "/console/exports/customers.csv"
    status, csv_ana = ana.request(export)
    assert status == 200 and document in csv_ana, log()  # Ana wrote it: she reads the primary
    status, csv_beto = beto.request(export)
    within = time.monotonic() - probed
    assert within < MAX_LAG_SECONDS, log()  # too slow a machine: the standby lagged already
    assert status == 200 and document not in csv_beto, log()  # Beto reads the standby

    # The standby falls behind past REPLICA_MAX_LAG_SECONDS: everyone reads the primary.
    _wait(
        "Beto's export from the primary once the standby lags",
        lambda: document in beto.request(export)[1],
        seconds=MAX_LAG_SECONDS + 6,
    )
    assert _sql(standby.dsn, on_standby, document)[0][0] == 0  # still paused

    _sql(standby.dsn, "SELECT pg_wal_replay_resume()")
    _wait("the standby catches up", lambda: _sql(standby.dsn, on_standby, document)[0][0] == 1)

    standby.stop("immediate")  # gone: its connections in the workers die with it
    for _ in range(2):  # connections the workers held to it are dead, new ones refused
        status, csv_beto = beto.request(export)
        assert status == 200 and document in csv_beto, log()
        status, _page = beto.request("/console/ratings/")
        assert status == 200, log()
