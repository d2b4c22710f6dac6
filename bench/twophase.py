"""What a cross-shard coin payment would cost under Citus, measured on this machine with plain
PostgreSQL: the same small write (a coin payment's confirmation: the wallet's side and the
merchant's side) committed

- on ONE server in one transaction (both sides on the same shard, or today's single primary);
- across TWO servers with two-phase commit the way Citus commits a multi-shard write:
  BEGIN on each worker, the statements, `PREPARE TRANSACTION` on both (in parallel), the
  coordinator's commit record (Citus: a row in pg_dist_transaction, a local durable commit),
  `COMMIT PREPARED` on both (in parallel).

Two PostgreSQL clusters of their own (initdb, fsync on, max_prepared_transactions set), one
client, back to back; p50 / p99 per payment and round trips per payment. The coordinator's
record is written on the first cluster (Citus's coordinator may also hold shards).

    .venv/bin/python bench/twophase.py [--n 400] [--ports 5464,5463]

Only 127.0.0.1. Results on stdout (markdown) and in bench/results/twophase-*.json.
"""

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lealtad.core.tests.crash_harness import Cluster  # noqa: E402

RESULTS = ROOT / "bench" / "results"

SCHEMA = """
CREATE TABLE wallet (customer_id uuid PRIMARY KEY, balance bigint NOT NULL CHECK (balance >= 0));
CREATE TABLE wallet_txn (id uuid PRIMARY KEY, customer_id uuid NOT NULL, coins bigint NOT NULL,
    at timestamptz NOT NULL DEFAULT now());
CREATE TABLE payment (id uuid PRIMARY KEY, merchant_id uuid NOT NULL, status text NOT NULL);
CREATE TABLE audit (id bigserial PRIMARY KEY, merchant_id uuid NOT NULL, payment_id uuid,
    at timestamptz NOT NULL DEFAULT now());
CREATE TABLE dist_transaction (gid text PRIMARY KEY, at timestamptz NOT NULL DEFAULT now());
"""
WALLETS = 1000


def wallet_side(customer):
    return [
        ("UPDATE wallet SET balance = balance - 1 WHERE customer_id = %s", [customer]),
        ("INSERT INTO wallet_txn (id, customer_id, coins) VALUES (%s, %s, -1)",
         [uuid.uuid4(), customer]),
    ]  # fmt: skip


def merchant_side(merchant, payment):
    return [
        ("UPDATE payment SET status = 'confirmed' WHERE id = %s", [payment]),
        ("INSERT INTO audit (merchant_id, payment_id) VALUES (%s, %s)", [merchant, payment]),
    ]


async def one_server(conn, customer, merchant, payment) -> int:
    """Both sides in one transaction on one server; returns its round trips."""
    statements = wallet_side(customer) + merchant_side(merchant, payment)
    async with conn.transaction():  # BEGIN … COMMIT
        for sql, args in statements:
            await conn.execute(sql, args)
    return len(statements) + 2


async def two_phase(w1, w2, coordinator, customer, merchant, payment) -> int:
    """Citus-style 2PC over two workers; returns the round trips on the critical path (the
    workers' are sent in parallel, so a parallel pair counts once)."""
    gid = f"citus_{uuid.uuid4().hex}"

    async def run(conn, statements):
        await conn.execute("BEGIN")
        for sql, args in statements:
            await conn.execute(sql, args)

    await asyncio.gather(run(w1, wallet_side(customer)), run(w2, merchant_side(merchant, payment)))
    await asyncio.gather(
        w1.execute(f"PREPARE TRANSACTION '{gid}_1'"), w2.execute(f"PREPARE TRANSACTION '{gid}_2'")
    )
    await coordinator.execute("INSERT INTO dist_transaction (gid) VALUES (%s)", [gid])
    await asyncio.gather(
        w1.execute(f"COMMIT PREPARED '{gid}_1'"), w2.execute(f"COMMIT PREPARED '{gid}_2'")
    )
    # BEGIN + 2 statements (in parallel on each worker), PREPARE, the record, COMMIT PREPARED.
    return 1 + 2 + 1 + 1 + 1


def pct(values, q):
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)


async def measure(dsns, n: int) -> dict:
    customers = [uuid.uuid4() for _ in range(WALLETS)]
    merchant = uuid.uuid4()
    payments = [uuid.uuid4() for _ in range(n * 3)]
    for dsn in dsns:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(SCHEMA)
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO wallet VALUES (%s, 1000000)", [(c,) for c in customers]
                )
                cur.executemany(
                    "INSERT INTO payment VALUES (%s, %s, 'pending')",
                    [(p, merchant) for p in payments],
                )
            conn.execute("VACUUM ANALYZE")
    a = await psycopg.AsyncConnection.connect(dsns[0], autocommit=True)
    b = await psycopg.AsyncConnection.connect(dsns[1], autocommit=True)
    coord = await psycopg.AsyncConnection.connect(dsns[0], autocommit=True)
    times = {"one": [], "twophase": []}
    trips = {}
    try:
        for i in range(n):  # alternated, so both see the same moments of a shared machine
            for kind in ("one", "twophase"):
                customer, payment = customers[i % WALLETS], payments[i * 3 + (kind == "one")]
                started = time.perf_counter()
                if kind == "one":
                    trips[kind] = await one_server(a, customer, merchant, payment)
                else:
                    trips[kind] = await two_phase(a, b, coord, customer, merchant, payment)
                times[kind].append(time.perf_counter() - started)
    finally:
        for conn in (a, b, coord):
            await conn.close()
    out = {}
    for kind, values in times.items():
        out[kind] = {
            "n": len(values),
            "round_trips": trips[kind],
            "p50_ms": pct(values, 0.50),
            "p99_ms": pct(values, 0.99),
            "mean_ms": round(sum(values) / len(values) * 1000, 2),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=400, help="payments of each kind")
    parser.add_argument("--ports", default="5464,5463", help="the two clusters' ports")
    args = parser.parse_args()
    ports = [int(p) for p in args.ports.split(",")]
    clusters = [Cluster(port) for port in ports]
    load_before = Path("/proc/loadavg").read_text().split()[0]
    try:
        for cluster in clusters:
            cluster.start()
            with psycopg.connect(cluster.admin_dsn, autocommit=True) as conn:
                conn.execute("ALTER SYSTEM SET max_prepared_transactions = 20")
            cluster.stop()
            cluster._pg_ctl("start")
        result = asyncio.run(measure([c.dsn for c in clusters], args.n))
    finally:
        for cluster in clusters:
            cluster.destroy()
    load_after = Path("/proc/loadavg").read_text().split()[0]
    result["loadavg"] = [float(load_before), float(load_after)]
    result["cores"] = os.cpu_count()
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"twophase-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=2))
    print("| commit | round trips on the critical path | p50 ms | p99 ms | mean ms |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for kind, label in (("one", "one server, one transaction"), ("twophase", "2PC, two servers")):
        r = result[kind]
        print(f"| {label} | {r['round_trips']} | {r['p50_ms']} | {r['p99_ms']} | {r['mean_ms']} |")
    print(f"\nload average {load_before} → {load_after}; results: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
