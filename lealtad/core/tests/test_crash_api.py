"""Crashes lose nothing (issue 16): a load of accruals, redemptions, coin payments, coin earnings
and POS invoices against a real `lealtad serve` on a PostgreSQL cluster of the test's own, while
gunicorn's workers and master are killed with -9, the app's database backends terminated and
PostgreSQL restarted with `-m immediate`. Every POST carries its own Idempotency-Key and a client
retries it (same key, same body) until it has a final answer.

Afterwards: every acknowledged request is in the ledger exactly once, no movement exists without
the stored response of its key, the stored response is the acknowledged one (and a replay returns
it), no key is left refusing its retries, and `lealtad ledger-check` is clean.

`pytest -m slow -k crash` (DATABASE_URL=postgres://…); CRASH_SEED=<n> repeats a run.
"""

import contextlib
import json
import os
import random
import threading
import time
import uuid

import psycopg
import pytest
from django.conf import settings
from django.core import signing

from lealtad.coins import qr
from lealtad.core.tests.crash_harness import (
    Cluster,
    Counter,
    Server,
    call,
    is_final,
    lealtad,
    postgres_bin,
    together,
)

PG_PORT = 5441
HTTP_PORT = 8610
CLIENTS = 6
LOAD_SECONDS = float(os.environ.get("CRASH_SECONDS", "30"))
SECRET = "crash-api-test-" + "s" * 50
PASSWORD = "crash-secret-1"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason="the crash run is PostgreSQL's (set DATABASE_URL=postgres://…); SQLite has no "
        "server to crash",
    ),
    pytest.mark.skipif(
        postgres_bin() is None,
        reason="needs PostgreSQL's server binaries (/usr/lib/postgresql/*/bin) for a cluster "
        "of its own",
    ),
]


@pytest.fixture
def network(tmp_path):
    cluster = Cluster(PG_PORT)
    server = None
    began = time.monotonic()
    try:
        cluster.start()
        print(f"\ncluster up in {time.monotonic() - began:.1f}s")
        env = {
            **os.environ,
            "DATABASE_URL": cluster.dsn,
            "DEBUG": "false",
            "SECRET_KEY": SECRET,
            "SECURE_SSL_REDIRECT": "false",
            "ALLOWED_HOSTS": "127.0.0.1",
            "STATIC_ROOT": str(tmp_path / "static"),
            "API_RATE_LIMIT": "0",
            "EMAIL_URL": "console://",
        }
        # collectstatic needs no database: it runs beside the migrations. The setup commits
        # without waiting for each flush (its ~300 commits waited on a busy disk); the server is
        # durable (fsync and synchronous_commit on) for the load, which is what is tested.
        setup = {**env, "PGOPTIONS": "-c synchronous_commit=off"}
        together(setup, [["migrate", "-v", "0"], ["collectstatic", "--no-input", "-v", "0"]])
        roles = {
            "points": [],
            "issuer": ["--coin-issuer", "--cashback-rate", "0.03"],
            "acceptor": ["--coin-acceptor"],
        }
        made = together(
            setup,
            [
                [
                    *("create-merchant", "--name", f"Crash {name}", "--country", "CO"),
                    *("--point-value", "1", "--admin", f"crash-{name}"),
                    *("--admin-password", PASSWORD, *flags),
                ]
                for name, flags in roles.items()
            ],
        )
        merchants = {name: json.loads(out) for name, out in zip(roles, made, strict=True)}
        print(f"migrated, merchants made at {time.monotonic() - began:.1f}s")
        server = Server(env, HTTP_PORT, workers=3, log=tmp_path / "serve.log")
        server.start()
        print(f"serving at {time.monotonic() - began:.1f}s")
        yield cluster, server, env, merchants
    finally:
        ended = time.monotonic()
        if server is not None:
            server.stop()
        stopped = time.monotonic()
        cluster.destroy(keep_log=tmp_path / "postgres.log")
        print(
            f"teardown: serve stopped in {stopped - ended:.1f}s, "
            f"cluster removed in {time.monotonic() - stopped:.1f}s"
        )


def _qr(customer_id: str, version: int) -> str:
    """A payment QR as the customer app shows it (lealtad.coins.qr), signed with the server's
    key."""
    body = {
        "c": customer_id,
        "v": version,
        "n": uuid.uuid4().hex,
        "t": int(time.time()),
    }
    return qr.PREFIX + signing.dumps(body, key=SECRET, salt=qr.SALT)


class Load:
    """The clients: each request is (kind, path, token, body, key); a client retries it with the
    same key and body until a final answer (at most RETRY_SECONDS)."""

    RETRY_SECONDS = 45

    def __init__(self, base, merchants, rewards, customers, rng_seed):
        self.base = base
        self.merchants = merchants
        self.rewards = rewards
        self.customers = customers  # [(id, qr_version)]
        self.seed = rng_seed
        self.stop = threading.Event()
        self.counts = Counter()
        self.lock = threading.Lock()
        self.sent = []  # every request: dict(kind, path, token, body, key, answers=[...])

    def request(self, rng, n):
        customer, version = rng.choice(self.customers)
        kind = rng.choices(
            ["accrual", "invoice", "redemption", "coin_payment", "coin_earning"],
            weights=[35, 20, 20, 15, 10],
        )[0]
        tag = f"{self.seed}-{n}"
        points, issuer, acceptor = (self.merchants[k] for k in ("points", "issuer", "acceptor"))
        if kind == "accrual":
            amount = f"{rng.randint(100, 5000)}.00"
            body = {"customer_id": customer, "amount": amount, "invoice_number": f"A-{tag}"}
            return kind, "/api/v1/accruals", points["api_key"], body
        if kind == "invoice":
            body = {
                "invoice_number": f"I-{tag}",
                "amount": f"{rng.randint(100, 5000)}.00",
                "customer": {"customer_id": customer},
            }
            return kind, "/api/v1/invoices", points["api_key"], body
        if kind == "redemption":
            body = {"customer_id": customer, "reward_id": rng.choice(self.rewards)}
            return kind, "/api/v1/redemptions", points["api_key"], body
        if kind == "coin_payment":
            body = {
                "customer_id": customer,
                "invoice_amount": "2000.00",
                "coins": rng.randint(10, 500),
                "invoice_number": f"P-{tag}",
                "qr_payload": _qr(customer, version),
            }
            return kind, "/api/v1/coin-payments", acceptor["api_key"], body
        body = {"customer_id": customer, "amount": "10000.00", "invoice_number": f"E-{tag}"}
        return kind, "/api/v1/coins/earnings", issuer["api_key"], body

    def send(self, item, deadline_seconds=None):
        """Sends `item` until a final answer; records every answer."""
        started = time.monotonic()
        limit = deadline_seconds or self.RETRY_SECONDS
        pause = 0.05
        while True:
            item["attempts"] += 1
            self.counts.add("requests")
            if item["attempts"] > 1:
                self.counts.add("retries")
            try:
                status, raw, headers = call(
                    self.base, item["path"], item["body"], item["token"], item["key"]
                )
            except OSError as exc:
                item["answers"].append(("error", type(exc).__name__))
                self.counts.add("connection_errors")
            else:
                replayed = headers.get("Idempotent-Replayed") == "true"
                item["answers"].append((status, raw, replayed))
                if status >= 500:
                    self.counts.add(f"http_{status}")
                if is_final(status, raw):
                    item["final"] = (status, raw, replayed)
                    return
                if status == 409:
                    self.counts.add("in_progress_409")
            if time.monotonic() - started > limit:
                return
            time.sleep(pause)
            pause = min(pause * 2, 0.5)

    def client(self, index):
        rng = random.Random(f"{self.seed}-client-{index}")
        n = 0
        while not self.stop.is_set():
            n += 1
            kind, path, token, body = self.request(rng, f"{index}-{n}")
            item = {
                "kind": kind,
                "path": path,
                "token": token,
                "body": body,
                "key": f"crash-{self.seed}-{index}-{n}",
                "attempts": 0,
                "answers": [],
                "final": None,
            }
            with self.lock:
                self.sent.append(item)
            self.send(item)


def _faults(rng, stop, due, cluster, server, counts, log):
    """Until `stop`: at random moments one fault; PostgreSQL's immediate restart once, and the
    master killed at least once, at moments drawn in the first 60 % of the load; `due` is set
    once both happened (on a busy machine a restart of `serve` can take 15 s: the load goes on
    until then)."""
    started = time.monotonic()
    restart_at = rng.uniform(0.35, 0.6) * LOAD_SECONDS
    master_at = rng.uniform(0.15, 0.3) * LOAD_SECONDS
    restarted = master_killed = False
    while not stop.wait(rng.uniform(0.7, 2.5)):
        elapsed = time.monotonic() - started
        if restarted and master_killed:
            due.set()
        if not restarted and elapsed >= restart_at:
            kind = "pg_restart"
        elif not master_killed and elapsed >= master_at:
            kind = "kill_master"
        else:
            kind = rng.choices(["kill_worker", "kill_master", "terminate"], weights=[45, 5, 50])[0]
        at = f"{elapsed:5.1f}s"
        if kind == "kill_worker":
            pid = server.kill_worker(rng)
            if pid:
                counts.add("kill_worker")
                log.append(f"{at} kill -9 worker {pid}")
        elif kind == "kill_master":
            dead, freed = server.kill_master()
            counts.add("kill_master")
            server.start()
            master_killed = True
            log.append(
                f"{at} kill -9 master: workers dead after {dead:.2f}s, port free after "
                f"{freed:.2f}s, serve started again"
            )
        elif kind == "terminate":
            try:
                with psycopg.connect(cluster.admin_dsn, autocommit=True, connect_timeout=5) as db:
                    pids = [
                        pid
                        for (pid,) in db.execute(
                            "SELECT pid FROM pg_stat_activity WHERE datname = 'lealtad' "
                            "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
                        ).fetchall()
                    ]
                    chosen = rng.sample(pids, min(len(pids), rng.randint(1, 3)))
                    for pid in chosen:
                        db.execute("SELECT pg_terminate_backend(%s)", [pid])
            except psycopg.OperationalError:
                chosen = []
            counts.add("terminated_backends", len(chosen))
            log.append(f"{at} pg_terminate_backend {chosen}")
        else:
            began = time.monotonic()
            cluster.restart_immediate()
            restarted = True
            counts.add("pg_restart")
            log.append(f"{at} pg_ctl restart -m immediate ({time.monotonic() - began:.1f}s)")


def test_crashes_lose_nothing_and_double_nothing(network):
    cluster, server, env, merchants = network
    seed = int(os.environ.get("CRASH_SEED") or random.SystemRandom().randrange(10**6))
    print(f"\ncrash run seed {seed} (CRASH_SEED={seed} repeats it)")
    rng = random.Random(seed)
    base = f"http://127.0.0.1:{HTTP_PORT}"
    points = merchants["points"]

    # The prizes (by the admin, through the API), the customers and their funds, before any
    # fault.
    status, raw, _h = call(
        base, "/api/v1/auth/token", {"username": "crash-points", "password": PASSWORD}, ""
    )
    assert status == 200, raw
    admin = json.loads(raw)["token"]
    rewards = []
    for cost in (10, 25, 40):
        body = {"name": f"Premio {cost}", "points_cost": cost}
        status, raw, _h = call(base, "/api/v1/rewards", body, admin)
        assert status == 201, raw
        rewards.append(json.loads(raw)["id"])
    customers = []
    for i in range(8):
        status, raw, _h = call(
            base,
            "/api/v1/customers",
            {
                "document_type": "CC",
                "document_number": str(20_000_000 + seed % 1000 * 100 + i),
                "country": "CO",
                "email": f"crash{i}@example.com",
                "mobile": f"+57301{i:07d}",
                "first_name": "Ana",
                "last_name": f"Crash {i}",
                "gender": "F",
                "birth_date": "1990-05-17",
                "city": "Bogotá",
            },
            points["api_key"],
        )
        assert status == 201, raw
        customers.append(json.loads(raw)["id"])
    with psycopg.connect(cluster.dsn) as db:
        versions = dict(
            db.execute(
                "SELECT id::text, qr_version FROM customers_customer WHERE id = ANY(%s)",
                [customers],
            ).fetchall()
        )
    funding = []
    for i, customer in enumerate(customers):
        for path, token, body in (
            ("/api/v1/accruals", points["api_key"], {"amount": "100000.00"}),
            ("/api/v1/coins/earnings", merchants["issuer"]["api_key"], {"amount": "300000.00"}),
        ):
            key = f"fund-{seed}-{path}-{i}"
            body = {**body, "customer_id": customer, "invoice_number": key}
            status, raw, _h = call(base, path, body, token, key)
            assert status == 201, raw
            funding.append(json.loads(raw)["id"])

    load = Load(base, merchants, rewards, [(c, versions[c]) for c in customers], seed)
    with psycopg.connect(cluster.dsn) as db:
        (load_started,) = db.execute("SELECT now()").fetchone()
    threads = [threading.Thread(target=load.client, args=(i,)) for i in range(CLIENTS)]
    stop_faults = threading.Event()
    due = threading.Event()
    fault_log = []
    fault_errors = []

    def faults():
        try:
            _faults(rng, stop_faults, due, cluster, server, load.counts, fault_log)
        except BaseException as exc:  # reported by the test, not lost in the thread
            fault_errors.append(exc)
        finally:
            due.set()

    fault_thread = threading.Thread(target=faults)
    for thread in threads:
        thread.start()
    fault_thread.start()
    time.sleep(LOAD_SECONDS)
    due.wait(timeout=120)
    time.sleep(3)  # some load after the last fault that had to happen
    stop_faults.set()
    fault_thread.join(timeout=120)
    load.stop.set()
    for thread in threads:
        thread.join(timeout=120)
    print("\n".join(fault_log))
    assert not fault_errors, fault_errors

    # Keys still without a final answer are asked once more, faults over: none may be stuck.
    unanswered = [item for item in load.sent if item["final"] is None]
    for item in unanswered:
        load.send(item, deadline_seconds=20)
    stuck = [(item["key"], item["answers"][-3:]) for item in load.sent if item["final"] is None]
    assert not stuck, f"keys that never got a final answer: {stuck[:5]}"

    problems = _verify(cluster, load, load_started)
    acked = [item for item in load.sent if 200 <= item["final"][0] < 300]
    counts = load.counts
    summary = {
        "seed": seed,
        "requests_sent": len(load.sent),
        "http_requests": counts["requests"],
        "retries": counts["retries"],
        "retried_keys": sum(1 for item in load.sent if item["attempts"] > 1),
        "acknowledged": len(acked),
        # Done, but the answer lost with its worker or connection: the retry got the replay.
        "acked_by_replay": sum(1 for item in acked if item["final"][2]),
        "found": counts["found"],
        "refused_4xx": len(load.sent) - len(acked),
        "kill_worker": counts["kill_worker"],
        "kill_master": counts["kill_master"],
        "terminated_backends": counts["terminated_backends"],
        "pg_restarts": counts["pg_restart"],
        "connection_errors": counts["connection_errors"],
        "in_progress_409": counts["in_progress_409"],
        "answers_5xx": {k: v for k, v in counts.counts.items() if k.startswith("http_5")},
        "unanswered_in_load": len(unanswered),
        "replays_checked": counts["replays_checked"],
        "by_kind": _by_kind(load.sent),
    }
    print("crash run:", json.dumps(summary))
    assert not problems, "\n".join(problems[:30])
    # A 5xx says "retry": 503 problem+json `service_unavailable`, never a bare 500 (HTML or
    # `internal_error`).
    bad = sorted(
        {
            (answer[0], answer[1][:120])
            for item in load.sent
            for answer in item["answers"]
            if answer[0] != "error" and answer[0] >= 500 and not _unavailable(answer)
        }
    )
    assert not bad, bad
    assert counts["pg_restart"] == 1 and counts["kill_master"] >= 1
    assert counts["found"] == len(acked) > 0
    report = subprocess_ledger_check(env)
    assert "every account agrees" in report, report


def _unavailable(answer) -> bool:
    status, raw, _replayed = answer
    try:
        return status == 503 and json.loads(raw)["code"] == "service_unavailable"
    except (ValueError, KeyError, TypeError):
        return False


def subprocess_ledger_check(env) -> str:
    return lealtad(env, "ledger-check")


def _by_kind(sent) -> dict:
    kinds = {}
    for item in sent:
        status, raw, _replayed = item["final"]
        label = str(status)
        if status >= 300:
            with contextlib.suppress(ValueError):
                label += " " + json.loads(raw).get("code", "")
        entry = kinds.setdefault(item["kind"], {})
        entry[label] = entry.get(label, 0) + 1
    return kinds


def _movement_ids(kind: str, body: dict) -> tuple[str, str | None]:
    """(the table the acknowledged object is in, its ledger transaction's id when the body
    names it)."""
    if kind == "invoice":
        return "invoices_invoice", body.get("transaction_id")
    if kind == "coin_payment":
        return "coins_coinpayment", None
    return "ledger_transaction", body["id"]


def _verify(cluster, load, since) -> list[str]:
    """Every acknowledged request exactly once, no movement without its key's stored response,
    the stored response = the acknowledged one, and a replay of every retried key (and a
    sample of the rest) returns it again."""
    problems = []
    with psycopg.connect(cluster.dsn) as db:
        records = {
            key: (status, bytes(body), request_hash)
            for key, status, body, request_hash in db.execute(
                "SELECT key, status_code, response_body, request_hash FROM api_idempotencyrecord"
                " WHERE key LIKE 'crash-%%'"
            ).fetchall()
        }
        transactions = {
            str(tid): (kind, invoice)
            for tid, kind, invoice in db.execute(
                "SELECT id, kind, invoice_number FROM ledger_transaction WHERE created_at >= %s",
                [since],
            ).fetchall()
        }
        payments = {
            str(pid): (status, str(tid) if tid else None)
            for pid, status, tid in db.execute(
                "SELECT id, status, transaction_id FROM coins_coinpayment"
            ).fetchall()
        }
        invoices = {
            str(iid): (number, str(tid) if tid else None)
            for iid, number, tid in db.execute(
                "SELECT id, invoice_number, transaction_id FROM invoices_invoice"
            ).fetchall()
        }
    claimed = set()  # the transactions, invoices and payments some stored response names
    for status, raw, _hash in records.values():
        if not 200 <= status < 300:
            continue
        body = json.loads(raw)
        claimed.add(body.get("id"))
        if "transaction_id" in body:  # an invoice
            claimed.add(body.get("transaction_id"))
            claimed.add(invoices.get(body["id"], (None, None))[1])
        elif body.get("status") in ("captured", "awaiting_code"):  # a coin payment
            claimed.add(payments.get(body["id"], (None, None))[1])
    for pid in payments:
        if pid not in claimed:
            problems.append(f"coin payment {pid} has no stored response")
    for iid, (number, _tid) in invoices.items():
        if iid not in claimed:
            problems.append(f"invoice {iid} ({number}) has no stored response")
    for item in load.sent:
        status, raw, _replayed = item["final"]
        record = records.get(item["key"])
        if not 200 <= status < 300:
            if record is not None and (record[0], record[1]) != (status, raw):
                problems.append(f"{item['key']}: answered {status} but stored {record[0]}")
            continue
        if record is None:
            problems.append(f"{item['key']} ({item['kind']}): acknowledged, no stored response")
            continue
        if (record[0], record[1]) != (status, raw):
            problems.append(f"{item['key']}: acknowledged {status} {raw[:80]!r}, stored other")
        body = json.loads(raw)
        _table, transaction = _movement_ids(item["kind"], body)
        if item["kind"] == "coin_payment":
            found = payments.get(body["id"])
            transaction = found[1] if found else None
            if found is None or found[0] != "captured" or transaction is None:
                problems.append(f"{item['key']}: payment {body['id']} is {found}")
                continue
        if item["kind"] == "invoice":
            found = invoices.get(body["id"])
            if found is None or found[1] != transaction:
                problems.append(f"{item['key']}: invoice {body['id']} is {found}")
                continue
        if transaction not in transactions:
            problems.append(f"{item['key']}: transaction {transaction} missing from the ledger")
            continue
        load.counts.add("found")
    # No movement without the stored response of its key (a second, unacknowledged execution of
    # a key would leave one).
    load_kinds = ("accrual", "redemption", "coin_earn", "coin_payment")
    for tid, (kind, invoice) in transactions.items():
        if kind in load_kinds and tid not in claimed and not (invoice or "").startswith("fund-"):
            problems.append(f"transaction {tid} ({kind}, invoice {invoice}) has no stored response")
    # Exactly once by invoice number: one ledger transaction per invoice the load sent.
    per_invoice = {}
    for kind, invoice in transactions.values():
        if invoice and kind in load_kinds:
            per_invoice[invoice] = per_invoice.get(invoice, 0) + 1
    problems += [f"invoice {n}: {c} transactions" for n, c in per_invoice.items() if c > 1]
    # A replay answers what was acknowledged.
    retried = [item for item in load.sent if item["attempts"] > 1]
    others = [item for item in load.sent if item["attempts"] == 1]
    sample = retried + random.Random(load.seed).sample(others, min(40, len(others)))
    for item in sample:
        status, raw, headers = call(
            load.base, item["path"], item["body"], item["token"], item["key"]
        )
        load.counts.add("replays_checked")
        final = item["final"]
        if 200 <= final[0] < 300 and (status, raw) != (final[0], final[1]):
            problems.append(f"{item['key']}: replay {status} {raw[:80]!r} ≠ acknowledged")
        if 200 <= final[0] < 300 and headers.get("Idempotent-Replayed") != "true":
            problems.append(f"{item['key']}: a repeat was not a replay")
    return problems
