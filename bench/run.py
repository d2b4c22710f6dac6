"""`make bench`: the server against PostgreSQL with production settings, a realistic data set,
and for the same duration: accruals over HTTP, customer lookups by document, and pgbench TPC-B;
the console's reports and its ratings inbox at 100,000 ratings (bench/ratings.py); the customer
app's home at 20 memberships (bench/app_home.py); then the
latency of a code from its request to the SMS provider (bench/code_delivery.py) and coin
payments created and confirmed with the code read from the fake SMS provider
(bench/coin_payments.py); accruals/s with and without two webhook endpoints and the events'
delivery latency (bench/webhooks.py); and one batch of 500 accruals' server time (bench/batch.py).
`--topology` runs bench/topology.py instead: accruals/s through HAProxy with one and two nodes
and the streaming replica's lag (issue 17, docs/scaling.md).

    make bench
    make bench BENCH_ARGS="--customers 200000 --entries 2000000 --duration 30 --clients 16"
    make bench BENCH_ARGS="--topology --duration 15"

Only 127.0.0.1 is ever targeted. Results are printed and written to bench/results/.
"""

import argparse
import http.client
import json
import multiprocessing
import os
import random
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

import accruals  # bench/accruals.py: HTTP (Python, wrk) against our SQL and TPC-B, the sweep
import app_home  # bench/app_home.py: the customer app's home, 20 memberships
import batch  # bench/batch.py: POST /accruals/batch of 500
import code_delivery  # bench/code_delivery.py: request → SMS provider
import coin_payments  # bench/coin_payments.py: K3 create + confirm, the code in between
import dashboard  # bench/dashboard.py: the console's reports
import oursql  # bench/oursql.py: pgbench with the SQL our accrual runs
import ratings  # bench/ratings.py: the ratings inbox at 100,000 ratings
import sqlite  # bench/sqlite.py: the embedded default (make run's settings)
import summary  # bench/summary.py: the printed rows and goals
import webhooks  # bench/webhooks.py: accruals with two webhook endpoints, delivery latency
import wrkload  # bench/wrkload.py: the C client

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
LEALTAD = [sys.executable, "-m", "lealtad.cli"]
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/lealtad_bench"
PORT = int(os.environ.get("BENCH_PORT", "8765"))
SECTIONS = (
    "accruals",
    "wrk",
    "oursql",
    "tpcb",
    "lookups",
    "dashboard",
    "ratings",
    "code_delivery",
    "coin_payments",
    "webhooks",
    "batch",
    "app_home",
    "sqlite",
)


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


def _client(kind, api_key, samples, duration, threads, seed, out, port):
    rng = random.Random(seed)
    latencies, errors, lock = [], [0], threading.Lock()
    deadline = time.perf_counter() + duration

    def worker(n):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
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
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
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


def load_test(kind, api_key, samples, duration, clients, port=PORT) -> dict:
    processes = min(2, clients)
    queue = multiprocessing.Queue()
    procs = [
        multiprocessing.Process(
            target=_client,
            args=(kind, api_key, samples, duration, clients // processes, seed, queue, port),
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
    return summarise(latencies, errors, duration)


def summarise(latencies: list, errors: int, duration: float) -> dict:
    """Requests, errors, rate and p50/p90/p99/mean (ms) of one load test's latencies (s)."""
    latencies = sorted(latencies)

    def pct(q):
        if not latencies:
            return None
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 2)

    return {
        "requests": len(latencies),
        "errors": errors,
        "per_second": round(len(latencies) / duration, 1),
        "p50_ms": pct(0.50),
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 2) if latencies else None,
    }


def tpcb_database(db_url: str) -> str:
    """TPC-B's own database beside the bench one (lealtad_bench → lealtad_bench_tpcb), scale 10,
    initialised once per run."""
    parts = urlsplit(db_url)
    url = parts._replace(path=parts.path + "_tpcb").geturl()
    recreate_database(url)
    conn = ["-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432)]
    conn += ["-U", parts.username or "postgres"]
    sh(
        [pg_tool("pgbench"), *conn, "-i", "-s", "10", "-q", url.rsplit("/", 1)[1]],
        capture_output=True,
    )
    return url


class Server:
    """`lealtad serve` on a port for the with-block, stopped (its whole session) on the way out."""

    def __init__(self, env: dict, port: int, workers: int = 0, extra: list | tuple = ()):
        self.args = [*LEALTAD, "serve", "--port", str(port), *extra]
        if workers:
            self.args += ["--workers", str(workers)]
        self.env, self.port = env, port

    def __enter__(self):
        self.proc = subprocess.Popen(
            self.args,
            env=self.env,
            cwd=ROOT,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(150):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2)
                return self
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.2)
        self.__exit__()
        sys.exit("the server did not start:\n" + self.proc.stderr.read())

    @property
    def pid(self) -> int:
        return self.proc.pid

    def cpu_seconds(self) -> float:
        """CPU time so far of every process of the server's session (gunicorn's master and
        workers, the task worker): on a shared machine, CPU per request is steadier than rates."""
        ticks, tick = 0, os.sysconf("SC_CLK_TCK")
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == self.proc.pid:  # the process group: the session's leader
                ticks += int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / tick

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:  # a worker still finishing: the measurement stands
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--clients", type=int, default=16, help="concurrent HTTP clients")
    parser.add_argument("--workers", type=int, default=0, help="server workers (2 × cores + 1)")
    parser.add_argument(
        "--port",
        type=int,
        default=PORT,
        help="the server's port (BENCH_PORT); SQLite's +1, webhooks' +2, the app home's +3",
    )
    parser.add_argument("--skip-load", action="store_true", help="reuse the loaded database")
    parser.add_argument("--only", help="comma-separated, of: " + ",".join(SECTIONS))
    parser.add_argument("--sqlite", action="store_true", help="--only sqlite")
    parser.add_argument(
        "--topology",
        action="store_true",
        help="only bench/topology.py: accruals/s through HAProxy with 1 and 2 nodes, the "
        "replica's lag (deploy/topology.py; --duration and --clients apply)",
    )
    parser.add_argument("--sweep", help="client counts, e.g. 1,2,4,8,16: accruals at each")
    parser.add_argument("--sweep-duration", type=int, default=5, help="seconds per sweep point")
    args = parser.parse_args()
    wanted = set(args.only.split(",")) if args.only else set(SECTIONS)
    if args.sqlite:
        wanted = {"sqlite"}
    elif args.sweep and not args.only:
        wanted = set()  # the sweep alone
    if unknown := wanted - set(SECTIONS):
        parser.error(f"unknown in --only: {', '.join(sorted(unknown))}")
    args.wanted = wanted
    return args


def main() -> None:
    args = parse_args()
    if args.topology:
        import topology  # bench/topology.py: the multi-node topology of issue 17

        # Its other options (--runs, ports…) by running it directly.
        topology.main(["--duration", str(args.duration), "--clients", str(args.clients)])
        return
    wanted = args.wanted
    db_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB)
    env = server_env(db_url)
    RESULTS.mkdir(parents=True, exist_ok=True)
    manifest = RESULTS / f"dataset-{urlsplit(db_url).path.lstrip('/')}.json"
    report = {"args": {k: v for k, v in vars(args).items() if k != "wanted"}}
    report["cores"], report["loadavg"] = os.cpu_count(), accruals.load_average()
    on_server = {"accruals", "wrk", "oursql", "lookups", "dashboard", "ratings"}
    if wanted & (on_server | {"tpcb"}) or args.sweep:
        if not args.skip_load or not manifest.exists():
            print(f"loading {args.customers:,} customers / {args.entries:,} entries …", flush=True)
            recreate_database(db_url)
            sh([*LEALTAD, "migrate", "-v", "0"], env=env)
            load = [sys.executable, "bench/load_data.py", str(args.customers), str(args.entries)]
            sh([*load, str(manifest)], env=env)
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
        key = data["api_keys"][0]
    if "oursql" in wanted or args.sweep:
        report["oursql_capture"] = oursql.prepare(env, key, data["customer_ids_sample"])
        print(
            f"our accrual's SQL: {report['oursql_capture']['statements']} statements → "
            f"{oursql.SCRIPT.relative_to(ROOT)}"
        )
    tpcb_db = tpcb_database(db_url) if "tpcb" in wanted or args.sweep else None

    if wanted & on_server or args.sweep:
        if "dashboard" in wanted:
            dashboard.prepare(env)
        if "ratings" in wanted:
            print(f"loading {ratings.RATINGS:,} ratings at one merchant …", flush=True)
            report["ratings_load"] = ratings.load(db_url)
        with Server(env, args.port, args.workers) as server:
            if wanted & {"accruals", "wrk"} or args.sweep:  # warm up
                load_test("accrual", key, data["customer_ids_sample"], 3, args.clients, args.port)
            parts = {"python" if p == "accruals" else p for p in wanted}
            if parts & {"python", "wrk", "oursql", "tpcb"}:
                print(
                    f"accruals for {args.duration} s with {args.clients} clients: "
                    f"{', '.join(sorted(parts & {'python', 'wrk', 'oursql', 'tpcb'}))} …",
                    flush=True,
                )
                report["accruals"] = accruals.point(
                    server,
                    args.port,
                    key,
                    data,
                    args.duration,
                    args.clients,
                    db_url,
                    tpcb_db,
                    parts,
                )
            if "lookups" in wanted:
                print(f"customer lookups by document for {args.duration} s …", flush=True)
                report["lookups"] = load_test(
                    "lookup", key, data["documents_sample"], args.duration, args.clients, args.port
                )
                if wrkload.available():
                    report["lookups_wrk"] = wrkload.run(
                        "lookup",
                        args.port,
                        key,
                        data["documents_sample"],
                        args.duration,
                        args.clients,
                    )
            if "dashboard" in wanted:
                print("console dashboard and exports …", flush=True)
                report["dashboard"] = dashboard.measure(args.port, server.pid, db_url)
            if "ratings" in wanted:
                print("ratings inbox …", flush=True)
                report["ratings"] = ratings.measure(args.port)
            if args.sweep:
                report["sweep"] = accruals.sweep(
                    server,
                    args.port,
                    key,
                    data,
                    args.sweep_duration,
                    [int(c) for c in args.sweep.split(",")],
                    db_url,
                    tpcb_db,
                )
        after = subprocess.run([*LEALTAD, "ledger-check"], env=env, cwd=ROOT, capture_output=True)
        report["ledger_check_after"] = after.returncode == 0
    elif "tpcb" in wanted:
        report["accruals"] = accruals.point(
            None, args.port, None, None, args.duration, args.clients, db_url, tpcb_db, {"tpcb"}
        )

    if "code_delivery" in wanted:
        print("code delivery: contact-change codes to a fake SMS provider …", flush=True)
        report["code_delivery"] = code_delivery.measure(
            os.environ.get("BENCH_CODES_DATABASE_URL", code_delivery.DEFAULT_DB)
        )
    if "coin_payments" in wanted:
        print("coin payments: create, the code by SMS, confirm …", flush=True)
        report["coin_payments"] = coin_payments.measure(
            os.environ.get("BENCH_PAYMENTS_DATABASE_URL", coin_payments.DEFAULT_DB)
        )
    if "webhooks" in wanted:
        print("webhooks: accruals without and with two endpoints, delivery latency …", flush=True)
        report["webhooks"] = webhooks.measure(
            os.environ.get("BENCH_WEBHOOKS_DATABASE_URL", webhooks.DEFAULT_DB),
            duration=args.duration,
            clients=args.clients,
            port=args.port + 2,
        )
    if "batch" in wanted:
        print("batch intake: POST /accruals/batch of 500 accruals …", flush=True)
        report["batch"] = batch.measure(
            os.environ.get("BENCH_BATCH_DATABASE_URL", batch.DEFAULT_DB)
        )
    if "app_home" in wanted:
        print("customer app: the home of a customer with 20 memberships …", flush=True)
        report["app_home"] = app_home.measure(
            os.environ.get("BENCH_APP_DATABASE_URL", app_home.DEFAULT_DB), port=args.port + 3
        )
    if "sqlite" in wanted:
        report["sqlite"] = sqlite.measure(args.port + 1, args.duration, min(args.clients, 2))
    summary.print_report(report)
    out = RESULTS / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(report, indent=2))
    print(f"\n  results: {out.relative_to(ROOT)}")
    if "sweep" in report:
        print(f"  sweep: {report['sweep']['file']} (and .md); chart: python bench/chart.py")


if __name__ == "__main__":
    main()
