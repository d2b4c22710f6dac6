"""Issue 17 on this machine: the topology of deploy/topology.py (HAProxy in front of two
`lealtad serve` nodes, PgBouncer in transaction mode, a PostgreSQL primary and its streaming
replica, Redis, two task workers), started once through the script's own CLI, and one test,
test_topology, running every check against it (each check runs even when one before failed):

- the load balancer spreads requests over both nodes (HAProxy's stats count them);
- what one node writes the other reads at once: a revoked POS key, a deactivated cashier, a
  prize picture, a screen session, an accrual;
- a node killed with -9 mid-load (clients retrying with the same Idempotency-Key) loses no
  acknowledged request and doubles none; the survivor carries on; the node restarted rejoins;
- e-mails sent through the topology arrive once each with two workers on the queue;
- the API contract passes through the load balancer.

One test, not one per check: the topology's ports are fixed (one topology per machine), and a
single test stays in one pytest-xdist process whatever the --dist mode (loadgroup did not keep
a group together under this pytest).

Needs PostgreSQL (DATABASE_URL=postgres://…) and Debian's haproxy, pgbouncer, redis-server and
PostgreSQL server binaries; skips naming what is missing. TOPOLOGY_PORT_BASE moves the HTTP
ports, TOPOLOGY_*_PORT the others; TOPOLOGY_DIR=<dir> runs against a topology already up.
"""

import email
import http.cookiejar
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import psycopg
import pytest
from aiosmtpd.controller import Controller
from django.conf import settings

from lealtad.core.tests.crash_harness import Counter, call, is_final

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "deploy" / "topology.py"
sys.path.insert(0, str(ROOT / "deploy"))
import topology  # noqa: E402  (deploy/topology.py: stdlib and psycopg only)

BASE = int(os.environ.get("TOPOLOGY_PORT_BASE", "8800"))
PORTS = {
    "--lb-port": BASE,
    "--node-port": BASE + 1,
    "--pgbouncer-port": int(os.environ.get("TOPOLOGY_PGBOUNCER_PORT", "6432")),
    "--redis-port": int(os.environ.get("TOPOLOGY_REDIS_PORT", "6380")),
    "--primary-port": int(os.environ.get("TOPOLOGY_PRIMARY_PORT", "5434")),
    "--replica-port": int(os.environ.get("TOPOLOGY_REPLICA_PORT", "5433")),
}
SMTP_PORT = BASE + 5
PASSWORD = "topology-secret-1"
# Names of this run (TOPOLOGY_DIR reuses a running topology, where an earlier run's are).
RUN = uuid.uuid4().hex[:6]
ADMIN = f"topo-admin-{RUN}"
MISSING = topology.missing_binaries()

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason="the topology is PostgreSQL's (set DATABASE_URL=postgres://…)",
    ),
    pytest.mark.skipif(bool(MISSING), reason=f"the topology needs {', '.join(MISSING)}"),
]


class Inbox:
    def __init__(self):
        self.messages: list[tuple[str, list[str], str]] = []  # (Message-ID, rcpt, subject)

    async def handle_DATA(self, server, session, envelope):
        parsed = email.message_from_bytes(envelope.original_content)
        self.messages.append(
            (parsed["Message-ID"] or "", list(envelope.rcpt_tos), parsed["Subject"] or "")
        )
        return "250 OK"


class Topo:
    """The running topology: topology.json, plus what the tests made in it."""

    def __init__(self, directory: Path, info: dict, inbox: Inbox):
        self.dir, self.info, self.inbox = directory, info, inbox
        self.lb, self.stats = info["lb"], info["stats"]
        self.node1, self.node2 = info["nodes"]
        self.env = {**json.loads((directory / "state.json").read_text())["env"]}
        self.env["DATABASE_URL"] = info["primary"]  # commands of the tests go straight there
        self.env.pop("DATABASE_REPLICA_URL", None)

    def cli(self, *args) -> str:
        done = subprocess.run(
            [sys.executable, SCRIPT, *args, "--dir", self.dir],
            capture_output=True,
            text=True,
            timeout=150,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def db(self):
        return psycopg.connect(self.info["primary"], autocommit=True)


@pytest.fixture(scope="module")
def topo():
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=SMTP_PORT)
    smtp.start()
    if os.environ.get("TOPOLOGY_DIR"):  # a topology already up (its e-mails to SMTP_PORT)
        directory = Path(os.environ["TOPOLOGY_DIR"])
        try:
            yield Topo(directory, json.loads((directory / "topology.json").read_text()), inbox)
        finally:
            smtp.stop()
        return
    # Not pytest's tmp_path: its folders are 0700, and PostgreSQL runs as `postgres` under it.
    directory = Path(tempfile.mkdtemp(prefix="lealtad-topology-"))
    began = time.monotonic()
    try:
        ports = [str(a) for item in PORTS.items() for a in item]
        done = subprocess.run(
            [
                *(sys.executable, SCRIPT, "up", "--dir", directory, *ports),
                *("--no-demo", "--no-fsync", "--email-url", f"smtp://127.0.0.1:{SMTP_PORT}"),
                *("--env", "REQUEST_LOG_LEVEL=WARNING"),
            ],
            capture_output=True,
            text=True,
            timeout=240,
        )
        if done.returncode:
            logs = "\n".join(
                f"--- {log.name}\n{log.read_text(errors='replace')[-1500:]}"
                for log in sorted((directory / "logs").glob("*.log"))
            )
            pytest.fail(f"topology up failed: {done.stderr}\n{logs}")
        info = json.loads(done.stdout)
        print(f"\ntopology up in {time.monotonic() - began:.1f}s: {info['seconds']}")
        yield Topo(directory, info, inbox)
    finally:
        ended = time.monotonic()
        subprocess.run(
            [sys.executable, SCRIPT, "down", "--dir", directory], timeout=120, check=False
        )
        print(f"topology down in {time.monotonic() - ended:.1f}s")
        smtp.stop()
        shutil.rmtree(directory, ignore_errors=True)
        print(f"topology down and removed in {time.monotonic() - ended:.1f}s")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """A person at a screen: cookies (shared by every port of 127.0.0.1, as a browser would
    share them behind one host name), CSRF from the cookie, redirects not followed."""

    def __init__(self):
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect
        )

    def open(self, url, data=None, headers=None):
        request = urllib.request.Request(url, data=data, headers=headers or {})
        try:
            with self.opener.open(request, timeout=20) as reply:
                return reply.status, reply.read(), dict(reply.headers)
        except urllib.error.HTTPError as error:
            return error.code, error.read(), dict(error.headers)

    def csrf(self) -> str:
        return next(cookie.value for cookie in self.jar if cookie.name == "csrftoken")

    def post(self, url, fields: dict, files: dict | None = None):
        fields = {**fields, "csrfmiddlewaretoken": self.csrf()}
        if not files:
            body = urllib.parse.urlencode(fields).encode()
            kind = "application/x-www-form-urlencoded"
        else:
            boundary = uuid.uuid4().hex
            parts = []
            for name, value in fields.items():
                parts.append(
                    f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                    f"{value}\r\n".encode()
                )
            for name, (filename, content, mime) in files.items():
                parts.append(
                    f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                    f'filename="{filename}"\r\nContent-Type: {mime}\r\n\r\n'.encode()
                    + content
                    + b"\r\n"
                )
            body = b"".join(parts) + f"--{boundary}--\r\n".encode()
            kind = f"multipart/form-data; boundary={boundary}"
        return self.open(url, body, {"Content-Type": kind})

    def sign_in(self, base: str, username: str):
        status, _body, _h = self.open(base + "/login/")
        assert status == 200
        status, body, headers = self.post(
            base + "/login/", {"username": username, "password": PASSWORD}
        )
        assert status == 302, (status, body[:300])
        return headers["Location"]


def _get(base: str, path: str, token: str):
    return call(base, path, None, token)


@pytest.fixture(scope="module")
def world(topo):
    """One merchant (admin, cashier, its POS key) and customers, made through the load balancer
    (the merchant by the CLI on the primary)."""
    # The merchant (with its admin and POS key), a second key (revoked by a check) and a
    # cashier (deactivated by one): the commands in one process on the primary.
    script = f"""
import io, json
from django.core.management import call_command
def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return json.loads(out.getvalue())
m = run("create_merchant", "--name", "Topología", "--country", "CO", "--point-value", "1",
        "--admin", "{ADMIN}", "--admin-password", "{PASSWORD}")
key = run("create_api_key", "--merchant", m["merchant_id"], "--name", "Caja 9")
cashier = run("create_staff", "--merchant", m["merchant_id"], "--username", "topo-caja-{RUN}",
              "--password", "{PASSWORD}", "--role", "cashier")
print(json.dumps([m, key, cashier]))
"""
    out = topology.lealtad_run(topo.env, [["shell", "-c", script]], timeout=120)[0]
    merchant, spare_key, cashier = json.loads(out.strip().splitlines()[-1])
    customers, documents = [], []
    for i in range(6):
        body = {
            "document_type": "CC",
            "document_number": str(7_100_000_000 + int(RUN, 16) % 10**6 * 10 + i),
            "country": "CO",
            "email": f"topo{i}-{RUN}@example.com",
            "first_name": "Ana",
            "last_name": f"Topo {i}",
        }
        status, raw, _h = call(topo.lb, "/api/v1/customers", body, merchant["api_key"])
        assert status == 201, raw
        customers.append(json.loads(raw)["id"])
        documents.append(body["document_number"])
    return {
        "documents": documents,
        **merchant,
        "customers": customers,
        "spare_key": spare_key,
        "cashier": cashier,
    }


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def check_the_load_balancer_uses_both_nodes(topo, world):
    def served():
        rows = topology.haproxy_stats(topo.stats)
        return {
            r["svname"]: int(r["stot"] or 0)
            for r in rows
            if r["pxname"] == "nodes" and r["svname"].startswith("node")
        }

    before = served()
    for _ in range(10):
        status, raw, _h = _get(topo.lb, "/healthz", "")
        assert status == 200 and json.loads(raw)["status"] == "ok"
    after = served()
    assert {name: after[name] - before[name] for name in after} == {"node1": 5, "node2": 5}
    assert topology.haproxy_servers(topo.stats) == {"node1": "UP", "node2": "UP"}
    # The replica streams (the migration reached it that way) and answers reads.
    with psycopg.connect(topo.info["replica"], autocommit=True) as replica:
        assert replica.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)
        assert replica.execute("SELECT count(*) FROM django_migrations").fetchone()[0] > 50


def check_a_key_revoked_on_one_node_is_refused_on_the_other(topo, world):
    key = world["spare_key"]
    path = f"/api/v1/customers/{world['customers'][0]}"
    for _ in range(2):  # both gunicorn workers of node 2 have seen it work
        status, raw, _h = _get(topo.node2, path, key["api_key"])
        assert status == 200, raw
    admin = Browser()
    admin.sign_in(topo.node1, ADMIN)
    status, _b, _h = admin.post(f"{topo.node1}/console/api-keys/{key['id']}/revoke/", {})
    assert status == 302
    for _ in range(4):
        status, raw, _h = _get(topo.node2, path, key["api_key"])
        assert status == 401, raw


def check_a_cashier_deactivated_on_one_node_is_refused_on_the_other(topo, world):
    cashier = world["cashier"]
    status, raw, _h = call(
        topo.node2, "/api/v1/auth/token", {"username": f"topo-caja-{RUN}", "password": PASSWORD}, ""
    )
    assert status == 200, raw
    token = json.loads(raw)["token"]
    path = f"/api/v1/customers/{world['customers'][0]}"
    for _ in range(2):
        status, raw, _h = _get(topo.node2, path, token)
        assert status == 200, raw
    admin = Browser()
    admin.sign_in(topo.node1, ADMIN)
    status, _b, _h = admin.post(f"{topo.node1}/console/staff/{cashier['user_id']}/active/", {})
    assert status == 302
    for _ in range(4):
        status, raw, _h = _get(topo.node2, path, token)
        assert status == 401, raw


def check_a_picture_uploaded_on_one_node_is_served_by_the_other(topo, world):
    admin = Browser()
    admin.sign_in(topo.node1, ADMIN)
    picture = _png()
    name = f"Premio {uuid.uuid4().hex[:6]}"
    status, body, _h = admin.post(
        f"{topo.node1}/console/prizes/new/",
        {"name": name, "description": "", "points_cost": "10", "stock": "", "active": "on"},
        files={"picture": ("premio.png", picture, "image/png")},
    )
    assert status == 302, body[:2000]
    with topo.db() as db:
        (stored,) = db.execute(
            "SELECT picture FROM program_reward WHERE name = %s", [name]
        ).fetchone()
    assert stored
    status, served, _h = Browser().open(f"{topo.node2}/media/{stored}")
    assert status == 200 and served == picture


def check_a_screen_session_from_one_node_works_on_the_other(topo, world):
    admin = Browser()
    landing = admin.sign_in(topo.node1, ADMIN)
    status, body, _h = admin.open(topo.node2 + "/console/")
    assert status == 200, (landing, status)
    assert ADMIN.encode() in body or "Topología".encode() in body
    # And a form posted on node 2 with the CSRF token node 1 gave is accepted.
    status, _b, headers = admin.post(topo.node2 + "/logout/", {})
    assert status == 302
    status, _b, headers = admin.open(topo.node1 + "/console/")
    assert status == 302 and "/login/" in headers["Location"]


def check_an_accrual_on_one_node_is_read_on_the_other(topo, world):
    customer = world["customers"][1]
    body = {"customer_id": customer, "amount": "1234.00"}
    status, raw, _h = call(
        topo.node1, "/api/v1/accruals", body, world["api_key"], f"topo-read-{RUN}"
    )
    assert status == 201, raw
    balance = json.loads(raw)["balance"]["available"]
    status, raw, _h = _get(topo.node2, f"/api/v1/customers/{customer}", world["api_key"])
    assert status == 200 and json.loads(raw)["points"]["available"] == balance > 0
    status, raw, _h = _get(
        topo.node2, f"/api/v1/customers?q={world['documents'][1]}", world["api_key"]
    )
    assert status == 200, raw
    (found,) = json.loads(raw)["results"]
    assert found["id"] == customer and found["points"]["available"] == balance
    status, raw, _h = _get(topo.node2, f"/api/v1/customers/{customer}/statement", world["api_key"])
    assert status == 200 and json.loads(raw)["results"][-1]["balance"] == balance


class Load:
    """Clients sending accruals through the load balancer, each with its own Idempotency-Key,
    retried with the same key and body on a connection error or a non-final answer."""

    def __init__(self, base, api_key, customers):
        self.base, self.api_key, self.customers = base, api_key, customers
        self.stop = threading.Event()
        self.counts = Counter()
        self.lock = threading.Lock()
        self.sent = []
        self.acked_at: list[float] = []

    def send(self, item, limit=30):
        started = time.monotonic()
        while time.monotonic() - started < limit:
            item["attempts"] += 1
            try:
                status, raw, _h = call(
                    self.base, "/api/v1/accruals", item["body"], self.api_key, item["key"]
                )
            except OSError:
                self.counts.add("connection_errors")
            else:
                if status >= 500:
                    self.counts.add(f"http_{status}")
                if is_final(status, raw):
                    item["final"] = (status, raw)
                    if 200 <= status < 300:
                        with self.lock:
                            self.acked_at.append(time.monotonic())
                    return
            time.sleep(0.1)

    def client(self, index):
        n = 0
        while not self.stop.is_set():
            n += 1
            customer = self.customers[(index + n) % len(self.customers)]
            item = {
                "key": f"topo-kill-{RUN}-{index}-{n}",
                "body": {"customer_id": customer, "amount": f"{100 + n}.00"},
                "attempts": 0,
                "final": None,
            }
            with self.lock:
                self.sent.append(item)
            self.send(item)


def _wait(what, check, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return time.monotonic()
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout} s")


def check_a_node_killed_mid_load_loses_nothing_and_rejoins(topo, world):
    with topo.db() as db:
        (since,) = db.execute("SELECT now()").fetchone()
    load = Load(topo.lb, world["api_key"], world["customers"])
    threads = [threading.Thread(target=load.client, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(2)
        master = int((topo.dir / "pids" / "node1.pid").read_text())
        os.kill(master, signal.SIGKILL)  # its gunicorn workers die with it (PDEATHSIG)
        killed = time.monotonic()
        out_at = _wait(
            "node1 out of rotation",
            lambda: topology.haproxy_servers(topo.stats).get("node1", "").startswith("DOWN"),
            5,
        )
        time.sleep(2)
        survived = sum(1 for at in load.acked_at if at > out_at)
        restart = json.loads(topo.cli("start-node", "--index", "1"))
        back_at = _wait(
            "node1 back in rotation",
            lambda: topology.haproxy_servers(topo.stats).get("node1") == "UP",
            10,
        )
        time.sleep(1)
    finally:
        load.stop.set()
        for thread in threads:
            thread.join(timeout=60)
    print(
        f"\nkill -9 of node1: out of rotation after {out_at - killed:.2f}s, "
        f"{survived} accruals acknowledged by node2 alone, node1 restarted (pid "
        f"{restart['pid']}) and back {back_at - killed:.1f}s after the kill; "
        f"{len(load.sent)} requests, counts {load.counts.counts}"
    )
    assert survived > 0
    unanswered = [item["key"] for item in load.sent if item["final"] is None]
    assert not unanswered
    acked = {
        item["key"]: json.loads(item["final"][1])["id"]
        for item in load.sent
        if item["final"][0] == 201
    }
    refused = [item["final"] for item in load.sent if item["final"][0] != 201]
    assert not refused, refused[:3]
    with topo.db() as db:
        movements = {
            str(tid)
            for (tid,) in db.execute(
                "SELECT id FROM ledger_transaction WHERE merchant_id = %s AND kind = 'accrual' "
                "AND created_at >= %s",
                [world["merchant_id"], since],
            ).fetchall()
        }
        stored = dict(
            db.execute(
                "SELECT key, status_code FROM api_idempotencyrecord WHERE key LIKE %s",
                [f"topo-kill-{RUN}-%"],
            ).fetchall()
        )
    # Every acknowledged accrual is in the ledger, once; nothing else is.
    assert len(set(acked.values())) == len(acked)
    assert movements == set(acked.values())
    assert set(stored) == set(acked) and set(stored.values()) == {201}

    # node1 serves again through the load balancer.
    def node1_served():
        return next(
            int(r["stot"])
            for r in topology.haproxy_stats(topo.stats)
            if r["pxname"] == "nodes" and r["svname"] == "node1"
        )

    before = node1_served()

    def rejoined():
        assert _get(topo.lb, "/healthz", "")[0] == 200
        return node1_served() > before

    _wait("node1 serving through the load balancer again", rejoined, 10)


def check_emails_through_the_topology_arrive_once(topo, world):
    """Two workers on one queue: each accrual's e-mail reaches the SMTP server once."""
    with topo.db() as db:
        db.execute(
            "UPDATE network_merchant SET email_on_accrual = true WHERE id = %s",
            [world["merchant_id"]],
        )
    try:
        transactions = []
        for i, customer in enumerate(world["customers"][2:6]):
            body = {"customer_id": customer, "amount": "5000.00"}
            status, raw, _h = call(
                topo.lb, "/api/v1/accruals", body, world["api_key"], f"topo-mail-{RUN}-{i}"
            )
            assert status == 201, raw
            transactions.append(json.loads(raw)["id"])
    finally:
        with topo.db() as db:
            db.execute(
                "UPDATE network_merchant SET email_on_accrual = false WHERE id = %s",
                [world["merchant_id"]],
            )
    addresses = [f"topo{i}-{RUN}@example.com" for i in range(2, 6)]

    def outbox():
        with topo.db() as db:
            return db.execute(
                'SELECT message_id, "to", attempts FROM notifications_outgoingemail '
                "WHERE event = 'accrual' AND \"to\" = ANY(%s) AND sent_at IS NOT NULL",
                [addresses],
            ).fetchall()

    def received():
        ids = {mid for mid, _to, _a in outbox()}
        return len(ids) == len(addresses) and ids <= {m for m, _r, _s in topo.inbox.messages}

    _wait("the accrual e-mails sent and received", received, 30)
    time.sleep(1.5)  # a second worker sending one again would show by now
    rows = outbox()
    assert sorted(to for _mid, to, _a in rows) == sorted(addresses)
    for message_id, to, _attempts in rows:
        copies = [rcpt for mid, rcpt, _s in topo.inbox.messages if mid == message_id]
        assert copies == [[to]], (message_id, copies)
    print(f"\ne-mails: {len(rows)} sent in {sum(a for _m, _t, a in rows)} attempts")


def _contract_suite():
    try:
        from lealtad.api.tests import remote
    except ImportError:
        return None
    return remote


def check_the_api_contract_passes_through_the_load_balancer(topo, world):
    """The API contract modules over HTTP through HAProxy, against the topology's database.
    Last: the suite empties the tables after each of its tests. TOPOLOGY_CONTRACT=smoke runs
    the suite's smaller slice (remote.CONTRACT_SMOKE)."""
    remote = _contract_suite()
    modules = remote.CONTRACT_SMOKE if os.environ.get("TOPOLOGY_CONTRACT") == "smoke" else None
    # What the suite's own process must share with the servers: the signing key, the cache the
    # tests clear, the time zone and currency (remote.py's docstring).
    shared = ("SECRET_KEY", "CACHE_URL", "TIME_ZONE", "NETWORK_CURRENCY", "API_RATE_LIMIT")
    env = {name: topo.env[name] for name in shared if name in topo.env}
    began = time.monotonic()
    done = remote.run_contract_suite(topo.lb, topo.info["primary"], env, modules=modules)
    counts = remote.summary(done)
    print(f"\ncontract through the load balancer: {counts} in {time.monotonic() - began:.0f}s")
    failed = [
        line for line in (done.stdout or "").splitlines() if line.startswith(("FAILED", "ERROR"))
    ]
    output = (
        "\n".join(failed[:40]) + "\n" + (done.stdout or "")[-3000:] + (done.stderr or "")[-1000:]
    )
    assert done.returncode == 0, output
    assert counts.get("failed", 0) == 0 and counts.get("errors", 0) == 0, output
    assert counts.get("passed", 0) > 0 and counts.get("over_http", 0) > 0, (counts, output)


if _contract_suite() is None:
    # TODO(issue 17): the contract suite over HTTP (lealtad/api/tests/remote.py) has not landed;
    # the check above joins the run of test_topology once it has.
    @pytest.mark.skip(reason="contract-through-LB: waiting for remote.py")
    def test_contract_through_the_load_balancer():
        pass  # never runs: skipped, it only marks what is missing


def test_topology(topo, world):
    """Every check against the one topology, in one test (the topology's fixed ports allow one
    per machine, and one test keeps it in one pytest-xdist process); each runs even when one
    before it failed, and the failures are reported together."""
    checks = [
        (name, fn) for name, fn in globals().items() if name.startswith("check_") and callable(fn)
    ]
    if _contract_suite() is None:
        checks = [(n, f) for n, f in checks if "contract" not in n]
    failures = []
    for name, fn in checks:
        began = time.monotonic()
        try:
            fn(topo, world)
        except Exception as exc:  # reported with the others below
            failures.append(f"{name}: {type(exc).__name__}: {str(exc)[:6000]}")
            outcome = "FAILED"
        else:
            outcome = "ok"
        print(f"\n{name}: {outcome} in {time.monotonic() - began:.1f}s")
    assert not failures, "\n\n".join(failures)
