"""`make bench`: the server against PostgreSQL with production settings, a realistic data set,
and for the same duration: accruals over HTTP, customer lookups by document, and pgbench TPC-B;
the console's reports and its ratings inbox at 100,000 ratings (bench/ratings.py); the customer
app's home at 20 memberships (bench/app_home.py); then the
latency of a code from its request to the SMS provider (bench/code_delivery.py) and coin
payments created and confirmed with the code read from the fake SMS provider
(bench/coin_payments.py); accruals/s with and without two webhook endpoints and the events'
delivery latency (bench/webhooks.py); and one batch of 500 accruals' server time (bench/batch.py).

    make bench
    make bench BENCH_ARGS="--customers 200000 --entries 2000000 --duration 30 --clients 16"

Only 127.0.0.1 is ever targeted. Results are printed and written to bench/results/.
"""

import argparse
import http.client
import json
import multiprocessing
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import app_home  # bench/app_home.py: the customer app's home, 20 memberships
import batch  # bench/batch.py: POST /accruals/batch of 500
import code_delivery  # bench/code_delivery.py: request → SMS provider
import coin_payments  # bench/coin_payments.py: K3 create + confirm, the code in between
import dashboard  # bench/dashboard.py: the console's reports
import ratings  # bench/ratings.py: the ratings inbox at 100,000 ratings
import webhooks  # bench/webhooks.py: accruals with two webhook endpoints, delivery latency

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
LEALTAD = [sys.executable, "-m", "lealtad.cli"]
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/lealtad_bench"
PORT = int(os.environ.get("BENCH_PORT", "8765"))  # BENCH_PORT: a port of your own


def sh(args, env=None, **kw):
    return subprocess.run(args, env=env, cwd=ROOT, check=True, text=True, **kw)


def pg_tool(name: str) -> str:
    found = shutil.which(name) or next(
        (str(p) for p in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))), None
    )
    if not found:
        sys.exit(f"{name} not found: install PostgreSQL's client tools")
    return found


def recreate_database(url: str) -> None:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = [
        pg_tool("psql"),
        "-h",
        parts.hostname or "127.0.0.1",
        "-p",
        str(parts.port or 5432),
        "-U",
        parts.username or "postgres",
        "-d",
        "postgres",
        "-q",
        "-c",
    ]
    sh([*admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'])
    sh([*admin, f'CREATE DATABASE "{name}"'])


def server_env(db_url: str) -> dict:
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
    }


# --- load generator: processes × threads of keep-alive HTTP/1.1 connections ------------------


def _client(kind, api_key, samples, duration, threads, seed, out):
    rng = random.Random(seed)
    latencies, errors, lock = [], [0], threading.Lock()
    deadline = time.perf_counter() + duration

    def worker(n):
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
        mine, bad, i = [], 0, 0
        while time.perf_counter() < deadline:
            i += 1
            if kind == "accrual":
                body = json.dumps(
                    {
                        "customer_id": rng.choice(samples),
                        "amount": f"{rng.randint(2, 90)}000.00",
                        "invoice_number": f"BENCH-{seed}-{n}-{i}-{time.time_ns()}",
                    }
                )
                method, path, expect = "POST", "/api/v1/accruals", 201
            else:
                body, method, expect = None, "GET", 200
                path = f"/api/v1/customers?q={rng.choice(samples)}"
            started = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                ok = response.status == expect
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
                ok = False
            mine.append(time.perf_counter() - started)
            bad += not ok
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    out.put((latencies, errors[0]))


def load_test(kind, api_key, samples, duration, clients) -> dict:
    processes = min(2, clients)
    queue = multiprocessing.Queue()
    procs = [
        multiprocessing.Process(
            target=_client,
            args=(kind, api_key, samples, duration, clients // processes, seed, queue),
        )
        for seed in range(processes)
    ]
    for p in procs:
        p.start()
    latencies, errors = [], 0
    for _ in procs:
        lat, err = queue.get()
        latencies += lat
        errors += err
    for p in procs:
        p.join()
    latencies.sort()

    def pct(q):
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 2)

    return {
        "requests": len(latencies),
        "errors": errors,
        "per_second": round(len(latencies) / duration, 1),
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 2) if latencies else None,
    }


def pgbench(duration: int, clients: int) -> dict:
    url = urlsplit(DEFAULT_DB)
    conn = ["-h", url.hostname, "-p", str(url.port or 5432), "-U", "postgres"]
    recreate_database("postgres://postgres@127.0.0.1:5432/lealtad_pgbench")
    sh([pg_tool("pgbench"), *conn, "-i", "-s", "10", "-q", "lealtad_pgbench"], capture_output=True)
    out = sh(
        [
            pg_tool("pgbench"),
            *conn,
            "-c",
            str(clients),
            "-j",
            "2",
            "-T",
            str(duration),
            "lealtad_pgbench",
        ],
        capture_output=True,
    ).stdout
    tps = float(re.search(r"tps = ([0-9.]+)", out).group(1))
    latency = re.search(r"latency average = ([0-9.]+) ms", out)
    return {"tps": tps, "latency_avg_ms": float(latency.group(1)) if latency else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--duration", type=int, default=20, help="seconds per measurement")
    parser.add_argument("--clients", type=int, default=16, help="concurrent HTTP clients")
    parser.add_argument("--workers", type=int, default=0, help="server workers (2 × cores + 1)")
    parser.add_argument("--skip-load", action="store_true", help="reuse the loaded database")
    args = parser.parse_args()
    db_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB)
    env = server_env(db_url)
    RESULTS.mkdir(parents=True, exist_ok=True)
    manifest = RESULTS / "dataset.json"
    report = {"args": vars(args), "cores": os.cpu_count()}

    if not args.skip_load or not manifest.exists():
        print(f"loading {args.customers:,} customers / {args.entries:,} entries …", flush=True)
        recreate_database(db_url)
        sh([*LEALTAD, "migrate", "-v", "0"], env=env)
        sh(
            [
                sys.executable,
                "bench/load_data.py",
                str(args.customers),
                str(args.entries),
                str(manifest),
            ],
            env=env,
        )
    data = json.loads(manifest.read_text())
    report["dataset"] = {
        k: data[k] for k in ("customers", "transactions", "entries", "lots", "seconds")
    }
    print(
        f"data set: {data['customers']:,} customers, {data['entries']:,} entries, "
        f"{data['transactions']:,} transactions (loaded in {data['seconds']} s)"
    )

    started = time.perf_counter()
    check = subprocess.run(
        [*LEALTAD, "ledger-check"], env=env, cwd=ROOT, capture_output=True, text=True
    )
    report["ledger_check"] = {
        "seconds": round(time.perf_counter() - started, 1),
        "ok": check.returncode == 0,
    }
    print(
        f"ledger-check: {'ok' if check.returncode == 0 else 'FAILED'} "
        f"in {report['ledger_check']['seconds']} s"
    )

    dashboard.prepare(env)
    print(f"loading {ratings.RATINGS:,} ratings at one merchant …", flush=True)
    report["ratings_load"] = ratings.load(db_url)
    serve = [*LEALTAD, "serve", "--port", str(PORT)]
    if args.workers:
        serve += ["--workers", str(args.workers)]
    server = subprocess.Popen(
        serve,
        env=env,
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{PORT}/healthz", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        else:
            sys.exit("the server did not start:\n" + server.stderr.read())
        key = data["api_keys"][0]
        load_test("accrual", key, data["customer_ids_sample"], 3, args.clients)  # warm up
        print(f"accruals over HTTP for {args.duration} s with {args.clients} clients …", flush=True)
        report["accruals"] = load_test(
            "accrual", key, data["customer_ids_sample"], args.duration, args.clients
        )
        print(f"customer lookups by document for {args.duration} s …", flush=True)
        report["lookups"] = load_test(
            "lookup", key, data["documents_sample"], args.duration, args.clients
        )
        print("console dashboard and exports …", flush=True)
        report["dashboard"] = dashboard.measure(PORT, server.pid, db_url)
        print("ratings inbox …", flush=True)
        report["ratings"] = ratings.measure(PORT)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    after = subprocess.run([*LEALTAD, "ledger-check"], env=env, cwd=ROOT, capture_output=True)
    report["ledger_check_after"] = after.returncode == 0

    print("code delivery: contact-change codes to a fake SMS provider …", flush=True)
    report["code_delivery"] = code_delivery.measure(
        os.environ.get("BENCH_CODES_DATABASE_URL", code_delivery.DEFAULT_DB)
    )

    print("coin payments: create, the code by SMS, confirm …", flush=True)
    report["coin_payments"] = coin_payments.measure(
        os.environ.get("BENCH_PAYMENTS_DATABASE_URL", coin_payments.DEFAULT_DB)
    )

    print("webhooks: accruals without and with two endpoints, delivery latency …", flush=True)
    report["webhooks"] = webhooks.measure(
        os.environ.get("BENCH_WEBHOOKS_DATABASE_URL", webhooks.DEFAULT_DB),
        duration=args.duration,
        clients=args.clients,
    )
    print("batch intake: POST /accruals/batch of 500 accruals …", flush=True)
    report["batch"] = batch.measure(os.environ.get("BENCH_BATCH_DATABASE_URL", batch.DEFAULT_DB))
    print("customer app: the home of a customer with 20 memberships …", flush=True)
    report["app_home"] = app_home.measure(
        os.environ.get("BENCH_APP_DATABASE_URL", app_home.DEFAULT_DB)
    )

    print(f"pgbench TPC-B for {args.duration} s with {args.clients} clients …", flush=True)
    report["pgbench"] = pgbench(args.duration, args.clients)

    acc, look, pg = report["accruals"], report["lookups"], report["pgbench"]
    ratio = acc["per_second"] / pg["tps"]
    report["ratio"] = round(ratio, 3)
    rows = [
        (
            "accruals/s over HTTP",
            f"{acc['per_second']:.0f}",
            f"p50 {acc['p50_ms']} ms",
            f"p99 {acc['p99_ms']} ms",
            f"errors {acc['errors']}",
        ),
        (
            "lookups/s by document",
            f"{look['per_second']:.0f}",
            f"p50 {look['p50_ms']} ms",
            f"p99 {look['p99_ms']} ms",
            f"errors {look['errors']}",
        ),
        ("pgbench TPC-B tps", f"{pg['tps']:.0f}", f"avg {pg['latency_avg_ms']} ms", "", ""),
    ]
    codes = report["code_delivery"]
    rows.append(
        (
            "code → SMS provider",
            f"{codes['samples']}",
            f"p50 {codes['p50_ms']} ms",
            f"p99 {codes['p99_ms']} ms",
            f"lost {codes['lost']}",
        )
    )
    pay = report["coin_payments"]
    rows += [
        (
            "coin payment create",
            f"{pay['captured']}",
            f"p50 {pay['create_p50_ms']} ms",
            f"p99 {pay['create_p99_ms']} ms",
            f"failed {pay['failed']}",
        ),
        (
            "coin payment confirm",
            f"{pay['payments_per_second']}/s",
            f"p50 {pay['confirm_p50_ms']} ms",
            f"p99 {pay['confirm_p99_ms']} ms",
            "",
        ),
        (
            "payment code → SMS",
            f"{pay['captured']}",
            f"p50 {pay['code_p50_ms']} ms",
            f"p99 {pay['code_p99_ms']} ms",
            "",
        ),
    ]
    rows += webhooks.rows(report["webhooks"])
    lot = report["batch"]
    rows += [
        (
            f"batch of {lot['size']}, item keys",
            f"{lot['rounds']}",
            f"p50 {lot['with_item_keys_p50_ms']} ms",
            f"max {lot['with_item_keys_max_ms']} ms",
            f"failed {lot['failed']}",
        ),
        (
            f"batch of {lot['size']}, no keys",
            f"{lot['rounds']}",
            f"p50 {lot['without_keys_p50_ms']} ms",
            f"max {lot['without_keys_max_ms']} ms",
            "",
        ),
        (
            f"batch of {lot['size']} replayed",
            f"{lot['rounds']}",
            f"p50 {lot['replayed_p50_ms']} ms",
            f"max {lot['replayed_max_ms']} ms",
            "",
        ),
    ]
    print()
    for row in rows:
        print(f"  {row[0]:<24}{row[1]:>8}   {row[2]:<16}{row[3]:<18}{row[4]}")
    rows_right = ratings.rows(report["ratings"]) + app_home.rows(report["app_home"])
    for row in dashboard.rows(report["dashboard"]) + rows_right:
        print(f"  {row[0]:<48}{row[1]:<14}{row[2]:<22}{row[3]}")
    verdicts = {
        "accrual rate ≥ ½ pgbench": ratio >= 0.5,
        "accrual p99 < 50 ms": acc["p99_ms"] < 50,
        "lookup p99 < 10 ms": look["p99_ms"] < 10,
        f"dashboard p99 < {dashboard.GOAL_MS} ms (vacuumed)": report["dashboard"]["goal_met"],
        f"ratings inbox p99 < {ratings.GOAL_MS} ms": report["ratings"]["goal_met"],
        "ledger-check after the run": report["ledger_check_after"],
        f"code at the SMS provider < {code_delivery.GOAL_SECONDS:g} s": codes["goal_met"],
        f"payment code at the SMS provider < {code_delivery.GOAL_SECONDS:g} s": pay[
            "code_goal_met"
        ],
        "coin payments all captured, ledger-check after": not pay["failed"] and pay["ledger_check"],
        f"accruals with 2 webhook endpoints ≥ {webhooks.GOAL:.0%} of without": report["webhooks"][
            "goal_met"
        ],
        "every webhook event delivered, ledger-check after": report["webhooks"]["all_delivered"]
        and report["webhooks"]["ledger_check"],
        "batches all accrued, replays identical, ledger-check after": not lot["failed"]
        and lot["ledger_check"],
        f"app home p99 < {app_home.GOAL_MS} ms": report["app_home"]["goal_met"],
    }
    report["goals"] = verdicts
    print(f"\n  ratio accruals / pgbench = {ratio:.2f}")
    for goal, met in verdicts.items():
        print(f"  {'met ' if met else 'MISS'}  {goal}")
    out = RESULTS / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(report, indent=2))
    print(f"\n  results: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
