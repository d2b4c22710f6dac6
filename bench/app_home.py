"""The customer app's home under load (issue 14, A2): one customer with 20 memberships and 1,000
point movements (plus coins), then `GET /app/` over HTTP with the app's session cookie, one
request at a time, and the pages behind it (a membership's history, the wallet, the prizes, the
merchants, `GET /api/v1/me/memberships`). Goal: p99 of `/app/` < 100 ms.

The data is made through the actions the till uses (accruals, redemptions, coins earned), in its
own database, so the home reads a real ledger: lots, entries, running balances.

    python bench/app_home.py [--db postgres://…] [--port 8621]   # standalone
    # or through bench/run.py (`make bench`)

Only 127.0.0.1 is ever targeted.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import dashboard  # noqa: E402  (bench/dashboard.py: keep-alive session, timings, collectstatic)

GOAL_MS = 100
MEMBERSHIPS = 20
MOVEMENTS = 1_000
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/lealtad_bench_app"
PORT = 8621


def _setup() -> dict:
    """Runs inside Django (see `load`): the customer, the shops, the movements, a session."""
    import datetime as dt
    from decimal import Decimal

    import django

    django.setup()
    from django.utils import timezone

    from lealtad.app.actions import open_session
    from lealtad.coins import actions as coins
    from lealtad.customers.actions import join_merchant, register_customer
    from lealtad.ledger import actions as ledger
    from lealtad.network.actions import create_merchant
    from lealtad.offers.actions import offer_gift
    from lealtad.offers.models import Gift
    from lealtad.program.models import Reward

    shops = [
        create_merchant(
            name=f"Comercio {n:02d}",
            country="CO",
            point_value=Decimal("1000"),
            admin_username=f"app.bench{n}",
            admin_password="bench-password-1",
            **({"coin_issuer": True, "cashback_rate": Decimal("0.02")} if n == 0 else {}),
        )
        for n in range(MEMBERSHIPS)
    ]
    reg = register_customer(
        merchant=shops[0].merchant,
        branch=shops[0].branch,
        staff=None,
        document_type="CC",
        document_number="80123457",
        country="CO",
        profile={
            "email": "app.bench@example.com",
            "mobile": "+573001112233",
            "first_name": "Ana",
            "last_name": "Banco",
            "gender": "F",
            "birth_date": "1990-05-17",
            "city": "Bogotá",
        },
    )
    customer = reg.customer
    memberships = [reg.membership] + [
        join_merchant(customer, s.merchant, s.branch, notify=False) for s in shops[1:]
    ]
    start = timezone.now() - dt.timedelta(days=300)
    for n in range(MOVEMENTS):
        shop = shops[n % MEMBERSHIPS]
        at = start + dt.timedelta(hours=7 * n)
        if n >= 200 and n % 7 == 6:  # a prize every seventh movement, once points are there
            reward = Reward.objects.filter(merchant=shop.merchant).first() or (
                Reward.objects.create(merchant=shop.merchant, name="Café", points_cost=5)
            )
            ledger.redeem_reward(
                membership=memberships[n % MEMBERSHIPS],
                reward_id=reward.pk,
                branch=shop.branch,
                now=at,
            )
        else:
            ledger.accrue_points(
                merchant=shop.merchant,
                customer=customer,
                amount=Decimal(10_000 + 1000 * (n % 17)),
                branch=shop.branch,
                invoice_number=f"APP-{n}",
                now=at,
            )
    for n in range(30):
        coins.earn_coins(
            merchant=shops[0].merchant,
            customer=customer,
            amount=Decimal(50_000),
            branch=shops[0].branch,
            invoice_number=f"COIN-{n}",
        )
    for shop, membership in zip(shops[:5], memberships[:5], strict=True):
        gift = Gift.objects.create(merchant=shop.merchant, name="Puntos", kind="points", points=20)
        offer_gift(gift=gift, membership=membership)
    _session, token = open_session(customer, user_agent="bench")
    return {"token": token, "merchant_id": str(shops[1].merchant.pk)}


def load(env: dict) -> dict:
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--setup"],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def measure(db_url: str, port: int = PORT, requests: int = 200) -> dict:
    import run  # bench/run.py: database, server environment

    env = run.server_env(db_url)
    run.recreate_database(db_url)
    run.sh([*run.LEALTAD, "migrate", "-v", "0"], env=env)
    started = time.perf_counter()
    data = load(env)
    load_seconds = round(time.perf_counter() - started, 1)
    dashboard.prepare(env)
    server = subprocess.Popen(
        [*run.LEALTAD, "serve", "--port", str(port), "--no-worker"],
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
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        else:
            sys.exit("the server did not start:\n" + server.stderr.read())
        session = dashboard.Session(port)
        session.cookies["lealtad_app"] = data["token"]
        status, _body = session.get("/app/")
        if status != 200:
            sys.exit(f"bench: /app/ answered {status}")
        cases = {
            "home /app/": "/app/",
            "a membership's history": f"/app/m/{data['merchant_id']}/",
            "the wallet's history": "/app/wallet/",
            "prizes": "/app/prizes/",
            "merchants": "/app/merchants/",
        }
        out = {label: dashboard.time_gets(session, path, requests) for label, path in cases.items()}
        api = dashboard.Session(port)
        api_headers = {"Authorization": f"Bearer {data['token']}"}

        def api_get(path):
            response = api.request("GET", path, headers=api_headers)
            return response.status, response.read()

        api.get = api_get
        out["GET /api/v1/me/memberships"] = dashboard.time_gets(
            api, "/api/v1/me/memberships", requests // 2
        )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    home = out["home /app/"]
    return {
        "memberships": MEMBERSHIPS,
        "movements": MOVEMENTS,
        "load_seconds": load_seconds,
        "cases": out,
        "goal_met": home["p99_ms"] < GOAL_MS and not home["errors"],
    }


def rows(result: dict) -> list[tuple]:
    return [
        (
            f"app, {name}",
            f"p50 {c['p50_ms']} ms",
            f"p99 {c['p99_ms']} ms",
            f"errors {c['errors']}",
        )
        for name, c in result["cases"].items()
    ]


def main() -> None:
    if "--setup" in sys.argv:
        print(json.dumps(_setup()))
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", default=os.environ.get("BENCH_APP_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--port", type=int, default=PORT)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    result = measure(args.db, args.port, args.requests)
    print(
        f"  {result['memberships']} memberships, {result['movements']:,} movements "
        f"(loaded in {result['load_seconds']} s)"
    )
    for row in rows(result):
        print(f"  {row[0]:<44}{row[1]:<14}{row[2]:<16}{row[3]}")
    print(f"  {'met ' if result['goal_met'] else 'MISS'}  app home p99 < {GOAL_MS} ms")


if __name__ == "__main__":
    main()
