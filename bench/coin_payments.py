"""Coin payments (issue 11, K3): create + confirm over HTTP, and the code's trip in between.

The real path end to end: `lealtad serve` (gunicorn and its task worker) against PostgreSQL, an
acceptor merchant's API key, customers holding coins; each payment is POST /coin-payments (the
coins held, the code's SMS task written in that transaction), the worker hands the SMS to a fake
Twilio (a real HTTP server on 127.0.0.1, lealtad/notifications/tests/fake_sms.py), the code is read
from the message as a customer would read it, and POST /coin-payments/{id}/confirm captures it.
Several clients pay at once, each its own customers (10 codes a customer a day); each client's
first payment warms the server up and is not counted.

    python bench/coin_payments.py [--payments 80] [--clients 4] [--db postgres://…]

Called by bench/run.py (`make bench`). Figures: create p50/p99, confirm p50/p99 as the client
saw them and as the server spent them (its Server-Timing header), create + confirm server time
p99 (issue 15: under 100 ms; the SMS's trip in between is not part of it), code at the provider
p50/p99 (goal: under 5 s).
"""

import argparse
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
import code_delivery  # noqa: E402  (bench/code_delivery.py: env, ports, database)

from lealtad.notifications.tests import fake_sms  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/lealtad_bench_payments"
SETUP = """
import json
from decimal import Decimal
from lealtad.coins.actions import earn_coins
from lealtad.core import testing
issuer = testing.make_merchant("Bench café", coin_issuer=True, cashback_rate="1")
acceptor = testing.make_merchant("Bench librería", coin_acceptor=True)
key = acceptor.api_key  # the POS key create_merchant issues (a second "POS" key is refused)
customers = []
for n in range({count}):
    made = testing.make_customer(issuer, mobile=f"+57310{{n:07d}}").customer
    earn_coins(merchant=issuer.merchant, customer=made, amount=Decimal(100000))
    customers.append({{"id": str(made.pk), "mobile": made.mobile}})
print(json.dumps({{"key": key, "branch": str(acceptor.branch.pk), "customers": customers}}))
"""


def _pct(values, q):
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))] * 1000, 1) if values else None


def _post(conn, path, body, key):
    headers = {
        "Authorization": f"Bearer {key}",
        "Content-Type": "application/json",
        "Idempotency-Key": str(uuid.uuid4()),
    }
    started = time.perf_counter()
    conn.request("POST", path, body=json.dumps(body), headers=headers)
    response = conn.getresponse()
    payload = json.loads(response.read() or b"{}")
    took = time.perf_counter() - started
    # The server's own time (lealtad.core.middleware: Server-Timing app;dur=<ms>), in seconds.
    timing = re.search(r"app;dur=([\d.]+)", response.getheader("Server-Timing") or "")
    payload_server = float(timing.group(1)) / 1000 if timing else None
    return response.status, payload, took, payload_server


def measure(db_url=DEFAULT_DB, payments=80, clients=4, port=0) -> dict:
    fake = fake_sms.start()
    env = code_delivery._env(db_url, fake.url(timeout=5))
    lealtad = [sys.executable, "-m", "lealtad.cli"]
    code_delivery._recreate(db_url)
    subprocess.run([*lealtad, "migrate", "-v", "0"], env=env, cwd=ROOT, check=True)
    per_customer = 5  # below the 10 codes a customer a day
    count = -(-payments // per_customer)
    made = subprocess.run(
        [*lealtad, "shell", "-c", SETUP.format(count=count)],
        env=env, cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    data = json.loads(made.strip().splitlines()[-1])
    port = port or code_delivery.free_port()
    server = subprocess.Popen(
        [*lealtad, "serve", "--port", str(port), "--workers", "2"],
        env=env, cwd=ROOT, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    created, confirmed, delivered, failures = [], [], [], []
    # Server time of each step, and of both: what the till waits for, without the SMS's trip.
    server_created, server_confirmed, server_both = [], [], []
    lock = threading.Lock()
    jobs = [
        (data["customers"][n % count], n) for n in range(payments)
    ]  # n-th payment → customer n mod count

    def client(mine):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for i, (customer, n) in enumerate(mine):
            warm_up = i == 0  # each client's first payment warms its worker up: not counted
            seen = len(fake.bodies_to(customer["mobile"]))
            status, body, took, server_create = _post(
                conn,
                "/api/v1/coin-payments",
                {
                    "customer_id": customer["id"],
                    "invoice_amount": "30000.00",
                    "coins": 2000,
                    "invoice_number": f"BENCH-{n}",
                    "branch_id": data["branch"],
                },
                data["key"],
            )
            if status != 201:
                with lock:
                    failures.append(("create", status, body.get("code")))
                continue
            sent_at = time.time() - took
            code = _code(fake, customer["mobile"], seen, deadline=time.time() + 30)
            if code is None:
                with lock:
                    failures.append(("code", "lost", body["id"]))
                continue
            arrived, digits = code
            status, answer, took_confirm, server_confirm = _post(
                conn, f"/api/v1/coin-payments/{body['id']}/confirm", {"code": digits}, data["key"]
            )
            with lock:
                if status != 200 or answer.get("status") != "captured":
                    failures.append(("confirm", status, answer.get("code")))
                elif not warm_up:
                    created.append(took)
                    delivered.append(arrived - sent_at)
                    confirmed.append(took_confirm)
                    if server_create is not None and server_confirm is not None:
                        server_created.append(server_create)
                        server_confirmed.append(server_confirm)
                        server_both.append(server_create + server_confirm)
        conn.close()

    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise SystemExit("the server did not start")
        time.sleep(2)  # the worker process starts after gunicorn
        # A customer's payments stay in one client, one after another: each code is the latest.
        shares = [[job for job in jobs if int(job[0]["mobile"][-7:]) % clients == c]
                  for c in range(clients)]  # fmt: skip
        started = time.perf_counter()
        threads = [threading.Thread(target=client, args=(share,)) for share in shares]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - started
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        fake.server.shutdown()
    check = subprocess.run(
        [*lealtad, "ledger-check"], env=env, cwd=ROOT, capture_output=True, text=True
    )
    return {
        "payments": payments,
        "clients": clients,
        "captured": len(confirmed) + clients,  # with the warm-up payments
        "measured": len(confirmed),
        "failures": failures[:10],
        "failed": len(failures),
        "payments_per_second": round(len(confirmed) / seconds, 1),
        "create_p50_ms": _pct(created, 0.50),
        "create_p99_ms": _pct(created, 0.99),
        "confirm_p50_ms": _pct(confirmed, 0.50),
        "confirm_p99_ms": _pct(confirmed, 0.99),
        "server_create_p50_ms": _pct(server_created, 0.50),
        "server_create_p99_ms": _pct(server_created, 0.99),
        "server_confirm_p50_ms": _pct(server_confirmed, 0.50),
        "server_confirm_p99_ms": _pct(server_confirmed, 0.99),
        # Issue 15's goal: create + confirm under 100 ms (p99), the SMS's wait apart.
        "server_create_plus_confirm_p99_ms": _pct(server_both, 0.99),
        "loadavg": Path("/proc/loadavg").read_text().split()[:3],
        "code_p50_ms": _pct(delivered, 0.50),
        "code_p99_ms": _pct(delivered, 0.99),
        "code_goal_met": bool(delivered) and max(delivered) < code_delivery.GOAL_SECONDS,
        "ledger_check": check.returncode == 0,
    }


def _code(fake, to, seen, deadline):
    """The code of the message to `to` after the `seen` it had before this payment."""
    with fake.arrived:
        fake.arrived.wait_for(
            lambda: len(fake.bodies_to(to)) > seen or time.time() > deadline,
            timeout=max(0.0, deadline - time.time()),
        )
    mine = [r for r in fake.requests if r.form.get("To") == to and r.form.get("_accepted")]
    if len(mine) <= seen:
        return None
    found = re.findall(r"\b(\d{4,6})\b", mine[-1].form["Body"])
    return (mine[-1].at, found[-1]) if found else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--payments", type=int, default=80)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--db", default=os.environ.get("BENCH_PAYMENTS_DATABASE_URL", DEFAULT_DB))
    args = parser.parse_args()
    r = measure(args.db, args.payments, args.clients, args.port)
    print(json.dumps(r, indent=2))


if __name__ == "__main__":
    main()
