"""The merchant console's reports under `make bench` (D1, D2), called by bench/run.py.

Signs in as the first merchant's admin (its 33,000 members of the data set's 100,000 customers,
a third of the ledger) over HTTP, like a browser, then times one request at a time:
`GET /console/dashboard/` for the default period (30 days) and for a year, all branches and one
branch; the customers' CSV export; and a year of movements as CSV. While an export streams, the
server's workers' resident memory is sampled to show that it does not grow with the file.

The dashboard reads the ledger through index-only scans, which need PostgreSQL's visibility
map; autovacuum keeps it on a live database, but a table just filled by COPY (and a server
running with autovacuum off, as this one may) has none. So the dashboard is measured twice:
as loaded, then after `VACUUM (ANALYZE)` of the tables it reads.
"""

import datetime as dt
import http.client
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
ADMIN, PASSWORD = "bench.admin0", "bench-password-1"  # made by bench/load_data.py
GOAL_MS = 300


def prepare(env: dict) -> None:
    """The console's pages need the static files' manifest when DEBUG is off."""
    subprocess.run(
        [sys.executable, "-m", "lealtad.cli", "collectstatic", "--no-input", "-v", "0"],
        env=env,
        cwd=ROOT,
        check=True,
    )


class Session:
    """One keep-alive connection carrying a signed-in console session."""

    def __init__(self, port: int):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.cookies: dict[str, str] = {}

    def request(self, method, path, body=None, headers=None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response

    def sign_in(self) -> None:
        page = self.request("GET", "/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.read().decode())
        body = urlencode(
            {"csrfmiddlewaretoken": token.group(1), "username": ADMIN, "password": PASSWORD}
        )
        reply = self.request(
            "POST", "/login/", body, {"Content-Type": "application/x-www-form-urlencoded"}
        )
        reply.read()
        if reply.status != 302 or "sessionid" not in self.cookies:
            sys.exit(f"bench: {ADMIN} could not sign in (HTTP {reply.status})")
        # The console's own language for the figures, whatever the merchant's.
        self.cookies["django_language"] = "en"

    def get(self, path: str) -> tuple[int, bytes]:
        response = self.request("GET", path)
        return response.status, response.read()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def time_gets(session: Session, path: str, requests: int, warm_up: int = 3) -> dict:
    for _ in range(warm_up):
        session.get(path)
    times, errors = [], 0
    for _ in range(requests):
        started = time.perf_counter()
        status, _body = session.get(path)
        times.append((time.perf_counter() - started) * 1000)
        errors += status != 200
    return {
        "requests": requests,
        "errors": errors,
        "p50_ms": _percentile(times, 0.50),
        "p99_ms": _percentile(times, 0.99),
        "mean_ms": round(statistics.fmean(times), 1),
    }


def _descendants(pid: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def time_download(session: Session, path: str, server_pid: int) -> dict:
    """One export, read as it streams, while the workers' RSS is sampled every 20 ms."""
    workers = _descendants(server_pid)
    before = max((_rss_mb(pid) for pid in workers), default=0.0)
    peak, done = [before], threading.Event()

    def sample():
        while not done.is_set():
            peak.append(max((_rss_mb(pid) for pid in workers), default=0.0))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.perf_counter()
    response = session.request("GET", path)
    first_byte, size, lines = None, 0, 0
    while chunk := response.read(64 * 1024):
        if first_byte is None:
            first_byte = time.perf_counter() - started
        size += len(chunk)
        lines += chunk.count(b"\n")
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    return {
        "status": response.status,
        "rows": max(lines - 1, 0),  # less the header
        "megabytes": round(size / 1e6, 1),
        "seconds": round(seconds, 2),
        "first_byte_s": round(first_byte or seconds, 3),
        "rows_per_second": round(max(lines - 1, 0) / seconds),
        "worker_rss_before_mb": round(before, 1),
        "worker_rss_peak_mb": round(max(peak), 1),
    }


def vacuum(db_url: str) -> float:
    import psycopg

    started = time.perf_counter()
    with psycopg.connect(db_url, autocommit=True) as conn:
        for table in ("ledger_transaction", "customers_membership", "ledger_account"):
            conn.execute(f"VACUUM (ANALYZE) {table}")
    return round(time.perf_counter() - started, 1)


def measure(port: int, server_pid: int, db_url: str, requests: int = 30) -> dict:
    session = Session(port)
    session.sign_in()
    status, page = session.get("/console/dashboard/")
    if status != 200:
        sys.exit(f"bench: /console/dashboard/ answered {status}")
    branch = re.search(r'<option value="([0-9a-f-]{36})"', page.decode()).group(1)
    today = dt.date.fromisoformat(re.search(r'name="to" value="([0-9-]+)"', page.decode())[1])
    year = {"from": (today - dt.timedelta(days=365)).isoformat(), "to": today.isoformat()}
    cases = {
        "30 days, all branches": {},
        "30 days, one branch": {"branch": branch},
        "1 year, all branches": year,
        "1 year, one branch": {**year, "branch": branch},
    }

    def url(query):
        return "/console/dashboard/" + (f"?{urlencode(query)}" if query else "")

    result: dict = {"as_loaded": {}, "vacuumed": {}}
    print("  dashboard as loaded (10 requests each) …", flush=True)
    for name in ("30 days, all branches", "1 year, all branches"):
        result["as_loaded"][name] = time_gets(session, url(cases[name]), 10)
    result["vacuum_seconds"] = vacuum(db_url)
    print(f"  dashboard after VACUUM ({requests} requests each) …", flush=True)
    for name, query in cases.items():
        result["vacuumed"][name] = time_gets(session, url(query), requests)
    print(f"  customer list ({requests} requests each) …", flush=True)
    result["customers"] = measure_customer_list(session, requests)
    print("  exports …", flush=True)
    result["export_customers"] = time_download(
        session, "/console/exports/customers.csv", server_pid
    )
    result["export_movements_year"] = time_download(
        session, "/console/exports/movements.csv?" + urlencode(year), server_pid
    )
    result["goal_met"] = all(
        case["p99_ms"] < GOAL_MS and not case["errors"] for case in result["vacuumed"].values()
    )
    return result


def measure_customer_list(session: "Session", requests: int) -> dict:
    """The console's customer list: the newest first, a deep page, a document, a name."""
    status, page = session.get("/console/customers/")
    if status != 200:
        sys.exit(f"bench: /console/customers/ answered {status}")
    text = page.decode()
    document = re.search(r"<td>[A-Z]+ ([0-9A-Z]+)</td>", text)[1]
    name = re.search(r'/console/customers/[0-9a-f-]{36}/">([^<]+)</a>', text)[1].split()[0]
    cases = {
        "first page": "/console/customers/",
        "page 50": "/console/customers/?page=50",
        "by document": "/console/customers/?" + urlencode({"q": document}),
        "by name": "/console/customers/?" + urlencode({"q": name}),
    }
    return {label: time_gets(session, path, requests) for label, path in cases.items()}


def rows(result: dict) -> list[tuple]:
    """Lines for run.py's table."""
    out = []
    for when, cases in (("as loaded", result["as_loaded"]), ("vacuumed", result["vacuumed"])):
        for name, case in cases.items():
            out.append(
                (
                    f"dashboard {name} ({when})",
                    f"p50 {case['p50_ms']} ms",
                    f"p99 {case['p99_ms']} ms",
                    f"errors {case['errors']}",
                )
            )
    for name, case in result.get("customers", {}).items():
        out.append(
            (
                f"customer list, {name}",
                f"p50 {case['p50_ms']} ms",
                f"p99 {case['p99_ms']} ms",
                f"errors {case['errors']}",
            )
        )
    for key, label in (
        ("export_customers", "customers CSV"),
        ("export_movements_year", "movements CSV, 1 year"),
    ):
        e = result[key]
        out.append(
            (
                f"{label}: {e['rows']:,} rows, {e['megabytes']} MB",
                f"{e['seconds']} s",
                f"first byte {e['first_byte_s']} s",
                f"worker RSS {e['worker_rss_before_mb']} → {e['worker_rss_peak_mb']} MB",
            )
        )
    return out


def dashboard_only(port: int, requests: int = 30) -> dict:
    """The four dashboard cases only (no exports), for a quick before/after."""
    session = Session(port)
    session.sign_in()
    status, page = session.get("/console/dashboard/")
    if status != 200:
        sys.exit(f"bench: /console/dashboard/ answered {status}")
    branch = re.search(r'<option value="([0-9a-f-]{36})"', page.decode()).group(1)
    today = dt.date.fromisoformat(re.search(r'name="to" value="([0-9-]+)"', page.decode())[1])
    year = {"from": (today - dt.timedelta(days=365)).isoformat(), "to": today.isoformat()}
    cases = {
        "30 days, all branches": {},
        "30 days, one branch": {"branch": branch},
        "1 year, all branches": year,
        "1 year, one branch": {**year, "branch": branch},
    }
    out = {}
    for name, query in cases.items():
        path = "/console/dashboard/" + (f"?{urlencode(query)}" if query else "")
        out[name] = time_gets(session, path, requests)
        out[name]["loadavg"] = Path("/proc/loadavg").read_text().split()[0]
    return out


def main() -> None:
    """`python bench/dashboard.py [--port 8630] [--requests 30]`: `lealtad serve` on the port
    against BENCH_DATABASE_URL (already loaded by bench/run.py or bench/load_data.py), then the
    four dashboard cases one request at a time."""
    import argparse
    import json
    import os
    import signal
    import urllib.request

    import run  # bench/run.py: the server's environment

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", 8766)))
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()
    env = run.server_env(os.environ.get("BENCH_DATABASE_URL", run.DEFAULT_DB))
    prepare(env)
    server = subprocess.Popen(
        [sys.executable, "-m", "lealtad.cli", "serve", "--port", str(args.port), "--no-worker"],
        env=env,
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{args.port}/healthz", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        print(json.dumps(dashboard_only(args.port, args.requests), indent=2))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
