"""Customer lookup by document at 1,000,000 customers (issue 15): `GET /api/v1/customers?q=`
over HTTP with production settings, 2 clients by default. Goal: p99 < 10 ms.

Loads the data set once into its own database (`lealtad_bench_lookup`: 1,000,000 customers at
three merchants, one accrual each, bench/load_data.py's thin mode) and reuses it on later runs;
then starts `lealtad serve` on its own port and drives it from client processes of one
keep-alive connection each, every request a random customer's document number.

    python bench/lookup.py                       # load if needed, 10 s at 2 clients
    python bench/lookup.py --duration 15 --clients 4 --port 8622
    python bench/lookup.py --reload --customers 200000

Prints p50/p99 and the load average, and writes bench/results/lookup-*.json. Only 127.0.0.1.
"""

import argparse
import http.client
import json
import multiprocessing
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import run  # noqa: E402  (bench/run.py: server_env, recreate_database, sh)

GOAL_MS = 10
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/lealtad_bench_lookup"
PORT = 8620


def dataset(db_url: str, customers: int, reload: bool) -> dict:
    """The manifest of the loaded database, loading it first when missing or of another size."""
    name = urlsplit(db_url).path.lstrip("/")
    manifest = run.RESULTS / f"dataset-{name}.json"
    if not reload and manifest.exists():
        data = json.loads(manifest.read_text())
        if data.get("customers") == customers and _has_customers(db_url, customers):
            return data
    print(f"loading {customers:,} customers into {name} …", flush=True)
    env = run.server_env(db_url)
    run.recreate_database(db_url)
    run.sh([*run.LEALTAD, "migrate", "-v", "0"], env=env)
    run.RESULTS.mkdir(parents=True, exist_ok=True)
    # As many entries as customers: load_data's thin mode, one accrual each.
    load = [sys.executable, "bench/load_data.py", str(customers), str(customers), str(manifest)]
    run.sh(load, env=env)
    return json.loads(manifest.read_text())


def _has_customers(db_url: str, customers: int) -> bool:
    parts = urlsplit(db_url)
    out = subprocess.run(
        [
            run.pg_tool("psql"),
            "-h",
            parts.hostname or "127.0.0.1",
            "-p",
            str(parts.port or 5432),
            "-U",
            parts.username or "postgres",
            "-d",
            parts.path.lstrip("/"),
            "-tAc",
            "SELECT count(*) FROM customers_customer",
        ],
        capture_output=True,
        text=True,
    )
    return out.returncode == 0 and out.stdout.strip() == str(customers)


def _client(port, api_key, documents, duration, seed, out):
    rng = random.Random(seed)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {api_key}"}
    latencies, errors = [], 0
    deadline = time.perf_counter() + duration
    while time.perf_counter() < deadline:
        path = f"/api/v1/customers?q={rng.choice(documents)}"
        started = time.perf_counter()
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            body = response.read()
            ok = response.status == 200 and len(json.loads(body)["results"]) == 1
        except (OSError, http.client.HTTPException, ValueError, KeyError):
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            ok = False
        latencies.append(time.perf_counter() - started)
        errors += not ok
    out.put((latencies, errors))


def drive(port: int, api_key: str, documents: list, duration: float, clients: int) -> dict:
    queue = multiprocessing.Queue()
    procs = [
        multiprocessing.Process(
            target=_client, args=(port, api_key, documents, duration, seed, queue)
        )
        for seed in range(clients)
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
    return run.summarise(latencies, errors, duration)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--port", type=int, default=PORT)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--duration", type=float, default=10, help="seconds measured")
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument("--workers", type=int, default=0, help="server workers (2 × cores + 1)")
    parser.add_argument("--reload", action="store_true", help="reload the data set")
    parser.add_argument("--label", default="", help="a note kept in the JSON")
    args = parser.parse_args()
    data = dataset(args.db, args.customers, args.reload)
    env = run.server_env(args.db)
    with run.Server(env, args.port, args.workers):
        key, documents = data["api_keys"][0], data["documents_sample"]
        drive(args.port, key, documents, 3, args.clients)  # warm up every worker
        load_before = Path("/proc/loadavg").read_text().split()[:3]
        print(f"lookups by document for {args.duration:g} s with {args.clients} clients …")
        result = drive(args.port, key, documents, args.duration, args.clients)
        load_after = Path("/proc/loadavg").read_text().split()[:3]
    report = {
        "label": args.label,
        "customers": data["customers"],
        "clients": args.clients,
        "duration": args.duration,
        "loadavg_before": load_before,
        "loadavg_after": load_after,
        **result,
        "goal_met": result["p99_ms"] < GOAL_MS and not result["errors"],
    }
    print(
        f"  {result['per_second']:.0f} lookups/s   p50 {result['p50_ms']} ms   "
        f"p90 {result['p90_ms']} ms   p99 {result['p99_ms']} ms   errors {result['errors']}   "
        f"load {' '.join(load_before)} → {' '.join(load_after)}"
    )
    print(f"  {'met ' if report['goal_met'] else 'MISS'}  lookup p99 < {GOAL_MS} ms")
    out = run.RESULTS / f"lookup-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(report, indent=2))
    print(f"  results: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
