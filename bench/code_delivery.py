"""Code delivery latency (issue 11, M2): from the request that sends a code to the moment the SMS
provider has it, through the real path: `lealtad serve` (gunicorn and its task worker) against
PostgreSQL, the task row written by the request's transaction, the worker polling for it, and
Twilio's Messages API played by a fake provider that is a real HTTP server on 127.0.0.1
(lealtad/notifications/tests/fake_sms.py) which notes when each message arrives.

The code is a contact change's (POST /api/v1/customers/{id}/contact-changes with a new mobile:
a code goes to it by SMS); one customer per sample (the daily code limit), the requests spaced at
random so they do not fall in step with the worker's polling.

    python bench/code_delivery.py [--samples 40] [--db postgres://…/lealtad_bench_codes]

Called by bench/run.py (`make bench`). Goal: p99 under 5 s.
"""

import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from lealtad.notifications.tests import fake_sms  # noqa: E402 (after the path)

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/lealtad_bench_codes"
GOAL_SECONDS = 5.0
SETUP = """
import json
from decimal import Decimal
from lealtad.network.actions import create_merchant
from lealtad.customers.actions import register_customer
shop = create_merchant(name="Bench codes", country="CO", point_value=Decimal("1000"),
                       admin_username="codes.admin", admin_password="bench-password-1")
key = shop.api_key  # create_merchant made the POS key
ids = []
for n in range({samples}):
    ids.append(str(register_customer(
        merchant=shop.merchant, branch=shop.branch, staff=None, document_type="CC",
        document_number=str(20_000_000 + n * 7919), country="CO",
        profile={{"email": f"codes{{n}}@example.com", "mobile": f"+57301{{n:07d}}"}},
    ).customer.pk))
print(json.dumps({{"key": key, "ids": ids}}))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(db_url: str, sms_url: str) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": db_url,
        "DEBUG": "false",
        "SECRET_KEY": "bench-" + "s" * 60,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "REQUEST_LOG_LEVEL": "WARNING",
        # The benchmark drives thousands of requests a minute through one key: it measures the
        # server, so the per-key rate limit (600 a minute by default) is off.
        "API_RATE_LIMIT": "0",
        "DJANGO_SETTINGS_MODULE": "lealtad.settings",
        "EMAIL_URL": "dummy://",
        "SMS_URL": sms_url,
    }


def _recreate(db_url: str) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    from run import recreate_database  # bench/run.py

    recreate_database(db_url)


def measure(db_url: str = DEFAULT_DB, samples: int = 40, port: int = 0) -> dict:
    """Start everything, send `samples` codes one at a time, return the latencies' figures."""
    fake = fake_sms.start()
    env = _env(db_url, fake.url(timeout=5))
    lealtad = [sys.executable, "-m", "lealtad.cli"]
    _recreate(db_url)
    subprocess.run([*lealtad, "migrate", "-v", "0"], env=env, cwd=ROOT, check=True)
    made = subprocess.run(
        [*lealtad, "shell", "-c", SETUP.format(samples=samples)],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    data = json.loads(made.strip().splitlines()[-1])
    port = port or free_port()
    server = subprocess.Popen(
        [*lealtad, "serve", "--port", str(port), "--workers", "2"],
        env=env,
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    latencies, lost = [], 0
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise SystemExit("the server did not start")
        time.sleep(2)  # the worker process starts after gunicorn
        rng = random.Random(11)
        for n, customer_id in enumerate(data["ids"]):
            to = f"+57302{n:07d}"
            request = urllib.request.Request(
                f"{base}/api/v1/customers/{customer_id}/contact-changes",
                data=json.dumps({"mobile": to}).encode(),
                method="POST",
                headers={
                    "Authorization": f"Bearer {data['key']}",
                    "Content-Type": "application/json",
                },
            )
            started = time.time()
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == 201, response.status
            arrived = _arrival(fake, to, deadline=started + 30)
            if arrived is None:
                lost += 1
            else:
                latencies.append(arrived - started)
            time.sleep(rng.uniform(0.05, 1.2))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        fake.server.shutdown()
    latencies.sort()

    def pct(q):
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 1)

    return {
        "samples": samples,
        "lost": lost,
        "p50_ms": pct(0.50) if latencies else None,
        "p99_ms": pct(0.99) if latencies else None,
        "max_ms": round(latencies[-1] * 1000, 1) if latencies else None,
        "goal_met": not lost and bool(latencies) and latencies[-1] < GOAL_SECONDS,
    }


def _arrival(fake, to: str, deadline: float):
    with fake.arrived:
        fake.arrived.wait_for(
            lambda: any(r.form.get("To") == to for r in fake.requests) or time.time() > deadline,
            timeout=max(0.0, deadline - time.time()),
        )
        return next((r.at for r in fake.requests if r.form.get("To") == to), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--port", type=int, default=0, help="server port (default: a free one)")
    parser.add_argument("--db", default=os.environ.get("BENCH_CODES_DATABASE_URL", DEFAULT_DB))
    args = parser.parse_args()
    result = measure(args.db, args.samples, args.port)
    print(
        f"code delivery (request → SMS provider), {result['samples']} codes: "
        f"p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, max {result['max_ms']} ms, "
        f"lost {result['lost']}; {'met' if result['goal_met'] else 'MISS'} (< {GOAL_SECONDS} s)"
    )


if __name__ == "__main__":
    main()
