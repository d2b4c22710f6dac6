"""The till under load (issue 15): a cashier's actions over HTTP, server time and client time.

`lealtad serve` with production settings (gunicorn and its task worker) against the PostgreSQL
data set of bench/load_data.py (100,000 customers by default: loaded once, then reused), on
this bench's own port. The first merchant of the data set (Café Aroma, 33,000 members) also
accepts coins here, and a coin issuer of the network gives the customers the bench serves
coins to pay with; SMS go to a fake Twilio (lealtad/notifications/tests/fake_sms.py, a real HTTP
server), where the bench reads the payment codes as the customer would.

Each client is a cashier signed in over HTTP (the sign-in form, its CSRF token, a real session
cookie) who serves a queue of customers, one after another, as at a till:

    search_document  GET  /cashier/search/?q=<document>        (one request to the card)
    search_name      GET  /cashier/search/?q=<first and last name>
    open             GET  /cashier/c/<id>/
    accrue           POST /cashier/c/<id>/accrue/
    redeem_confirm   GET  /cashier/c/<id>/redeem/<prize>/      (the confirmation step)
    redeem           POST /cashier/c/<id>/redeem/<prize>/
    pay_create       POST /cashier/c/<id>/coins/pay/           (coins held, code sent)
    pay_confirm      POST /cashier/coin-payments/<id>/confirm/ (the code from the SMS)

Per action: p50/p99 of the server's own time (the `Server-Timing: app;dur=…` header that
lealtad.core.middleware.RequestLogMiddleware adds) and of the time the client saw. The wait for
the SMS between the two payment steps is the delivery's (bench/code_delivery.py), not a till
action's, and is reported apart. Each client's first customers (--warm) warm the workers up
and are not counted.

    python bench/till.py [--port 8640] [--clients 2] [--customers 25] [--db postgres://…]
                         [--load 100000]   # (re)load the data set first
"""

import argparse
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
import code_delivery  # noqa: E402  (bench/code_delivery.py: env, database)

from lealtad.notifications.tests import fake_sms  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/lealtad_bench_till"
MANIFEST = ROOT / "bench" / "results" / "till-dataset.json"
LEALTAD = [sys.executable, "-m", "lealtad.cli"]
PASSWORD = "bench-password-1"
GOAL_MS = {"pay": 100, "other": 50}
ACTIONS = (
    "search_document",
    "search_name",
    "open",
    "accrue",
    "redeem_confirm",
    "redeem",
    "pay_create",
    "pay_confirm",
)

# Run inside `lealtad shell`: idempotent, except that each run takes customers no earlier run
# served (a customer gets at most 10 codes a day).
SETUP = """
import json, random
from decimal import Decimal
from lealtad.coins.actions import earn_coins
from lealtad.core import testing
from lealtad.customers.models import Membership
from lealtad.ledger.models import Account
from lealtad.network.actions import create_staff
from lealtad.network.models import Merchant, User
from lealtad.program.models import Reward
shop = Merchant.objects.get(name="Café Aroma")
Merchant.objects.filter(pk=shop.pk).update(coin_acceptor=True)
branch = shop.branches.order_by("created_at").first()
issuer = Merchant.objects.filter(name__startswith="Bench till issuer").first()
if issuer is None:
    issuer = testing.make_merchant("Bench till issuer", coin_issuer=True,
                                   cashback_rate="1").merchant
cashiers = []
for n in range({clients}):
    name = f"bench.till{{n}}"
    if not User.objects.filter(username=name).exists():
        create_staff(merchant=shop, username=name, password="{password}", role="cashier",
                     branch=branch)
    cashiers.append(name)
reward = Reward.objects.filter(merchant=shop, active=True, points_cost__lte=50).first()
served = set(Account.objects.filter(kind="coins").values_list("customer_id", flat=True))
pool = list(Membership.objects.filter(merchant=shop, holder=None, account__balance__gte=100)
            .values_list("customer_id", "customer__document_number", "customer__first_name",
                         "customer__last_name", "customer__mobile")[:20000])
random.Random().shuffle(pool)
picked = [row for row in pool if row[0] not in served][:{count}]
for row in picked:
    earn_coins(merchant=issuer, customer=Membership.objects.get(merchant=shop, customer_id=row[0])
               .customer, amount=Decimal(100000))
print(json.dumps({{"cashiers": cashiers, "reward": str(reward.pk), "customers": [
    {{"id": str(c), "document": d, "name": f"{{f}} {{l}}", "mobile": m}}
    for c, d, f, l, m in picked]}}))
"""


class Till:
    """One cashier's keep-alive connection and signed-in session."""

    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies: dict[str, str] = {}

    def request(self, method, path, form=None):
        headers = {"HX-Request": "true", "HX-Boosted": "true"}  # as hx-boost sends them
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["X-CSRFToken"] = self.cookies.get("csrftoken", "")
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        started = time.perf_counter()
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        text = response.read().decode()
        client_ms = (time.perf_counter() - started) * 1000
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        header = response.getheader("Server-Timing") or ""
        timing = re.search(r"app;dur=([\d.]+)", header)
        cpu = re.search(r"cpu;dur=([\d.]+)", header)
        server_ms = (
            (float(timing.group(1)), float(cpu.group(1)) if cpu else None) if timing else None
        )
        return response.status, text, server_ms, client_ms

    def sign_in(self, username: str) -> None:
        _status, page, _s, _c = self.request("GET", "/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        form = {"csrfmiddlewaretoken": token, "username": username, "password": PASSWORD}
        status, _text, _s, _c = self.request("POST", "/login/", form)
        if status != 302 or "sessionid" not in self.cookies:
            raise SystemExit(f"bench: {username} could not sign in (HTTP {status})")


def _pct(values, q):
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))], 1) if values else None


def _code(fake, to, seen, deadline):
    with fake.arrived:
        fake.arrived.wait_for(
            lambda: len(fake.bodies_to(to)) > seen or time.time() > deadline,
            timeout=max(0.0, deadline - time.time()),
        )
    bodies = fake.bodies_to(to)
    if len(bodies) <= seen:
        return None
    found = re.findall(r"\b(\d{4,6})\b", bodies[-1])
    return found[-1] if found else None


def serve_customer(till, fake, customer, reward, n, record):
    """One customer at the till, start to finish; `record(action, status_ok, server, client)`."""
    cid = customer["id"]

    def step(action, method, path, form=None, expect=200):
        status, text, server_ms, client_ms = till.request(method, path, form)
        record(action, status == expect, server_ms, client_ms, status)
        return status, text

    step("search_document", "GET", "/cashier/search/?" + urlencode({"q": customer["document"]}))
    step("search_name", "GET", "/cashier/search/?" + urlencode({"q": customer["name"]}))
    step("open", "GET", f"/cashier/c/{cid}/")
    step("accrue", "POST", f"/cashier/c/{cid}/accrue/",
         {"amount": "25.000", "invoice_number": f"TILL-{n}-{time.time_ns()}"})  # fmt: skip
    _s, page = step("redeem_confirm", "GET", f"/cashier/c/{cid}/redeem/{reward}/")
    token = re.search(r'name="token" value="([^"]+)"', page)
    step("redeem", "POST", f"/cashier/c/{cid}/redeem/{reward}/",
         {"token": token.group(1) if token else "", "document_checked": "on"})  # fmt: skip
    seen = len(fake.bodies_to(customer["mobile"]))
    form = {"cp-invoice_number": f"PAY-{n}-{time.time_ns()}", "cp-amount": "30.000",
            "cp-coins": "2000", "cp-document_checked": "on"}  # fmt: skip
    status, page = step("pay_create", "POST", f"/cashier/c/{cid}/coins/pay/", form, expect=201)
    payment = re.search(r"/cashier/coin-payments/([0-9a-f-]{36})/confirm/", page)
    if status != 201 or payment is None:
        return None
    waited = time.perf_counter()
    code = _code(fake, customer["mobile"], seen, time.time() + 30)
    waited = (time.perf_counter() - waited) * 1000
    if code is None:
        record("pay_confirm", False, None, None, "no code")
        return None
    _s, page = step("pay_confirm", "POST", f"/cashier/coin-payments/{payment.group(1)}/confirm/",
                    {"code": code})  # fmt: skip
    if 'id="coin-receipt"' not in page:
        record("pay_receipt", False, None, None, "no receipt")
    return waited


def load(db_url: str, customers: int, env: dict) -> None:
    code_delivery._recreate(db_url)
    subprocess.run([*LEALTAD, "migrate", "-v", "0"], env=env, cwd=ROOT, check=True)
    MANIFEST.parent.mkdir(parents=True, exist_ok=True)
    entries = customers * 10
    subprocess.run(
        [sys.executable, "bench/load_data.py", str(customers), str(entries), str(MANIFEST)],
        env=env, cwd=ROOT, check=True,
    )  # fmt: skip


def measure(
    db_url=DEFAULT_DB, port=8640, clients=2, customers=25, load_customers=0, warm=4
) -> dict:
    fake = fake_sms.start()
    env = code_delivery._env(db_url, fake.url(timeout=5))
    if load_customers:
        load(db_url, load_customers, env)
    made = subprocess.run(
        [*LEALTAD, "shell", "-c",
          SETUP.format(clients=clients, count=clients * (customers + warm), password=PASSWORD)],
        env=env, cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    data = json.loads(made.strip().splitlines()[-1])
    per_client = customers + warm
    if len(data["customers"]) < clients * per_client:
        raise SystemExit("bench: not enough customers left to serve: --load the data set again")
    subprocess.run([*LEALTAD, "collectstatic", "--no-input", "-v", "0"], env=env, cwd=ROOT)
    server = subprocess.Popen(
        [*LEALTAD, "serve", "--port", str(port), "--no-collectstatic"],
        env=env, cwd=ROOT, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    samples = {a: {"server": [], "cpu": [], "client": []} for a in ACTIONS}
    failures, waits = [], []
    lock = threading.Lock()

    def client(c):
        till = Till(port)
        till.sign_in(data["cashiers"][c])
        mine = data["customers"][c * per_client : (c + 1) * per_client]
        for i, customer in enumerate(mine):
            # gunicorn hands each request to any of its workers, and each worker compiles a
            # template, an URL pattern or a query's first use once: the first customers warm
            # them all up and are not counted.
            warm_up = i < warm

            def record(action, ok, server_ms, client_ms, status, warm_up=warm_up):
                with lock:
                    if not ok:
                        failures.append((action, status))
                    elif not warm_up:
                        samples[action]["server"].append(server_ms[0])
                        samples[action]["cpu"].append(server_ms[1])
                        samples[action]["client"].append(client_ms)

            waited = serve_customer(till, fake, customer, data["reward"], f"{c}-{i}", record)
            if waited is not None and not warm_up:
                with lock:
                    waits.append(waited)

    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise SystemExit("the server did not start")
        time.sleep(2)  # the task worker starts after gunicorn
        load_before = Path("/proc/loadavg").read_text().split()[:3]
        started = time.perf_counter()
        threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - started
        load_after = Path("/proc/loadavg").read_text().split()[:3]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        fake.server.shutdown()
    check = subprocess.run([*LEALTAD, "ledger-check"], env=env, cwd=ROOT, capture_output=True)
    actions = {}
    for action, got in samples.items():
        goal = GOAL_MS["pay"] if action.startswith("pay_") else GOAL_MS["other"]
        actions[action] = {
            "n": len(got["server"]),
            "server_p50_ms": _pct(got["server"], 0.50),
            "server_p99_ms": _pct(got["server"], 0.99),
            # The worker thread's CPU time: what the action costs, whatever else the machine runs.
            "cpu_p50_ms": _pct(got["cpu"], 0.50),
            "cpu_p99_ms": _pct(got["cpu"], 0.99),
            "client_p50_ms": _pct(got["client"], 0.50),
            "client_p99_ms": _pct(got["client"], 0.99),
            "goal_ms": goal,
        }
    created, confirmed = samples["pay_create"]["server"], samples["pay_confirm"]["server"]
    pay = [a + b for a, b in zip(created, confirmed, strict=False)]
    return {
        "clients": clients,
        "customers_per_client": customers,
        "seconds": round(seconds, 1),
        "loadavg_before": load_before,
        "loadavg_after": load_after,
        "actions": actions,
        # The goal of a coin payment: create + confirm, server time, without the SMS's trip.
        "pay_create_plus_confirm_server_p99_ms": _pct(pay, 0.99),
        "sms_wait_p50_ms": _pct(waits, 0.50),
        "sms_wait_p99_ms": _pct(waits, 0.99),
        "failed": len(failures),
        "failures": failures[:10],
        "ledger_check": check.returncode == 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_TILL_PORT", 8640)))
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--customers", type=int, default=25, help="customers each client serves")
    parser.add_argument("--warm", type=int, default=4, help="customers each client serves first")
    parser.add_argument("--load", type=int, default=0, help="(re)load this many customers first")
    parser.add_argument("--db", default=os.environ.get("BENCH_TILL_DATABASE_URL", DEFAULT_DB))
    args = parser.parse_args()
    report = measure(args.db, args.port, args.clients, args.customers, args.load, args.warm)
    print(json.dumps(report, indent=2))
    table = [
        f"{'action':<16} {'n':>4} {'server p50/p99 ms':>20} {'cpu p50/p99 ms':>20}"
        f" {'client p50/p99 ms':>20}"
    ]
    for action, r in report["actions"].items():
        table.append(
            f"{action:<16} {r['n']:>4} {r['server_p50_ms']!s:>9} / {r['server_p99_ms']!s:<8}"
            f" {r['cpu_p50_ms']!s:>9} / {r['cpu_p99_ms']!s:<8}"
            f" {r['client_p50_ms']!s:>9} / {r['client_p99_ms']!s:<8}"
        )
    table.append(
        f"load average before / after: {report['loadavg_before']} / {report['loadavg_after']}"
    )
    print("\n".join(table), file=sys.stderr)


if __name__ == "__main__":
    main()
