"""Issue 15: only the single accrual over HTTP (`POST /api/v1/accruals`), at a few client counts,
against the data set `bench/run.py` loaded (BENCH_DATABASE_URL), and pgbench TPC-B in the same
minutes on a database of its own. For before/after comparisons of one lever at a time.

    BENCH_DATABASE_URL=postgres://…/lealtad_bench_x python bench/hot.py --port 8650 \
        --clients 2,16 --duration 10 [--workers 5] [--threads 1] [--pgbench]

Prints one line per client count with the load average.
"""

import argparse
import json
import os
import re
from pathlib import Path

import run  # bench/run.py: its load generator (BENCH_PORT) and server settings

ROOT = Path(__file__).resolve().parent.parent


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def pgbench(db_url: str, duration: int, clients: int) -> float:
    name = db_url.rsplit("/", 1)[1] + "_pgbench"
    base = db_url.rsplit("/", 1)[0]
    run.recreate_database(f"{base}/{name}")
    conn = ["-h", "127.0.0.1", "-p", "5432", "-U", "postgres"]
    tool = run.pg_tool("pgbench")
    run.sh([tool, *conn, "-i", "-s", "10", "-q", name], capture_output=True)
    out = run.sh(
        [tool, *conn, "-c", str(clients), "-j", "2", "-T", str(duration), name],
        capture_output=True,
    ).stdout
    return float(re.search(r"tps = ([0-9.]+)", out).group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", "8650")))
    parser.add_argument("--clients", default="2,16")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--server", default="", help="extra `lealtad serve` option, e.g. --granian")
    parser.add_argument("--pgbench", action="store_true")
    args = parser.parse_args()
    db_url = os.environ.get("BENCH_DATABASE_URL", run.DEFAULT_DB)
    manifest = run.RESULTS / f"dataset-{db_url.rsplit('/', 1)[1]}.json"  # what run.py loaded
    data = json.loads(manifest.read_text())
    env = run.server_env(db_url)
    if args.threads:
        env["WEB_THREADS"] = str(args.threads)
    extra = ["--no-collectstatic", *args.server.split()]
    with run.Server(env, args.port, args.workers, extra):
        key, samples = data["api_keys"][0], data["customer_ids_sample"]
        for clients in [int(c) for c in args.clients.split(",")]:
            run.load_test("accrual", key, samples, 2, clients, args.port)  # warm up
            before = loadavg()
            r = run.load_test("accrual", key, samples, args.duration, clients, args.port)
            print(
                f"clients {clients:>3}: {r['per_second']:>7.1f} accruals/s  p50 {r['p50_ms']} ms"
                f"  p99 {r['p99_ms']} ms  errors {r['errors']}  load {before} → {loadavg()}",
                flush=True,
            )
    if args.pgbench:
        for clients in [int(c) for c in args.clients.split(",")]:
            tps = pgbench(db_url, args.duration, clients)
            print(f"pgbench TPC-B clients {clients:>3}: {tps:.0f} tps  load {loadavg()}")


if __name__ == "__main__":
    main()
