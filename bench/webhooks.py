"""Webhooks (issue 12, I4): what two subscribed endpoints cost an accrual, and how fast events
arrive.

The real path end to end: `lealtad serve` (gunicorn and its task worker) against PostgreSQL with
production settings and WEBHOOK_ALLOW_PRIVATE_NETWORKS=true, two webhook receivers (real HTTP
servers on 127.0.0.1 that answer 200 at once and note when each event arrived). In one run, with
the same clients and duration:

1. accruals/s over HTTP with no endpoint subscribed to accruals, and
2. accruals/s with two endpoints subscribed to `accrual.posted` at the same merchant (created
   through POST /webhooks, switched by PATCH /webhooks/{id} `events`), in three interleaved
   pairs of segments, so that the machine's other load weighs on both alike; the worker delivers
   meanwhile (after the first "with" segment it drains its backlog during every segment). Then
   the wait until every event has arrived at both receivers (the worker's deliveries/s);
3. event delivery latency, from the accrual's 201 to the receiver getting the event: under the
   load of phase 2, and with accruals paced one at a time (light load);
4. queries per accrual without and with the two endpoints (CaptureQueriesContext, in-process).

    python bench/webhooks.py [--duration 20] [--clients 16] [--db postgres://…]

Called by bench/run.py (`make bench`). The goal: phase 2 ≥ 90 % of phase 1.
"""

import argparse
import http.client
import json
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import code_delivery  # noqa: E402  (bench/code_delivery.py: env, database)

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/lealtad_bench_webhooks"
PORT = 8116
RECEIVER_PORTS = (18136, 18137)
GOAL = 0.90
SEGMENTS = 3
OFF = "rating.received"  # what the endpoints hear while "no endpoint" is measured
SETUP = """
import json
from lealtad.core import testing
shop = testing.make_merchant("Bench webhooks", admin="bench.webhooks")
customers = [str(testing.make_customer(shop).customer.pk) for _ in range({count})]
print(json.dumps({{"key": shop.api_key, "admin": "bench.webhooks", "password": testing.PASSWORD,
                  "merchant": str(shop.merchant.pk), "customers": customers}}))
"""
PROFILE = """
import json, statistics, time
from decimal import Decimal
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from lealtad.customers.models import Membership
from lealtad.ledger.actions import accrue_points
from lealtad.webhooks.models import Endpoint

members = list(Membership.objects.select_related("customer", "category", "merchant")
               .filter(merchant_id="{merchant}")[:200])
branch = members[0].merchant.branches.first()
queries, times = {{"without": [], "with": []}}, {{"without": [], "with": []}}
# Interleaved, in-process, each accrual rolled back (the ledger stays as it was): the request
# path's own cost of emit, without HTTP, gunicorn or the worker's share of the CPU.
for n, member in enumerate(members):
    label = ("without", "with")[n % 2]
    Endpoint.objects.filter(merchant_id="{merchant}").update(active=label == "with")
    with CaptureQueriesContext(connection) as seen, transaction.atomic():
        started = time.perf_counter()
        accrue_points(merchant=member.merchant, membership=member, amount=Decimal(5000),
                      branch=branch, invoice_number=f"PROFILE-{{n}}")
        times[label].append(time.perf_counter() - started)
        transaction.set_rollback(True)
    queries[label].append(len(seen))
Endpoint.objects.filter(merchant_id="{merchant}").update(active=True)
out = {{label: statistics.median(queries[label]) for label in queries}}
out.update({{label + "_ms": round(statistics.median(times[label]) * 1000, 2) for label in times}})
print(json.dumps(out))
"""


class Receivers:
    """Two receivers; `arrived[(port, accrual id)]` = time.time() of the event's first arrival."""

    def __init__(self, ports=RECEIVER_PORTS):
        self.arrived: dict[tuple[int, str], float] = {}
        self.count = 0
        self.lock = threading.Lock()
        self.servers = [self._start(port) for port in ports]
        self.ports = ports

    def _start(self, port):
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                at = time.time()
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
                try:
                    accrual_id = json.loads(body)["data"]["id"]
                except (ValueError, KeyError, TypeError):
                    return
                with owner.lock:
                    owner.count += 1
                    owner.arrived.setdefault((port, accrual_id), at)

        server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server

    def stop(self):
        for server in self.servers:
            server.shutdown()
            server.server_close()


def _client(key, customers, duration, threads, seed, port, out):
    """Keep-alive clients posting accruals for `duration`; returns [(accrual id, 201 time)]."""
    rng = random.Random(seed)
    done, errors, lock = [], [0], threading.Lock()
    deadline = time.perf_counter() + duration

    def worker(n):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        mine, bad, i = [], 0, 0
        while time.perf_counter() < deadline:
            i += 1
            body = json.dumps(
                {
                    "customer_id": rng.choice(customers),
                    "amount": f"{rng.randint(2, 90)}000.00",
                    "invoice_number": f"WH-{seed}-{n}-{i}-{time.time_ns()}",
                }
            )
            try:
                conn.request("POST", "/api/v1/accruals", body=body, headers=headers)
                response = conn.getresponse()
                payload = response.read()
                if response.status == 201:
                    mine.append((json.loads(payload)["id"], time.time()))
                else:
                    bad += 1
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                bad += 1
        with lock:
            done.extend(mine)
            errors[0] += bad

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    out.put((done, errors[0]))


def load(key, customers, duration, clients, port) -> tuple[list, int]:
    processes = min(2, clients)
    queue = multiprocessing.Queue()
    procs = [
        multiprocessing.Process(
            target=_client,
            args=(key, customers, duration, clients // processes, seed, port, queue),
        )
        for seed in range(processes)
    ]
    for p in procs:
        p.start()
    done, errors = [], 0
    for _ in procs:
        got, bad = queue.get()
        done += got
        errors += bad
    for p in procs:
        p.join()
    return done, errors


def _pct(values, q):
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))] * 1000, 1) if values else None


def _request(port, method, path, body=None, token=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    response = conn.getresponse()
    payload = json.loads(response.read() or b"{}")
    conn.close()
    return response.status, payload


def _latencies(receivers, accruals, ports):
    found, lost = [], 0
    for accrual_id, answered in accruals:
        for port in ports:
            arrived = receivers.arrived.get((port, accrual_id))
            if arrived is None:
                lost += 1
            else:
                found.append(max(0.0, arrived - answered))
    return found, lost


def _wait_all(receivers, accruals, ports, timeout):
    deadline = time.time() + timeout
    wanted = [(port, a) for a, _ in accruals for port in ports]
    while time.time() < deadline:
        with receivers.lock:
            if all(k in receivers.arrived for k in wanted):
                return True
        time.sleep(0.05)
    return False


def measure(db_url=DEFAULT_DB, duration=20, clients=16, port=PORT, customers=400) -> dict:
    env = {
        **code_delivery._env(db_url, ""),
        "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
        "SMS_URL": "",
    }
    lealtad = [sys.executable, "-m", "lealtad.cli"]
    code_delivery._recreate(db_url)
    subprocess.run([*lealtad, "migrate", "-v", "0"], env=env, cwd=ROOT, check=True)
    made = subprocess.run(
        [*lealtad, "shell", "-c", SETUP.format(count=customers)],
        env=env, cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    data = json.loads(made.strip().splitlines()[-1])
    receivers = Receivers()
    server = subprocess.Popen(
        [*lealtad, "serve", "--port", str(port)],
        env=env, cwd=ROOT, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    report = {"duration": duration, "clients": clients, "customers": customers}
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise SystemExit("the server did not start")
        time.sleep(2)  # the task worker starts after gunicorn
        key, people = data["key"], data["customers"]
        status, token = _request(
            port,
            "POST",
            "/api/v1/auth/token",
            {"username": data["admin"], "password": data["password"]},
        )
        assert status == 200, token
        endpoints = []
        for receiver_port in RECEIVER_PORTS:
            status, body = _request(
                port,
                "POST",
                "/api/v1/webhooks",
                # Subscribed to something else while "no endpoint" is measured (PATCH below).
                {"url": f"http://127.0.0.1:{receiver_port}/hooks", "events": [OFF]},
                token["token"],
            )
            assert status == 201, body
            endpoints.append(body["id"])
        load(key, people, 3, clients, port)  # warm up
        # Interleaved, so that the machine's other load weighs on both alike: without, with,
        # without, … (SEGMENTS of each, `duration` seconds of each in all).
        without, with_hooks, errors, pairs = [], [], 0, []
        started = None  # when the first "with" segment began
        for segment in range(SEGMENTS):
            print(f"  accruals {segment + 1}/{SEGMENTS}: no endpoint, then two …", flush=True)
            counts = []
            for events, into in (([OFF], without), (["accrual.posted"], with_hooks)):
                for endpoint_id in endpoints:
                    status, body = _request(
                        port,
                        "PATCH",
                        f"/api/v1/webhooks/{endpoint_id}",
                        {"events": events},
                        token["token"],
                    )
                    assert status == 200, body
                if into is with_hooks and started is None:
                    started = time.time()
                done, bad = load(key, people, duration / SEGMENTS, clients, port)
                into += done
                errors += bad
                counts.append(len(done))
            pairs.append(round(counts[1] / counts[0], 3) if counts[0] else None)
        drained = _wait_all(receivers, with_hooks, RECEIVER_PORTS, timeout=300)
        last = max(receivers.arrived.values(), default=started)
        loaded_latency, lost = _latencies(receivers, with_hooks, RECEIVER_PORTS)

        print("  delivery latency, one accrual at a time …", flush=True)
        paced = []
        for n in range(40):
            status, body = _request(
                port,
                "POST",
                "/api/v1/accruals",
                {"customer_id": people[n], "amount": "5000.00", "invoice_number": f"PACE-{n}"},
                key,
            )
            if status == 201:
                paced.append((body["id"], time.time()))
                _wait_all(receivers, paced[-1:], RECEIVER_PORTS, timeout=30)
            time.sleep(random.uniform(0.05, 0.25))  # off the worker's polling rhythm
        paced_latency, paced_lost = _latencies(receivers, paced, RECEIVER_PORTS)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        receivers.stop()
    profile = subprocess.run(
        [*lealtad, "shell", "-c", PROFILE.format(merchant=data["merchant"])],
        env=env, cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    queries = json.loads(profile.strip().splitlines()[-1])
    check = subprocess.run([*lealtad, "ledger-check"], env=env, cwd=ROOT, capture_output=True)
    rate_without = len(without) / duration
    rate_with = len(with_hooks) / duration
    deliveries = 2 * len(with_hooks)
    report.update(
        {
            "accruals_per_second_without": round(rate_without, 1),
            "accruals_per_second_with": round(rate_with, 1),
            "errors": errors,
            "segment_ratios": pairs,
            "ratio": round(rate_with / rate_without, 3) if rate_without else None,
            "deliveries": deliveries,
            "all_delivered": drained and not lost,
            "lost": lost + paced_lost,
            "deliveries_per_second": round(deliveries / max(0.001, last - started), 1),
            "latency_loaded_p50_ms": _pct(loaded_latency, 0.50),
            "latency_loaded_p99_ms": _pct(loaded_latency, 0.99),
            "latency_p50_ms": _pct(paced_latency, 0.50),
            "latency_p99_ms": _pct(paced_latency, 0.99),
            "latency_samples": len(paced_latency),
            "queries_per_accrual_without": queries["without"],
            "queries_per_accrual_with": queries["with"],
            "accrue_points_ms_without": queries["without_ms"],
            "accrue_points_ms_with": queries["with_ms"],
            "ledger_check": check.returncode == 0,
        }
    )
    report["goal_met"] = bool(report["ratio"]) and report["ratio"] >= GOAL
    return report


def rows(r: dict) -> list[tuple]:
    return [
        ("accruals/s, no endpoint", f"{r['accruals_per_second_without']:.0f}", "", "", ""),
        (
            "accruals/s, 2 endpoints",
            f"{r['accruals_per_second_with']:.0f}",
            f"ratio {r['ratio']:.0%}",
            f"queries {r['queries_per_accrual_without']}→{r['queries_per_accrual_with']}",
            f"{r['accrue_points_ms_without']}→{r['accrue_points_ms_with']} ms, "
            f"errors {r['errors']}",
        ),
        (
            "webhook, paced",
            f"{r['latency_samples']}",
            f"p50 {r['latency_p50_ms']} ms",
            f"p99 {r['latency_p99_ms']} ms",
            f"lost {r['lost']}",
        ),
        (
            "webhook, under load",
            f"{r['deliveries']}",
            f"p50 {r['latency_loaded_p50_ms']} ms",
            f"p99 {r['latency_loaded_p99_ms']} ms",
            f"{r['deliveries_per_second']} deliveries/s",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--port", type=int, default=PORT)
    parser.add_argument("--db", default=os.environ.get("BENCH_WEBHOOKS_DATABASE_URL", DEFAULT_DB))
    args = parser.parse_args()
    r = measure(args.db, args.duration, args.clients, args.port)
    print(json.dumps(r, indent=2))
    for row in rows(r):
        print(f"  {row[0]:<24}{row[1]:>8}   {row[2]:<16}{row[3]:<18}{row[4]}")


if __name__ == "__main__":
    main()
