"""Load a realistic data set for the benchmark: merchants made by the real actions, then customers,
memberships, accounts, transactions, lots and entries written with PostgreSQL COPY, keeping the
ledger invariants exact (`lealtad ledger-check` passes on the result).

Run by bench/run.py inside a Django process: DATABASE_URL points at the benchmark database.
"""

import datetime as dt
import json
import random
import sys
import time
import uuid
from decimal import Decimal

import django

django.setup()

from django.db import connection  # noqa: E402

from lealtad.customers.actions import default_category  # noqa: E402
from lealtad.network.actions import create_merchant  # noqa: E402
from lealtad.program.models import Reward  # noqa: E402

MERCHANTS = [("Café Aroma", "CO", "1000"), ("Posto Estrada", "BR", "5"), ("Farmacia", "PA", "1")]


def load(customers: int, entries: int, seed: int = 7) -> dict:
    rng = random.Random(seed)
    started = time.perf_counter()
    now = dt.datetime.now(dt.UTC)
    shops = []
    for i, (name, country, point_value) in enumerate(MERCHANTS):
        new = create_merchant(
            name=name,
            country=country,
            point_value=Decimal(point_value),
            admin_username=f"bench.admin{i}",
            admin_password="bench-password-1",
        )
        reward = Reward.objects.create(merchant=new.merchant, name="Premio", points_cost=50)
        shops.append((new, default_category(new.merchant), reward))
    per_customer = max(entries // customers, 2)
    accruals = per_customer - 1  # and one redemption each
    raw = connection.connection  # the psycopg connection under Django's
    ids = {"account": 0, "lot": 0, "entry": 0}
    docs = []
    with raw.cursor() as cur:
        with cur.copy(
            "COPY customers_customer (id, country, document_type, document_number, person_type,"
            " email, mobile, first_name, last_name, gender, birth_date, city, state, postal_code,"
            " address, profile_complete, suspended, suspension_message, qr_version, created_at,"
            " updated_at) FROM STDIN"
        ) as copy:
            customer_ids = []
            for i in range(customers):
                cid = uuid.uuid4()
                customer_ids.append(cid)
                doc = str(10_000_000 + i)
                docs.append(doc)
                copy.write_row(
                    (
                        cid,
                        "CO",
                        "CC",
                        doc,
                        "person",
                        f"c{i}@bench.example",
                        f"+5730{i:08d}",
                        "Cliente",
                        f"Número {i}",
                        "F" if i % 2 else "M",
                        dt.date(1980, 1, 1) + dt.timedelta(days=i % 9000),
                        "Bogotá",
                        "",
                        "",
                        "",
                        True,
                        False,
                        "",
                        1,
                        now,
                        now,
                    )
                )
        print(f"  customers: {customers:,} ({time.perf_counter() - started:.0f} s)", flush=True)
        accounts = []
        for i, cid in enumerate(customer_ids):
            shop, category, reward = shops[i % len(shops)]
            ids["account"] += 1
            accounts.append((ids["account"], cid, shop, category, reward))
        # Balances are known only after the lots are drawn, so draw them first.
        txn_rows, lot_rows, entry_rows, balances = [], [], [], {}
        for account_id, cid, shop, _category, reward in accounts:
            merchant, branch = shop.merchant, shop.branch
            lots, balance = [], 0
            for j in range(accruals):
                at = now - dt.timedelta(days=rng.randint(1, 300), seconds=rng.randint(0, 86399))
                points = rng.randint(3, 60)
                txn = uuid.uuid4()
                ids["lot"] += 1
                ids["entry"] += 1
                balance += points
                lots.append([ids["lot"], points, points])
                txn_rows.append(
                    (
                        txn,
                        account_id,
                        "accrual",
                        "posted",
                        points,
                        balance,
                        merchant.pk,
                        branch.pk,
                        None,
                        cid,
                        Decimal(points) * merchant.point_value,
                        merchant.currency,
                        f"B{account_id}-{j}",
                        None,
                        None,
                        "",
                        "",
                        at,
                        at,
                        None,
                        None,
                    )
                )
                lot_rows.append(
                    (
                        ids["lot"],
                        account_id,
                        txn,
                        points,
                        at,
                        at + dt.timedelta(days=merchant.points_validity_days),
                    )
                )
                entry_rows.append((ids["entry"], account_id, txn, ids["lot"], points, at))
            cost = min(reward.points_cost, balance)
            txn, at, left = uuid.uuid4(), now - dt.timedelta(hours=1), cost
            balance -= cost
            txn_rows.append(
                (
                    txn,
                    account_id,
                    "redemption",
                    "posted",
                    -cost,
                    balance,
                    merchant.pk,
                    branch.pk,
                    None,
                    cid,
                    None,
                    "",
                    None,
                    reward.pk,
                    None,
                    reward.name,
                    "",
                    at,
                    at,
                    None,
                    None,
                )
            )
            for lot in lots:  # oldest lots first is close enough for a data set
                take = min(lot[2], left)
                if take:
                    lot[2] -= take
                    left -= take
                    ids["entry"] += 1
                    entry_rows.append((ids["entry"], account_id, txn, lot[0], -take, at))
            for lot_id, _points, remaining in lots:
                balances.setdefault(account_id, {})[lot_id] = remaining
            balances[account_id]["total"] = balance
        with cur.copy(
            "COPY ledger_account (id, kind, customer_id, merchant_id, balance, pending, updated_at)"
            " FROM STDIN"
        ) as copy:
            for account_id, cid, shop, _category, _reward in accounts:
                copy.write_row(
                    (
                        account_id,
                        "points",
                        cid,
                        shop.merchant.pk,
                        balances[account_id]["total"],
                        0,
                        now,
                    )
                )
        with cur.copy(
            "COPY customers_membership (id, customer_id, merchant_id, category_id, card_number,"
            " account_id, registered_branch_id, holder_id, redeem_policy, blocked,"
            " blocked_reason, blocked_at, marketing_consent, created_at) FROM STDIN"
        ) as copy:
            for account_id, cid, shop, category, _reward in accounts:
                copy.write_row(
                    (
                        uuid.uuid4(),
                        cid,
                        shop.merchant.pk,
                        category.pk,
                        None,
                        account_id,
                        shop.branch.pk,
                        None,
                        "holder",
                        False,
                        "",
                        None,
                        False,
                        now,
                    )
                )
        print(f"  accounts and memberships ({time.perf_counter() - started:.0f} s)", flush=True)
        with cur.copy(
            "COPY ledger_transaction (id, account_id, kind, status, points, balance_after,"
            " merchant_id, branch_id, staff_id, customer_id, amount, currency, invoice_number,"
            " reward_id, reverses_id, reason, hold_rule, created_at, posted_at, decided_at,"
            " decided_by_id) FROM STDIN"
        ) as copy:
            for row in txn_rows:
                copy.write_row(row)
        print(
            f"  transactions: {len(txn_rows):,} ({time.perf_counter() - started:.0f} s)", flush=True
        )
        with cur.copy(
            "COPY ledger_lot (id, account_id, transaction_id, points, remaining, status,"
            " earned_at, expires_at) FROM STDIN"
        ) as copy:
            for lot_id, account_id, txn, points, at, expires in lot_rows:
                remaining = balances[account_id][lot_id]
                copy.write_row((lot_id, account_id, txn, points, remaining, "active", at, expires))
        with cur.copy(
            "COPY ledger_entry (id, account_id, transaction_id, lot_id, points, created_at)"
            " FROM STDIN"
        ) as copy:
            for row in entry_rows:
                copy.write_row(row)
        print(
            f"  lots: {len(lot_rows):,}, entries: {len(entry_rows):,} "
            f"({time.perf_counter() - started:.0f} s)",
            flush=True,
        )
        for table, key in (
            ("ledger_account", "account"),
            ("ledger_lot", "lot"),
            ("ledger_entry", "entry"),
        ):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), %s)", [ids[key]])
    raw.commit()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {
        "customers": customers,
        "transactions": len(txn_rows),
        "entries": len(entry_rows),
        "lots": len(lot_rows),
        "api_keys": [shop.api_key for shop, _c, _r in shops],
        "documents_sample": rng.sample(docs, min(5000, len(docs))),
        # Accrual traffic goes through the first merchant's API key, to its own members.
        "customer_ids_sample": [
            str(c)
            for c in rng.sample(customer_ids[:: len(shops)], min(5000, len(customer_ids) // 3))
        ],
        "seconds": round(time.perf_counter() - started, 1),
    }


if __name__ == "__main__":
    result = load(int(sys.argv[1]), int(sys.argv[2]))
    json.dump(result, open(sys.argv[3], "w"))  # noqa: SIM115
