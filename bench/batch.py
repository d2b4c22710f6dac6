"""Batch intake (issue 12): the server time of one `POST /api/v1/accruals/batch` of 500 accruals
for 500 distinct customers, as a POS syncing after being offline sends it.

The real path: `lealtad serve` (gunicorn and its task worker) against PostgreSQL, a POS API key,
500 members of one merchant. Each round is one batch of 500 with fresh invoice numbers, timed
from the client on loopback from the request to the end of the response (so: parsing, the 500
accruals, rendering). The first round warms the worker up and is not counted. Three kinds:

- `with_item_keys`: every item with its own `idempotency_key` (what the guide recommends);
- `without_keys`: the invoice numbers alone guard against doubles;
- `replayed`: the `with_item_keys` batch sent again: every item answered from its key.

    python bench/batch.py [--rounds 5] [--size 500] [--port 0] [--db postgres://…]
                          [--pgbench 10]

Accruals a second = size ÷ p50 of each kind. Alone it also runs PostgreSQL's pgbench TPC-B
(`-i -s 10`, then `-c 2 -T <--pgbench>`) on a database of its own (the bench database's name +
`_pgbench`) right after, and reports the ratio accruals/s ÷ tps (issue 15: ≥ 1.0), with the load
average before and after (the machine is shared: compare figures of the same minute).

Called by bench/run.py (`make bench`). Printed, and written to bench/results/ when run alone.
"""

import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import code_delivery  # noqa: E402  (bench/code_delivery.py: env, ports, database)

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/lealtad_bench_batch"
RESULTS = ROOT / "bench" / "results"
SETUP = """
import json
from lealtad.core import testing
shop = testing.make_merchant("Bench batch")
key = shop.api_key  # the merchant-wide POS key make_merchant issues
ids = [str(testing.make_customer(shop).customer.pk) for _ in range({count})]
print(json.dumps({{"key": key, "ids": ids}}))
"""


def _pct(values, q):
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))] * 1000, 1) if values else None


def _send(conn, key, items) -> tuple[int, list, float]:
    body = json.dumps({"accruals": items})
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    started = time.perf_counter()
    conn.request("POST", "/api/v1/accruals/batch", body=body, headers=headers)
    response = conn.getresponse()
    payload = response.read()
    took = time.perf_counter() - started
    results = json.loads(payload).get("results", []) if response.status == 200 else []
    return response.status, results, took


def _items(ids, round_no, keys: bool) -> list[dict]:
    items = []
    for n, customer in enumerate(ids):
        item = {
            "customer_id": customer,
            "amount": f"{2 + n % 80}000.00",
            "invoice_number": f"B-{round_no}-{keys:d}-{n}",
        }
        if keys:
            item["idempotency_key"] = f"pos-1:{round_no}:{n}"
        items.append(item)
    return items


def measure(db_url=DEFAULT_DB, rounds=5, size=500, port=0) -> dict:
    env = code_delivery._env(db_url, "")
    lealtad = [sys.executable, "-m", "lealtad.cli"]
    code_delivery._recreate(db_url)
    subprocess.run([*lealtad, "migrate", "-v", "0"], env=env, cwd=ROOT, check=True)
    made = subprocess.run(
        [*lealtad, "shell", "-c", SETUP.format(count=size)],
        env=env, cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    data = json.loads(made.strip().splitlines()[-1])
    port = port or code_delivery.free_port()
    server = subprocess.Popen(
        [*lealtad, "serve", "--port", str(port), "--workers", "2"],
        env=env, cwd=ROOT, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    times = {"with_item_keys": [], "without_keys": [], "replayed": []}
    failures = []
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise SystemExit("the server did not start")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        _send(conn, data["key"], _items(data["ids"], 0, keys=True))  # warm-up: not counted
        for round_no in range(1, rounds + 1):
            for kind, keys in (("with_item_keys", True), ("without_keys", False)):
                items = _items(data["ids"], round_no, keys)
                status, results, took = _send(conn, data["key"], items)
                bad = [r["status"] for r in results if r["status"] != 201]
                if status != 200 or len(results) != size or bad:
                    failures.append((kind, status, bad[:3]))
                times[kind].append(took)
                if keys:
                    again, replay, took = _send(conn, data["key"], items)
                    if again != 200 or replay != results:
                        failures.append(("replayed", again, "answers differ"))
                    times["replayed"].append(took)
        conn.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    check = subprocess.run(
        [*lealtad, "ledger-check"], env=env, cwd=ROOT, capture_output=True, text=True
    )
    report = {"size": size, "rounds": rounds, "failed": len(failures), "failures": failures[:10]}
    for kind, values in times.items():
        report[f"{kind}_p50_ms"] = _pct(values, 0.50)
        report[f"{kind}_max_ms"] = _pct(values, 1.0)
    for kind in times:
        p50 = report[f"{kind}_p50_ms"]
        report[f"{kind}_accruals_per_s"] = round(size / p50 * 1000) if p50 else None
    best = report["with_item_keys_p50_ms"]
    report["per_item_ms"] = round(best / size, 2) if best else None
    report["mean_ms"] = round(statistics.fmean(times["with_item_keys"]) * 1000, 1)
    report["ledger_check"] = check.returncode == 0
    return report


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return ""


def pgbench(db_url: str, duration: int, clients: int = 2) -> dict:
    """PostgreSQL's own TPC-B on `db_url` (recreated): `-i -s 10`, then `-c clients -T`."""
    import re
    from urllib.parse import urlsplit

    from run import pg_tool, recreate_database, sh  # bench/run.py

    url = urlsplit(db_url)
    conn = ["-h", url.hostname, "-p", str(url.port or 5432), "-U", url.username or "postgres"]
    name = url.path.lstrip("/")
    recreate_database(db_url)
    sh([pg_tool("pgbench"), *conn, "-i", "-s", "10", "-q", name], capture_output=True)
    out = sh(
        [pg_tool("pgbench"), *conn, "-c", str(clients), "-j", "2", "-T", str(duration), name],
        capture_output=True,
    ).stdout
    tps = float(re.search(r"tps = ([0-9.]+)", out).group(1))
    return {"tps": tps, "clients": clients, "seconds": duration}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--size", type=int, default=500)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--db", default=os.environ.get("BENCH_BATCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--pgbench", type=int, default=10, help="seconds of TPC-B (0: none)")
    args = parser.parse_args()
    load_before = _loadavg()
    report = measure(args.db, args.rounds, args.size, args.port)
    report["loadavg_before"] = load_before
    report["loadavg_after"] = _loadavg()
    if args.pgbench:
        report["pgbench"] = pgbench(args.db + "_pgbench", args.pgbench)
        tps = report["pgbench"]["tps"]
        for kind in ("with_item_keys", "without_keys"):
            rate = report[f"{kind}_accruals_per_s"]
            report[f"{kind}_ratio_to_tpcb"] = round(rate / tps, 2) if rate and tps else None
        report["loadavg_after_pgbench"] = _loadavg()
    print(json.dumps(report, indent=2))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"batch-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(report, indent=2))
    print(f"results: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
