"""`expire-points` costs what falls due, not what the ledger holds (issue 15).

    BENCH_EXPIRY_DATABASE_URL=postgres://postgres@127.0.0.1:5432/lealtad_bench_expiry \
        .venv/bin/python bench/expiry.py [--lots 1000000] [--due 1000]

(Re)creates its own database, migrates it, and loads with COPY one merchant (made by the real
`create_merchant`), `lots / 10` customers each with one points account, one accrual and ten open
lots (balance = entries = lots, so `lealtad ledger-check` passes), of which `due` lots, on as
many accounts, are past their date. Then: the plan of expire_points' query for due lots, the
time of `lealtad expire-points` (a process, as the operator runs it), ledger-check; and again
with ten times as many lots due, to show the cost follows what is due.
"""

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run  # bench/run.py: database and environment helpers

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/lealtad_bench_expiry"
LOTS_PER_ACCOUNT = 10

DUE_QUERY = """
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT l.account_id, a.customer_id FROM ledger_lot l JOIN ledger_account a ON a.id = l.account_id
WHERE l.status = 'active' AND l.remaining > 0 AND l.expires_at <= now()
ORDER BY l.expires_at LIMIT 500
"""


def load(lots: int, due: int) -> dict:
    from django.db import connection

    from lealtad.network.actions import create_merchant

    started = time.perf_counter()
    now = dt.datetime.now(dt.UTC)
    shop = create_merchant(
        name="Expiry",
        country="CO",
        point_value=Decimal(1000),
        admin_username="bench.expiry",
        admin_password="bench-password-1",
    )
    merchant, branch = shop.merchant, shop.branch
    accounts = lots // LOTS_PER_ACCOUNT
    raw = connection.connection
    with raw.cursor() as cur:
        customers = [uuid.uuid4() for _ in range(accounts)]
        with cur.copy(
            "COPY customers_customer (id, country, document_type, document_number, person_type,"
            " email, mobile, first_name, last_name, gender, birth_date, city, state, postal_code,"
            " address, profile_complete, suspended, suspension_message, qr_version, created_at,"
            " updated_at) FROM STDIN"
        ) as copy:
            for i, cid in enumerate(customers):
                copy.write_row(
                    (cid, "CO", "CC", str(20_000_000 + i), "person", f"e{i}@bench.example",
                     f"+5731{i:08d}", "Cliente", f"Número {i}", "F", dt.date(1980, 1, 1),
                     "Bogotá", "", "", "", True, False, "", 1, now, now)
                )  # fmt: skip
        points = 10
        with cur.copy(
            "COPY ledger_account (id, kind, customer_id, merchant_id, balance, pending, updated_at)"
            " FROM STDIN"
        ) as copy:
            for i, cid in enumerate(customers):
                balance = points * LOTS_PER_ACCOUNT
                copy.write_row((i + 1, "points", cid, merchant.pk, balance, 0, now))
        txns = [uuid.uuid4() for _ in range(accounts)]
        earned = now - dt.timedelta(days=200)
        with cur.copy(
            "COPY ledger_transaction (id, account_id, kind, status, points, balance_after,"
            " merchant_id, branch_id, customer_id, amount, currency, reason, hold_rule,"
            " created_at, posted_at) FROM STDIN"
        ) as copy:
            for i, (cid, txn) in enumerate(zip(customers, txns, strict=True)):
                total = points * LOTS_PER_ACCOUNT
                copy.write_row(
                    (txn, i + 1, "accrual", "posted", total, total, merchant.pk, branch.pk, cid,
                     Decimal(total * 1000), "COP", "", "", earned, earned)
                )  # fmt: skip
        # The first lot of the first `due` accounts is past its date; every other lot expires
        # within the next two years, spread over the days.
        with cur.copy(
            "COPY ledger_lot (id, account_id, transaction_id, points, remaining, status,"
            " earned_at, expires_at) FROM STDIN"
        ) as copy:
            lot_id = 0
            for i, txn in enumerate(txns):
                for j in range(LOTS_PER_ACCOUNT):
                    lot_id += 1
                    if j == 0 and i < due:
                        expires = now - dt.timedelta(hours=1 + i % 24)
                    else:
                        expires = now + dt.timedelta(days=1 + lot_id % 700)
                    copy.write_row((lot_id, i + 1, txn, points, points, "active", earned, expires))
        with cur.copy(
            "COPY ledger_entry (id, account_id, transaction_id, lot_id, points, created_at)"
            " FROM STDIN"
        ) as copy:
            for n in range(lot_id):
                account = n // LOTS_PER_ACCOUNT
                copy.write_row((n + 1, account + 1, txns[account], n + 1, points, earned))
        for table in ("ledger_account", "ledger_lot", "ledger_entry"):
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
    raw.commit()
    raw.autocommit = True  # VACUUM runs outside a transaction; Django's connection autocommits
    with raw.cursor() as cur:
        for table in ("ledger_lot", "ledger_account", "ledger_transaction", "ledger_entry"):
            cur.execute(f"VACUUM (ANALYZE) {table}")
    return {"lots": lot_id, "accounts": accounts, "seconds": round(time.perf_counter() - started)}


def plan() -> str:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(DUE_QUERY)
        return "\n".join(row[0] for row in cur.fetchall())


def make_due(count: int) -> None:
    """`count` more open lots past their date, on accounts that have none due."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "UPDATE ledger_lot SET expires_at = now() - interval '2 hours' WHERE id IN ("
            " SELECT min(id) FROM ledger_lot WHERE status = 'active' AND remaining > 0"
            " GROUP BY account_id ORDER BY account_id DESC LIMIT %s)",
            [count],
        )


def timed(args: list[str], env: dict) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    return round(time.perf_counter() - started, 2), done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lots", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=1_000)
    args = parser.parse_args()
    db_url = os.environ.get("BENCH_EXPIRY_DATABASE_URL", DEFAULT_DB)
    env = run.server_env(db_url)
    run.recreate_database(db_url)
    subprocess.run([*run.LEALTAD, "migrate", "-v", "0"], env=env, cwd=ROOT, check=True)
    os.environ.update(env)
    import django

    django.setup()
    report: dict = {"load": load(args.lots, args.due)}
    print(f"loaded {report['load']}", flush=True)
    startup, _ = timed([*run.LEALTAD, "check"], env)  # Django's own start-up, for reference
    report["process_start_s"] = startup
    for due in (args.due, args.due * 10):
        if due != args.due:
            make_due(due)
        explained = plan()
        seconds, said = timed([*run.LEALTAD, "expire-points"], env)
        check_s, _ = timed([*run.LEALTAD, "ledger-check"], env)
        case = {
            "due": due,
            "expire_points_s": seconds,
            "said": said,
            "ledger_check_ok": True,
            "ledger_check_s": check_s,
            "loadavg": Path("/proc/loadavg").read_text().split()[0],
            "plan": explained,
        }
        report[f"due_{due}"] = case
        print(json.dumps({k: v for k, v in case.items() if k != "plan"}), flush=True)
        print(explained, flush=True)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "expiry.json").write_text(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
