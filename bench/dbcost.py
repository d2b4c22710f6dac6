"""The database's cost of one accrual, per core: a PostgreSQL cluster of its own (initdb, fsync
on), migrated and loaded with the bench data set (bench/load_data.py), the SQL one real accrual
runs captured through the API (bench/oursql.py writes bench/pgbench/accrual.sql), then pgbench
with that script at 1 and 2 clients, text protocol (Django's default, `-M simple`) and server-side
prepared statements (`DB_PREPARED_STATEMENTS=true`, `-M prepared`). For each run: tps, and the
CPU every process of the cluster spent (the postmaster's children: backends, WAL writer,
checkpointer…, from /proc) per accrual, the WAL bytes per accrual, and the rows written per table
(pg_stat_user_tables). CPU per accrual is what a shared machine measures steadily; 1000 ÷ it is
the accruals/s one core of a primary carries for our SQL (pgbench's own client excluded).

    .venv/bin/python bench/dbcost.py [--customers 20000] [--entries 220000] [--duration 10]

Port 5464 (helper F's). Results on stdout (markdown) and in bench/results/dbcost-*.json.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import oursql  # noqa: E402
from topology import (  # noqa: E402
    STATS_FLUSH_WAIT,
    database_size,
    load_data,
    postmaster_pid,
    table_writes,
    tree_cpu,
    wal_position,
)

from lealtad.core.tests.crash_harness import Cluster  # noqa: E402

RESULTS = ROOT / "bench" / "results"
ZERO = (0, 0, 0)


def pgbench(dsn: str, clients: int, duration: int, mode: str) -> dict:
    from urllib.parse import urlsplit

    from run import pg_tool

    url = urlsplit(dsn)
    args = [pg_tool("pgbench"), "-h", "127.0.0.1", "-p", str(url.port), "-U", "postgres", "-n"]
    args += ["-c", str(clients), "-j", str(clients), "-T", str(duration), "-M", mode]
    args += ["-f", str(oursql.SCRIPT), url.path.lstrip("/")]
    out = subprocess.run(args, capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        raise SystemExit(f"pgbench failed:\n{out.stderr}\n{out.stdout[-2000:]}")
    return {
        "tps": float(re.search(r"tps = ([0-9.]+)", out.stdout).group(1)),
        "transactions": int(re.search(r"processed: (\d+)", out.stdout).group(1)),
        "latency_avg_ms": float(re.search(r"latency average = ([0-9.]+) ms", out.stdout).group(1)),
    }


def table_sizes(dsn: str) -> dict:
    """Bytes per table with its indexes and TOAST (pg_total_relation_size)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT relname, pg_total_relation_size(relid) FROM pg_stat_user_tables"
        ).fetchall()
    return dict(rows)


def one_run(dsn: str, clients: int, duration: int, mode: str, rows: bool) -> dict:
    postmaster = postmaster_pid(dsn)
    before_rows = table_writes(dsn) if rows else None
    before_sizes = table_sizes(dsn) if rows else None
    cpu, wal, load = tree_cpu(postmaster), wal_position(dsn), os.getloadavg()[0]
    size = database_size(dsn)
    result = pgbench(dsn, clients, duration, mode)
    cpu, wal = tree_cpu(postmaster) - cpu, wal_position(dsn) - wal
    size = database_size(dsn) - size
    n = max(result["transactions"], 1)
    result.update(
        clients=clients,
        mode=mode,
        db_cpu_ms_per_accrual=round(cpu * 1000 / n, 3),
        wal_bytes_per_accrual=round(wal / n),
        disk_bytes_per_accrual=round(size / n),
        loadavg=[round(load, 1), round(os.getloadavg()[0], 1)],
    )
    if rows:
        grown = {t: b - before_sizes.get(t, 0) for t, b in table_sizes(dsn).items()}
        result["bytes_per_accrual_by_table"] = {
            t: round(b / n) for t, b in sorted(grown.items(), key=lambda x: -x[1]) if b
        }
        time.sleep(STATS_FLUSH_WAIT)
        after = table_writes(dsn)
        result["rows_per_accrual"] = {
            t: [round((a - b) / n, 3) for a, b in zip(v, before_rows.get(t, ZERO), strict=True)]
            for t, v in sorted(after.items())
            if v != before_rows.get(t, ZERO)
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--entries", type=int, default=220_000)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--port", type=int, default=5464)
    args = parser.parse_args()
    cluster = Cluster(args.port)
    runs = []
    try:
        cluster.start()
        dsn = cluster.dsn
        env = {
            **os.environ,
            "DATABASE_URL": dsn,
            "DEBUG": "false",
            "SECRET_KEY": "bench-" + "s" * 60,
            "ALLOWED_HOSTS": "127.0.0.1,testserver",
            "SECURE_SSL_REDIRECT": "false",
            "API_RATE_LIMIT": "0",
            "REQUEST_LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "lealtad.settings",
        }
        subprocess.run([sys.executable, "-m", "lealtad.cli", "migrate", "-v", "0"], env=env,
                       cwd=ROOT, check=True)  # fmt: skip
        data = load_data(dsn, args.customers, args.entries)
        cap = oursql.prepare(env, data["api_keys"][0], data["customer_ids_sample"])
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
        pgbench(dsn, 2, 3, "simple")  # warm the caches
        for mode in ("simple", "prepared"):
            for clients in (1, 2):
                try:
                    runs.append(one_run(dsn, clients, args.duration, mode, rows=clients == 1))
                except SystemExit as failed:  # pgbench refused the script in this mode
                    print(f"{mode}, {clients} clients: {failed}", file=sys.stderr)
    finally:
        cluster.destroy()
    report = {"cores": os.cpu_count(), "statements": cap["statements"], "runs": runs}
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"dbcost-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(report, indent=2))
    print(f"our accrual: {cap['statements']} statements ({oursql.SCRIPT.relative_to(ROOT)})")
    print(
        "| protocol | clients | tps | latency ms | DB CPU ms/accrual | WAL bytes/accrual"
        " | disk bytes/accrual | load |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for r in runs:
        print(
            f"| {r['mode']} | {r['clients']} | {r['tps']:,.0f} | {r['latency_avg_ms']} | "
            f"{r['db_cpu_ms_per_accrual']} | {r['wal_bytes_per_accrual']:,} | "
            f"{r.get('disk_bytes_per_accrual', 0):,} | "
            f"{r['loadavg'][0]} → {r['loadavg'][1]} |"
        )
    first = next(r for r in runs if "rows_per_accrual" in r)
    print("rows per accrual (inserted, updated, deleted):")
    for table, moved in first["rows_per_accrual"].items():
        print(f"  {table}: {moved}")
    print("bytes per accrual by table (with indexes and TOAST):")
    for table, grown in first.get("bytes_per_accrual_by_table", {}).items():
        print(f"  {table}: {grown:,}")
    print(f"results: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
