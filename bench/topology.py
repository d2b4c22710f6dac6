"""Issue 17: accruals/s through the load balancer with one node and with two, and the streaming
replica's lag under that load.

    .venv/bin/python bench/topology.py [--runs 1x2,2x2,1x4] [--duration 15] [--clients 16]
    make bench BENCH_ARGS="--topology --duration 15 --clients 16"

For each topology asked (`--runs`: nodes × gunicorn workers per node) it starts the test topology
with `deploy/topology.py up` (HAProxy in front of N `lealtad serve` nodes, PgBouncer, a PostgreSQL
primary and a streaming replica made with pg_basebackup, Redis, task workers), loads a bench data
set into the primary the way `bench/run.py` does (`bench/load_data.py`: merchants by the real
`create_merchant`, customers, memberships and their ledger by COPY; its POS API key and member
ids), then drives `POST /api/v1/accruals` through HAProxy with wrk (bench/wrk/accruals.lua, unique
invoices) and, every 0.2 s during the run, samples:

- on the primary `pg_current_wal_lsn()` and `pg_stat_replication.replay_lag`;
- on the replica `pg_last_wal_receive_lsn()` and `pg_last_wal_replay_lsn()`;

so bytes behind (received and replayed) and the replay lag in time, as p50 / p99 / max. It also
reads, per accrual: the primary's WAL bytes, the rows it inserted and updated per table
(`pg_stat_user_tables`), and the CPU the primary's PostgreSQL processes spent (all children of
its postmaster, from /proc): the database's cost of one accrual, measured on real traffic. The
topology is stopped (`down`) in every case, also on failure or Ctrl-C.

Only 127.0.0.1 is targeted. Results: bench/results/topology-*.json, a markdown table on stdout,
and (unless --no-doc) the same table appended to docs/scaling.md with the date and the load.
Ports are helper F's block: LB 8850, nodes 8851+, PgBouncer 6452, Redis 6390, primary 5464,
replica 5463.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import wrkload  # bench/wrkload.py (bench/ is on the path: the script's own directory)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DOC = ROOT / "docs" / "scaling.md"
TOPOLOGY = ROOT / "deploy" / "topology.py"
SAMPLE_EVERY = 0.2
# pg_stat_user_tables is flushed by each backend at most once a second while busy and within
# 10 s when idle (PostgreSQL 15): the per-table row counts are read after this pause.
STATS_FLUSH_WAIT = 11.5


def lsn(text: str | None) -> int | None:
    """'16/B374D848' → bytes."""
    if not text:
        return None
    hi, lo = text.split("/")
    return (int(hi, 16) << 32) + int(lo, 16)


def percentiles(values: list[float]) -> dict:
    """p50 / p99 / max (None when there is nothing)."""
    if not values:
        return {"n": 0, "p50": None, "p99": None, "max": None}
    ordered = sorted(values)

    def at(q):
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {"n": len(ordered), "p50": at(0.50), "p99": at(0.99), "max": ordered[-1]}


def load_average() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def machine_busy() -> tuple[int, int]:
    """(busy, total) jiffies of all cores, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, utime + stime in ticks) of a process, None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), int(fields[11]) + int(fields[12])


def tree_cpu(root_pid: int) -> float:
    """CPU seconds so far of a process and its direct children (a postmaster's backends)."""
    ticks = 0
    for entry in Path("/proc").glob("[0-9]*"):
        got = _stat(int(entry.name))
        if got and (int(entry.name) == root_pid or got[0] == root_pid):
            ticks += got[1]
    return ticks / os.sysconf("SC_CLK_TCK")


class Topology:
    """`deploy/topology.py up` for the with-block, `down` on the way out (also on failure)."""

    def __init__(
        self, nodes: int, web_workers: int, workers: int, ports: dict, env: dict, script=TOPOLOGY
    ):
        self.script = script
        self.dir = Path(tempfile.mkdtemp(prefix=f"lealtad-scaling-{nodes}n-"))
        os.chmod(self.dir, 0o755)  # the clusters run as `postgres` when we are root
        self.args = [sys.executable, str(script), "up", "--dir", str(self.dir)]
        self.args += ["--nodes", str(nodes), "--workers", str(workers)]
        self.args += ["--web-workers", str(web_workers)]
        for name, port in ports.items():
            self.args += [f"--{name}-port", str(port)]
        self.env = env

    def __enter__(self) -> dict:
        try:
            out = subprocess.run(
                self.args, env=self.env, cwd=ROOT, capture_output=True, text=True, timeout=600
            )
            if out.returncode != 0:
                raise SystemExit(f"topology up failed ({out.returncode}):\n{out.stderr[-4000:]}")
            line = next(x for x in reversed(out.stdout.splitlines()) if x.startswith("{"))
            return json.loads(line)
        except BaseException:
            self.__exit__()
            raise

    def __exit__(self, *exc):
        subprocess.run(
            [sys.executable, str(self.script), "down", "--dir", str(self.dir)],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            timeout=180,
        )
        if not any((self.dir / "pids").glob("*")):  # everything stopped: its files go too
            shutil.rmtree(self.dir, ignore_errors=True)


def django_env(db_url: str) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": db_url,
        "DEBUG": "false",
        "SECRET_KEY": "bench-" + "s" * 60,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "DJANGO_SETTINGS_MODULE": "lealtad.settings",
    }


def load_data(primary: str, customers: int, entries: int) -> dict:
    """bench/load_data.py into the topology's primary (directly, not through PgBouncer: the
    loader sets session_replication_role), then ANALYZE; returns its manifest."""
    manifest = Path(tempfile.mkstemp(prefix="lealtad-scaling-", suffix=".json")[1])
    try:
        subprocess.run(
            [sys.executable, "bench/load_data.py", str(customers), str(entries), str(manifest)],
            env=django_env(primary),
            cwd=ROOT,
            check=True,
        )
        data = json.loads(manifest.read_text())
    finally:
        manifest.unlink(missing_ok=True)
    with _connect(primary) as conn:
        conn.execute("ANALYZE")
    check = subprocess.run(
        [sys.executable, "-m", "lealtad.cli", "ledger-check"],
        env=django_env(primary),
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if check.returncode != 0:  # the demo network and the bench data set side by side
        raise SystemExit(f"ledger-check failed after the load:\n{check.stdout}{check.stderr}")
    return data


def _connect(dsn: str):
    import psycopg

    return psycopg.connect(dsn, autocommit=True, connect_timeout=10)


def postmaster_pid(primary: str) -> int | None:
    """The primary's postmaster, read from its data directory's postmaster.pid."""
    with _connect(primary) as conn:
        data = conn.execute("SHOW data_directory").fetchone()[0]
    try:
        return int(Path(data, "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None


def table_writes(primary: str) -> dict:
    """Rows inserted, updated and deleted so far per table (pg_stat_user_tables)."""
    with _connect(primary) as conn:
        rows = conn.execute(
            "SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables"
        ).fetchall()
    return {name: (ins, upd, dele) for name, ins, upd, dele in rows}


def wal_position(primary: str) -> int:
    with _connect(primary) as conn:
        return lsn(conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()[0])


def database_size(dsn: str) -> int:
    """Bytes of the database's files (tables, indexes, TOAST)."""
    with _connect(dsn) as conn:
        return conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]


class LagSampler(threading.Thread):
    """Every 0.2 s: the primary's WAL position and replay_lag, the replica's received and
    replayed positions. Bytes behind = primary's current position − the replica's."""

    def __init__(self, primary: str, replica: str):
        super().__init__(daemon=True)
        self.primary, self.replica = primary, replica
        self.stop = threading.Event()
        self.samples, self.errors = [], 0

    def run(self):
        with _connect(self.primary) as p, _connect(self.replica) as r:
            while not self.stop.is_set():
                started = time.monotonic()
                try:
                    current, replay_lag = p.execute(
                        "SELECT pg_current_wal_lsn()::text,"
                        " (SELECT extract(epoch FROM replay_lag) FROM pg_stat_replication"
                        "  ORDER BY replay_lag DESC NULLS LAST LIMIT 1)"
                    ).fetchone()
                    received, replayed = r.execute(
                        "SELECT pg_last_wal_receive_lsn()::text, pg_last_wal_replay_lsn()::text"
                    ).fetchone()
                    self.samples.append(
                        {
                            "t": started,
                            "primary": lsn(current),
                            "received": lsn(received),
                            "replayed": lsn(replayed),
                            "replay_lag_s": float(replay_lag) if replay_lag is not None else None,
                        }
                    )
                except Exception:  # a failed sample is counted, not fatal
                    self.errors += 1
                self.stop.wait(max(0.0, SAMPLE_EVERY - (time.monotonic() - started)))

    def summary(self) -> dict:
        behind_replay = [s["primary"] - s["replayed"] for s in self.samples if s["replayed"]]
        behind_receive = [s["primary"] - s["received"] for s in self.samples if s["received"]]
        lag = [s["replay_lag_s"] * 1000 for s in self.samples if s["replay_lag_s"] is not None]
        return {
            "samples": len(self.samples),
            "failed_samples": self.errors,
            "bytes_behind_replay": percentiles([max(0, b) for b in behind_replay]),
            "bytes_behind_receive": percentiles([max(0, b) for b in behind_receive]),
            "replay_lag_ms": percentiles(lag),
            "replay_lag_null_samples": len(self.samples) - len(lag),
        }


def wrk_accruals(port: int, key: str, ids: list[str], duration: int, clients: int) -> dict:
    """wrk with bench/wrk/accruals.lua as bench/wrkload.py runs it, except that refusals (a 503
    from HAProxy when it holds no node in rotation, a socket error) are counted, not fatal: how
    many of them the balancer gave is one of the results. `per_second` counts only the 201s."""
    script = wrkload.SCRIPTS / "accruals.lua"
    values = wrkload._values_file("accrual-topology", ids)
    args = [shutil.which("wrk"), "-t", str(min(2, clients)), "-c", str(clients)]
    args += ["-d", f"{duration}s", "--timeout", "10s", "-s", str(script)]
    args += ["-H", f"Authorization: Bearer {key}", f"http://127.0.0.1:{port}"]
    args += ["--", str(values), f"{time.time_ns():x}"]
    out = subprocess.run(args, capture_output=True, text=True, cwd=ROOT)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        raise SystemExit(f"wrk failed ({out.returncode}):\n{out.stderr}\n{out.stdout}")
    result = json.loads(lines[-1])
    result["all_per_second"] = result["per_second"]
    result["per_second"] = round(result["ok"] / result["seconds"], 1)
    return result


def measure(topo: dict, data: dict, duration: int, clients: int) -> dict:
    """Warm-up, then one wrk run through the LB with the lag sampler and the CPU/WAL/rows
    counters around it."""
    lb_port = urlsplit(topo["lb"]).port
    key, ids = data["api_keys"][0], data["customer_ids_sample"]
    primary, replica = topo["primary"], topo["replica"]
    wrk_accruals(lb_port, key, ids, 3, clients)  # warm every node's workers
    time.sleep(STATS_FLUSH_WAIT)  # the warm-up's rows reach pg_stat_user_tables first
    postmaster = postmaster_pid(primary)
    rows_before, wal_before = table_writes(primary), wal_position(primary)
    size_before = database_size(primary)
    pg_before = tree_cpu(postmaster) if postmaster else None
    busy_before, load_before = machine_busy(), load_average()
    sampler = LagSampler(primary, replica)
    sampler.start()
    try:
        result = wrk_accruals(lb_port, key, ids, duration, clients)
    finally:
        sampler.stop.set()
        sampler.join(timeout=5)
    busy_after, load_after = machine_busy(), load_average()
    pg_after = tree_cpu(postmaster) if postmaster else None
    wal_after, size_after = wal_position(primary), database_size(primary)
    accruals = max(result["ok"], 1)
    time.sleep(STATS_FLUSH_WAIT)
    rows_after = table_writes(primary)
    rows = {}
    for table, (ins, upd, dele) in rows_after.items():
        was = rows_before.get(table, (0, 0, 0))
        moved = (ins - was[0], upd - was[1], dele - was[2])
        if any(moved):
            rows[table] = {
                "inserted": round(moved[0] / accruals, 3),
                "updated": round(moved[1] / accruals, 3),
                "deleted": round(moved[2] / accruals, 3),
            }
    busy = (busy_after[0] - busy_before[0]) / max(1, busy_after[1] - busy_before[1])
    return {
        "nodes": len(topo["nodes"]),
        "clients": clients,
        "duration": duration,
        "wrk": result,
        "lag": sampler.summary(),
        "primary_cpu_ms_per_accrual": (
            round((pg_after - pg_before) * 1000 / accruals, 3) if postmaster else None
        ),
        "wal_bytes_per_accrual": round((wal_after - wal_before) / accruals),
        "disk_bytes_per_accrual": round((size_after - size_before) / accruals),
        "rows_per_accrual": dict(sorted(rows.items())),
        "machine_busy": round(busy, 3),
        "loadavg_before": load_before,
        "loadavg_after": load_after,
    }


def _fmt(value, unit=""):
    if value is None:
        return "–"
    if isinstance(value, float):
        value = f"{value:,.1f}"
    elif isinstance(value, int):
        value = f"{value:,}"
    return f"{value}{unit}"


def markdown(runs: list[dict], header: str) -> str:
    lines = [
        header,
        "",
        "| nodes × workers | accruals/s (201) | refused | p50 / p99 ms"
        " | replay lag p50 / p99 / max ms | bytes behind (replayed) p50 / p99 / max"
        " | PG primary CPU ms/accrual"
        " | WAL bytes/accrual | disk bytes/accrual | machine busy | load before → after |",
        "| ---: | ---: | ---: | --- | --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for run in runs:
        wrk, lag = run["wrk"], run["lag"]
        rl, bb = lag["replay_lag_ms"], lag["bytes_behind_replay"]
        lines.append(
            f"| {run['nodes']} × {run.get('web_workers', '?')} | {_fmt(wrk['per_second'])} | "
            f"{_fmt(wrk['non_2xx'] + wrk['socket_errors'])} | "
            f"{_fmt(wrk['p50_ms'])} / "
            f"{_fmt(wrk['p99_ms'])} | {_fmt(rl['p50'])} / {_fmt(rl['p99'])} / "
            f"{_fmt(rl['max'])} | {_fmt(bb['p50'])} / {_fmt(bb['p99'])} / {_fmt(bb['max'])} | "
            f"{_fmt(run['primary_cpu_ms_per_accrual'])} | {_fmt(run['wal_bytes_per_accrual'])} | "
            f"{_fmt(run['disk_bytes_per_accrual'])} | "
            f"{run['machine_busy']:.0%} | {run['loadavg_before'][0]:.1f} → "
            f"{run['loadavg_after'][0]:.1f} |"
        )
    if runs:
        last = runs[-1]
        rows = ", ".join(
            f"{table} +{v['inserted']:g}" + (f"/~{v['updated']:g}" if v["updated"] else "")
            for table, v in last["rows_per_accrual"].items()
        )
        lines += [
            "",
            f"Rows per accrual on the primary ({last['nodes']} node run; +inserted/~updated, "
            f"from pg_stat_user_tables): {rows or '–'}.",
            f"Lag samples every {SAMPLE_EVERY} s: "
            + ", ".join(
                f"{r['nodes']} node(s) {r['lag']['samples']} "
                f"({r['lag']['replay_lag_null_samples']} with replay_lag NULL)"
                for r in runs
            )
            + ".",
            "ledger-check after each run: "
            + ", ".join("clean" if r.get("ledger_check_after") else "FAILED" for r in runs)
            + ".",
        ]
    return "\n".join(lines) + "\n"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--runs",
        default="1x2,2x2,1x4",
        help="topologies to measure, NODESxGUNICORN_WORKERS_PER_NODE: the default compares one "
        "node and two nodes of 2 workers, and one node of 4 (as many processes as two nodes)",
    )
    parser.add_argument("--workers", type=int, default=2, help="task workers in the topology")
    parser.add_argument("--duration", type=int, default=15, help="seconds per measurement")
    parser.add_argument(
        "--clients",
        type=int,
        default=16,
        help="wrk connections (HAProxy queues what a node's maxconn does not take)",
    )
    parser.add_argument("--customers", type=int, default=5_000)
    parser.add_argument("--entries", type=int, default=55_000)
    parser.add_argument("--lb-port", type=int, default=8850)
    parser.add_argument("--node-port", type=int, default=8851)
    parser.add_argument("--pgbouncer-port", type=int, default=6452)
    parser.add_argument("--redis-port", type=int, default=6390)
    parser.add_argument("--primary-port", type=int, default=5464)
    parser.add_argument("--replica-port", type=int, default=5463)
    parser.add_argument("--script", type=Path, default=TOPOLOGY, help="the topology script")
    parser.add_argument("--no-doc", action="store_true", help="do not append to docs/scaling.md")
    return parser.parse_args(argv)


def main(argv=None) -> list[dict]:
    args = parse_args(argv)
    if not args.script.exists():
        sys.exit(f"{args.script} not found (the multi-node topology script)")
    if not wrkload.available():
        sys.exit(wrkload.INSTALL)
    ports = {
        "lb": args.lb_port,
        "node": args.node_port,
        "pgbouncer": args.pgbouncer_port,
        "redis": args.redis_port,
        "primary": args.primary_port,
        "replica": args.replica_port,
    }
    # The benchmark drives thousands of accruals a minute through one POS key: the per-key rate
    # limit is off on the nodes (they inherit this environment), as in bench/run.py.
    env = {**os.environ, "API_RATE_LIMIT": "0", "REQUEST_LOG_LEVEL": "WARNING"}
    runs = []
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    for spec in args.runs.split(","):
        nodes, web_workers = (int(x) for x in spec.lower().split("x"))
        print(f"topology with {nodes} node(s) × {web_workers} gunicorn workers: up …", flush=True)
        with Topology(nodes, web_workers, args.workers, ports, env, args.script) as topo:
            print(f"  loading {args.customers:,} customers into the primary …", flush=True)
            data = load_data(topo["primary"], args.customers, args.entries)
            print(f"  accruals through {topo['lb']} for {args.duration} s …", flush=True)
            run = measure(topo, data, args.duration, args.clients)
            run["web_workers"] = web_workers
            check = subprocess.run(
                [sys.executable, "-m", "lealtad.cli", "ledger-check"],
                env=django_env(topo["primary"]),
                cwd=ROOT,
                capture_output=True,
                text=True,
            )
            run["ledger_check_after"] = check.returncode == 0
            runs.append(run)
            print(
                f"  {run['wrk']['per_second']} accruals/s, replay lag p99 "
                f"{_fmt(run['lag']['replay_lag_ms']['p99'])} ms",
                flush=True,
            )
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"topology-{time.strftime('%Y%m%d-%H%M%S')}.json"
    report = {"args": vars(args), "cores": os.cpu_count(), "started": started, "runs": runs}
    out.write_text(json.dumps(report, indent=2, default=str))
    header = (
        f"### Run of {started} ({os.cpu_count()} cores; {args.clients} wrk connections, "
        f"{args.duration} s, {args.customers:,} customers; `bench/topology.py`)"
    )
    table = markdown(runs, header)
    print("\n" + table)
    print(f"results: {out.relative_to(ROOT)}")
    if not args.no_doc and DOC.exists():
        with DOC.open("a") as doc:
            doc.write("\n" + table)
        print(f"appended to {DOC.relative_to(ROOT)}")
    return runs


if __name__ == "__main__":
    main()
