"""The embedded default: accruals/s and p99 on SQLite with `make run`'s settings.

`make bench BENCH_ARGS="--only sqlite"` (or `python bench/sqlite.py`): a fresh SQLite file
(WAL, synchronous=NORMAL, as settings.py sets for SQLite) migrated and loaded with 10,000
customers of one merchant (the merchant by the real `create_merchant` action; customers,
accounts and memberships by the ORM's `bulk_create`, no history), then `lealtad serve` exactly as
`make run` starts it (DEBUG as its default, the workers' default, one task worker,
SMS_URL=console://), with only the per-key rate limit off, and accruals over HTTP from the
Python clients and wrk, for the same duration.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FILE = ROOT / "bench" / "results" / "bench.sqlite3"
CUSTOMERS = 10_000


def _load(customers: int) -> dict:
    import django

    django.setup()
    from decimal import Decimal

    from lealtad.customers.actions import default_category
    from lealtad.customers.models import Customer, Membership
    from lealtad.ledger.models import Account
    from lealtad.network.actions import create_merchant

    started = time.perf_counter()
    shop = create_merchant(
        name="Café SQLite",
        country="CO",
        point_value=Decimal("1000"),
        admin_username="bench.sqlite",
        admin_password="bench-password-1",
    )
    merchant, category = shop.merchant, default_category(shop.merchant)
    people = Customer.objects.bulk_create(
        Customer(
            country="CO",
            document_type="CC",
            document_number=str(20_000_000 + i),
            person_type="person",
            email=f"s{i}@bench.example",
            mobile=f"+5731{i:08d}",
            first_name="Cliente",
            last_name=f"Número {i}",
            profile_complete=True,
        )
        for i in range(customers)
    )
    accounts = Account.objects.bulk_create(
        Account(kind="points", customer=c, merchant=merchant) for c in people
    )
    Membership.objects.bulk_create(
        Membership(
            customer=c,
            merchant=merchant,
            category=category,
            account=a,
            registered_branch=shop.branch,
        )
        for c, a in zip(people, accounts, strict=True)
    )
    return {
        "customers": customers,
        "api_key": shop.api_key,
        "customer_ids": [str(c.pk) for c in people[:5000]],
        "documents": [c.document_number for c in people[:5000]],
        "seconds": round(time.perf_counter() - started, 1),
    }


def env_for(path: Path = FILE) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DEBUG")}
    # make run's settings: its DATABASE_URL default is this same kind of file; nothing else
    # but the rate limit (the benchmark pushes one key far past 600 a minute) is changed.
    return {
        **env,
        "DATABASE_URL": f"sqlite:///{path}",
        "SMS_URL": "console://",
        "API_RATE_LIMIT": "0",
        "DJANGO_SETTINGS_MODULE": "lealtad.settings",
    }


def prepare(customers: int = CUSTOMERS) -> tuple[dict, dict]:
    """A fresh SQLite file, migrated and loaded; (its env, the data set)."""
    FILE.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{FILE}{suffix}").unlink(missing_ok=True)
    env = env_for()
    lealtad = [sys.executable, "-m", "lealtad.cli"]
    subprocess.run([*lealtad, "migrate", "-v", "0"], env=env, cwd=ROOT, check=True)
    out = subprocess.run(
        [sys.executable, __file__, "load", str(customers)],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return env, json.loads(out.stdout.splitlines()[-1])


def measure(port: int, duration: int, clients: int, customers: int = CUSTOMERS) -> dict:
    import accruals
    import run
    import wrkload

    print(f"SQLite: loading {customers:,} customers …", flush=True)
    env, data = prepare(customers)
    result = {"customers": customers, "load_seconds": data["seconds"], "clients": clients}
    key, ids = data["api_key"], data["customer_ids"]
    with run.Server(env, port) as server:
        run.load_test("accrual", key, ids, 2, clients, port)
        print(f"SQLite: accruals for {duration} s with {clients} clients …", flush=True)
        result["python"] = accruals.with_cpu(
            server, lambda: run.load_test("accrual", key, ids, duration, clients, port)
        )
        if wrkload.available():
            result["wrk"] = accruals.with_cpu(
                server, lambda: wrkload.run("accrual", port, key, ids, duration, clients)
            )
    check = subprocess.run(
        [sys.executable, "-m", "lealtad.cli", "ledger-check"],
        env=env,
        cwd=ROOT,
        capture_output=True,
    )
    result["ledger_check"] = check.returncode == 0
    return result


def rows(result: dict) -> list[tuple]:
    out = []
    for client in ("python", "wrk"):
        if client in result:
            r = result[client]
            out.append(
                (
                    f"SQLite accruals/s ({client})",
                    f"{r['per_second']:.0f}",
                    f"p50 {r['p50_ms']} ms",
                    f"p99 {r['p99_ms']} ms",
                    f"errors {r['errors']}",
                )
            )
    return out


if __name__ == "__main__":
    if sys.argv[1:2] == ["load"]:
        print(json.dumps(_load(int(sys.argv[2]))))
        sys.exit()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8612)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--customers", type=int, default=CUSTOMERS)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "bench"))
    print(json.dumps(measure(args.port, args.duration, args.clients, args.customers), indent=2))
