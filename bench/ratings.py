"""The ratings inbox under load (issue 13, F2): 100,000 ratings at one merchant, then the
console's inbox over HTTP as that merchant's admin, one request at a time.

The ratings are written by one INSERT … SELECT from the merchant's own visits (accruals and
redemptions of bench/load_data.py), so each rating has its visit as the model requires; scores
spread over 1–10, a third with a comment, half of those read, some conversations. Then the inbox:
the first page (newest first, with its counters and the period's NPS), sorts (score, customer,
unread first), and filters (a branch, a month, a customer's name). Goal: p99 < 150 ms each.

    python bench/ratings.py [--db postgres://…] [--port 8118]   # standalone: its own data set
    # or through bench/run.py (`make bench`), on the main data set

Only 127.0.0.1 is ever targeted.
"""

import argparse
import datetime as dt
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import dashboard  # noqa: E402  (bench/dashboard.py: the signed-in session and timings)

RATINGS = 100_000
GOAL_MS = 150
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/lealtad_bench_ratings"

LOAD = """
WITH shop AS (SELECT merchant_id FROM network_user WHERE username = %(admin)s),
visits AS (
    SELECT t.id, t.merchant_id, t.branch_id, t.customer_id, t.created_at,
           row_number() OVER (ORDER BY t.created_at DESC, t.id) AS n
    FROM ledger_transaction t JOIN shop ON t.merchant_id = shop.merchant_id
    WHERE t.status = 'posted' AND t.kind IN ('accrual', 'redemption')
      AND NOT EXISTS (SELECT 1 FROM ratings_rating r WHERE r.transaction_id = t.id)
    ORDER BY t.created_at DESC, t.id
    LIMIT %(ratings)s
)
INSERT INTO ratings_rating (id, merchant_id, branch_id, customer_id, transaction_id, score,
    comment, created_at, comment_read_at, gifted, auto_replied_at, source)
SELECT gen_random_uuid(), merchant_id, branch_id, customer_id, id,
       1 + (n * 7919) %% 10,
       CASE WHEN n %% 3 = 0 THEN 'Comentario de prueba ' || n ELSE '' END,
       -- shortly after the visit (never in the future): a second apart, as real ones come
       LEAST(created_at + interval '10 minutes', now()) - (n %% 3600) * interval '1 second',
       CASE WHEN n %% 6 = 0 THEN created_at + interval '1 day' END,
       n %% 50 = 0, NULL, 'email'
FROM visits
"""
MESSAGES = """
INSERT INTO ratings_message (rating_id, author, body, automatic, created_at, read_at)
SELECT r.id, a.author, 'Mensaje de prueba', false, r.created_at + a.after,
       CASE WHEN a.author = 'merchant' THEN r.created_at + interval '1 day' END
FROM ratings_rating r
JOIN network_user u ON u.merchant_id = r.merchant_id AND u.username = %(admin)s
CROSS JOIN (VALUES ('merchant', interval '3 hours'), ('customer', interval '5 hours'))
    AS a(author, after)
WHERE r.comment <> '' AND (hashtext(r.id::text) %% 10) = 0
"""


def load(db_url: str, ratings: int = RATINGS) -> dict:
    import psycopg

    started = time.perf_counter()
    with psycopg.connect(db_url, autocommit=True) as conn:
        have = conn.execute(
            "SELECT COUNT(*) FROM ratings_rating r JOIN network_user u"
            " ON u.merchant_id = r.merchant_id AND u.username = %s",
            [dashboard.ADMIN],
        ).fetchone()[0]
        if have >= ratings:  # --skip-load: the data set already has them
            print(f"  ratings: {have:,} already loaded", flush=True)
            return {"ratings": have, "messages": None, "seconds": 0}
        params = {"admin": dashboard.ADMIN, "ratings": ratings - have}
        inserted = conn.execute(LOAD, params).rowcount
        messages = conn.execute(MESSAGES, params).rowcount
    # Written around the actions: the inbox's day counters are recounted as an operator would
    # after a bulk load (the actions keep them from then on).
    import run  # bench/run.py: the server's environment

    run.sh([*run.LEALTAD, "rebuild-rating-counters"], env=run.server_env(db_url))
    with psycopg.connect(db_url, autocommit=True) as conn:
        for table in ("ratings_rating", "ratings_message", "ratings_ratingday"):
            conn.execute(f"VACUUM (ANALYZE) {table}")
    seconds = round(time.perf_counter() - started, 1)
    print(f"  ratings: {inserted:,} inserted, {messages:,} messages, in {seconds} s", flush=True)
    return {"ratings": inserted, "messages": messages, "seconds": seconds}


def measure(port: int, requests: int = 60) -> dict:
    session = dashboard.Session(port)
    session.sign_in()
    status, page = session.get("/console/ratings/")
    if status != 200:
        sys.exit(f"bench: /console/ratings/ answered {status}")
    text = page.decode()
    branch = re.search(r'<option value="([0-9a-f-]{36})"', text)[1]
    name = re.search(r'/console/ratings/[0-9a-f-]{36}/">([^<]+)</a>', text)[1].split()[-1]
    today = dt.datetime.now(dt.UTC).date()
    month = {"from": (today - dt.timedelta(days=30)).isoformat(), "to": today.isoformat()}
    cases = {
        "first page": {},
        "sort by score": {"sort": "-score"},
        "sort by customer": {"sort": "customer"},
        "sort unread first": {"sort": "unread"},
        "filter: one branch": {"branch": branch},
        "filter: last 30 days": month,
        "filter: a customer's name": {"q": name},
        "page 40": {"page": "40"},
    }
    out = {}
    for label, query in cases.items():
        path = "/console/ratings/" + (f"?{urlencode(query)}" if query else "")
        out[label] = dashboard.time_gets(session, path, requests)
    rating = re.search(r"/console/ratings/([0-9a-f-]{36})/", text)[1]
    out["a rating's detail"] = dashboard.time_gets(session, f"/console/ratings/{rating}/", requests)
    return {
        "cases": out,
        "goal_met": all(c["p99_ms"] < GOAL_MS and not c["errors"] for c in out.values()),
    }


def rows(result: dict) -> list[tuple]:
    return [
        (
            f"ratings inbox, {name}",
            f"p50 {c['p50_ms']} ms",
            f"p99 {c['p99_ms']} ms",
            f"errors {c['errors']}",
        )
        for name, c in result["cases"].items()
    ]


def main() -> None:
    import run  # bench/run.py: database, server environment

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", default=os.environ.get("BENCH_RATINGS_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--port", type=int, default=8118)
    parser.add_argument("--customers", type=int, default=30_000)
    parser.add_argument("--entries", type=int, default=400_000)
    parser.add_argument("--skip-load", action="store_true")
    parser.add_argument("--requests", type=int, default=60)
    args = parser.parse_args()
    env = run.server_env(args.db)
    if not args.skip_load:
        run.recreate_database(args.db)
        run.sh([*run.LEALTAD, "migrate", "-v", "0"], env=env)
        manifest = ROOT / "bench" / "results" / "ratings-dataset.json"
        manifest.parent.mkdir(parents=True, exist_ok=True)
        run.sh(
            [
                sys.executable,
                "bench/load_data.py",
                str(args.customers),
                str(args.entries),
                str(manifest),
            ],
            env=env,
        )
        load(args.db)
    dashboard.prepare(env)
    server = subprocess.Popen(
        [*run.LEALTAD, "serve", "--port", str(args.port), "--no-worker"],
        env=env,
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{args.port}/healthz", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        else:
            sys.exit("the server did not start:\n" + server.stderr.read())
        result = measure(args.port, args.requests)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    for row in rows(result):
        print(f"  {row[0]:<44}{row[1]:<14}{row[2]:<16}{row[3]}")
    print(f"  {'met ' if result['goal_met'] else 'MISS'}  ratings inbox p99 < {GOAL_MS} ms")


if __name__ == "__main__":
    main()
