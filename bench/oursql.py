"""The database's own limit for OUR work: pgbench running the SQL one accrual really runs.

`python bench/oursql.py` (DATABASE_URL = the loaded bench database) posts accruals in-process
through the real API (Django's test client: the same middleware, auth and action as under
gunicorn), captures the statements of one of them in steady state with `CaptureQueriesContext`,
and writes bench/pgbench/accrual.sql, a pgbench script of the same statements in the same
transaction, with:

- the member drawn at random (`\\set n random(1, N)`) from a helper table `bench_pgbench_members`
  (n → customer, account, membership of the first merchant), each literal of the captured member
  replaced by a scalar sub-select on it: an index probe in the server, no extra round trip;
- the new transaction's uuid and the invoice number made unique from `:client_id` and a random
  big int; the lot and entry ids the statements chose replaced by their sequence's `currval`;
- everything else (merchant, branch, category, amounts, timestamps) kept as captured: the same
  cost, and the ledger stays exact (balance, lot and entry move together), so `ledger-check`
  still passes afterwards.

Regenerated at every run, so the script follows the accrual when its SQL changes;
bench/results/accrual-captured.json keeps the raw statements for reading. `measure()` runs it with
pgbench next to TPC-B.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "bench" / "pgbench" / "accrual.sql"
CAPTURED = ROOT / "bench" / "results" / "accrual-captured.json"
MEMBERS = "bench_pgbench_members"
INVOICE = "CAPTUREDINVOICE"
# 48 bits of randomness in the uuid's last group and in the invoice number, with the client id.
RANDOM_MAX = 2**48 - 1


def _capture(api_key: str, customer_ids: list[str]) -> dict:
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from lealtad.customers.models import Membership
    from lealtad.ledger.models import Entry, Lot, Transaction

    client = Client(HTTP_AUTHORIZATION=f"Bearer {api_key}")

    def post(customer_id, invoice):
        body = {"customer_id": customer_id, "amount": "25000.00", "invoice_number": invoice}
        response = client.post("/api/v1/accruals", body, content_type="application/json")
        assert response.status_code == 201, response.content
        return response.json()

    for i, cid in enumerate(customer_ids[1:3]):  # warm: the key, the flags, the promotions
        post(cid, f"CAPTURE-WARM-{os.getpid()}-{i}")
    member = customer_ids[0]
    with CaptureQueriesContext(connection) as captured:
        out = post(member, f"{INVOICE}{os.getpid()}")
    statements = [q["sql"] for q in captured.captured_queries]
    txn = Transaction.objects.get(pk=out["id"])
    membership = Membership.objects.get(customer_id=member, merchant_id=txn.merchant_id)
    lot_ids = list(Lot.objects.filter(transaction=txn).values_list("pk", flat=True))
    entry_ids = list(Entry.objects.filter(transaction=txn).values_list("pk", flat=True))
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {MEMBERS}")
        cursor.execute(
            f"CREATE TABLE {MEMBERS} AS SELECT row_number() OVER (ORDER BY id)::int AS n,"
            " customer_id, account_id, id AS membership_id FROM customers_membership"
            " WHERE merchant_id = %s AND account_id IS NOT NULL",
            [txn.merchant_id],
        )
        cursor.execute(f"ALTER TABLE {MEMBERS} ADD PRIMARY KEY (n)")
        cursor.execute(f"SELECT count(*) FROM {MEMBERS}")
        members = cursor.fetchone()[0]
    return {
        "statements": statements,
        "invoice": f"{INVOICE}{os.getpid()}",
        "transaction_id": str(txn.pk),
        "customer_id": member,
        "account_id": membership.account_id,
        "membership_id": str(membership.pk),
        "lot_ids": lot_ids,
        "entry_ids": entry_ids,
        "members": members,
    }


LITERAL = re.compile(r"'(?:[^']|'')*'")
# A primary key the application chose (a uuid, a webhook message id) for a row it inserts:
# it must be new at every execution.
NEW_KEY = re.compile(
    r'INSERT INTO "\w+" \("id",[^)]*\) (?:VALUES \(|SELECT )\'([0-9a-f]{32}|msg_\w+)\''
)


def _forms(value: str) -> list[str]:
    """How a value may be spelt in SQL: uuids with and without dashes, text in both cases."""
    forms = {value, value.casefold()}
    if re.fullmatch(r"[0-9a-f-]{36}", value):
        forms.add(value.replace("-", ""))
    if re.fullmatch(r"[0-9a-f]{32}", value):
        forms.add(f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}")
    return sorted(forms, key=len, reverse=True)


def generate(cap: dict) -> str:
    """The pgbench script from the captured statements (see the module's docstring).

    Values are replaced inside string literals (where they stand alone, or inside a longer one:
    an advisory lock's key, a webhook's JSON payload), which become text expressions in
    parentheses so that a following cast still applies; integer ids outside literals."""

    def member(column):
        return f"(SELECT {column}::text FROM {MEMBERS} WHERE n = :n::int)"

    statements = [s.strip() for s in cap["statements"]]
    text = {}  # value as spelt in SQL → text expression
    new_keys = {cap["transaction_id"]}
    for sql in statements:
        new_keys.update(NEW_KEY.findall(sql))
    for i, key in enumerate(sorted(new_keys)):
        if key.startswith("msg_"):
            expression = f"('msg_{i}_' || :client_id::bigint || '_' || :r::bigint)"
        else:
            expression = (
                f"(lpad(to_hex(:client_id::bigint), 8, '0') || '-0000-4000-80{i:02x}-' "
                "|| lpad(to_hex(:r::bigint), 12, '0'))"
            )
        text.update(dict.fromkeys(_forms(key), expression))
    for column in ("customer_id", "membership_id"):
        text.update(dict.fromkeys(_forms(cap[column]), member(column)))
    invoice = "('PGB-' || :client_id::bigint || '-' || :r::bigint)"
    text[cap["invoice"]] = invoice
    text[cap["invoice"].casefold()] = f"lower{invoice}"
    spelt = re.compile("|".join(re.escape(k) for k in sorted(text, key=len, reverse=True)))
    integers = {cap["account_id"]: member("account_id") + "::bigint"}
    for table, values in (("ledger_lot", cap["lot_ids"]), ("ledger_entry", cap["entry_ids"])):
        integers.update(dict.fromkeys(values, f"currval('{table}_id_seq')"))
    number = re.compile(r"(?<![\w.])(" + "|".join(str(v) for v in integers) + r")(?![\w.])")

    def in_literal(match):
        literal = match.group(0)
        if not spelt.search(literal):
            return literal
        body, pieces, at = literal[1:-1], [], 0
        for found in spelt.finditer(body):
            if found.start() > at:
                pieces.append("'" + body[at : found.start()] + "'")
            pieces.append(text[found.group(0)])
            at = found.end()
        if at < len(body):
            pieces.append("'" + body[at:] + "'")
        return "(" + " || ".join(pieces) + ")"

    def rewrite(sql):
        out, at = [], 0
        for found in LITERAL.finditer(sql):
            out.append(number.sub(lambda m: integers[int(m.group(1))], sql[at : found.start()]))
            out.append(in_literal(found))
            at = found.end()
        out.append(number.sub(lambda m: integers[int(m.group(1))], sql[at:]))
        return "".join(out)

    lines = [
        "-- Generated by bench/oursql.py from the statements of one accrual over the API;",
        "-- do not edit: it is rewritten at every benchmark run.",
        f"\\set n random(1, {cap['members']})",
        f"\\set r random(1, {RANDOM_MAX})",
    ]
    lines += [rewrite(sql) + ";" for sql in statements]
    return "\n".join(lines) + "\n"


def prepare(env: dict, api_key: str, customer_ids: list[str]) -> dict:
    """Capture one accrual on the bench database and (re)write the pgbench script."""
    env = {**env, "ALLOWED_HOSTS": env.get("ALLOWED_HOSTS", "127.0.0.1") + ",testserver"}
    payload = json.dumps({"api_key": api_key, "customer_ids": customer_ids[:3]})
    subprocess.run(
        [sys.executable, __file__, "capture"],
        input=payload,
        env=env,
        cwd=ROOT,
        check=True,
        text=True,
    )
    cap = json.loads(CAPTURED.read_text())
    SCRIPT.write_text(generate(cap))
    return {"statements": len(cap["statements"]), "members": cap["members"]}


def pgbench(db_url: str, clients: int, duration: int, script=None, builtin=None) -> dict:
    """One pgbench run (a custom script or a builtin), -M simple like Django's client cursors."""
    from run import pg_tool

    url = urlsplit(db_url)
    args = [pg_tool("pgbench"), "-h", url.hostname or "127.0.0.1", "-p", str(url.port or 5432)]
    args += ["-U", url.username or "postgres"] + (["-n"] if script else [])
    args += ["-c", str(clients), "-j", str(min(2, clients)), "-T", str(duration), "-r"]
    args += ["-f", str(script)] if script else ["-b", builtin]
    args.append(url.path.lstrip("/"))
    out = subprocess.run(args, capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        raise SystemExit(f"pgbench failed:\n{out.stderr}\n{out.stdout[-2000:]}")
    tps = float(re.search(r"tps = ([0-9.]+)", out.stdout).group(1))
    latency = re.search(r"latency average = ([0-9.]+) ms", out.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", out.stdout)
    return {
        "tps": tps,
        "latency_avg_ms": float(latency.group(1)) if latency else None,
        "failed": int(failed.group(1)) if failed else 0,
    }


def _main_capture() -> None:
    given = json.loads(sys.stdin.read())
    cap = _capture(given["api_key"], given["customer_ids"])
    CAPTURED.parent.mkdir(parents=True, exist_ok=True)
    CAPTURED.write_text(json.dumps(cap, indent=2))


if __name__ == "__main__":
    if sys.argv[1:] == ["capture"]:
        _main_capture()
