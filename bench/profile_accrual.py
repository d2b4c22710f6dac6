"""Issue 15: one `POST /api/v1/accruals` in-process, through Django's test client, against the
loaded benchmark database: its SQL statements (CaptureQueriesContext), its time per request and
a cProfile of a few hundred of them.

    DATABASE_URL=postgres://…/lealtad_bench_hot python bench/profile_accrual.py [--n 300] [--sql]

Writes real accruals (unique invoice numbers), like the HTTP benchmark.
"""

import argparse
import cProfile
import json
import os
import pstats
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lealtad.settings")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "bench-" + "s" * 60)
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,testserver")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("API_RATE_LIMIT", "0")
os.environ.setdefault("REQUEST_LOG_LEVEL", "WARNING")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--sql", action="store_true", help="print each statement of one accrual")
    parser.add_argument("--profile", type=int, default=30, help="cProfile lines (0: none)")
    parser.add_argument("--portable", action="store_true", help="the ORM write, as on SQLite")
    parser.add_argument(
        "--stock-middleware", action="store_true", help="every middleware for /api/"
    )
    parser.add_argument("--server-binding", action="store_true", help="OPTIONS server_side_binding")
    parser.add_argument("--no-health-checks", action="store_true", help="CONN_HEALTH_CHECKS off")
    args = parser.parse_args()
    if args.server_binding:
        options = connection.settings_dict.setdefault("OPTIONS", {})
        options.update(server_side_binding=True, prepare_threshold=2)
    if args.no_health_checks:
        connection.settings_dict["CONN_HEALTH_CHECKS"] = False
    if args.portable:
        from lealtad.ledger import accrual

        class Portable:  # the accrual's vendor check answers "not PostgreSQL"
            vendor = "portable"

            def __getattr__(self, name):
                return getattr(connection, name)

        accrual.connection = Portable()
    if args.stock_middleware:
        from django.conf import settings

        stock = {
            "WebSessionMiddleware": "django.contrib.sessions.middleware.SessionMiddleware",
            "WebAuthenticationMiddleware": (
                "django.contrib.auth.middleware.AuthenticationMiddleware"
            ),
            "WebMerchantLanguageMiddleware": "lealtad.core.middleware.MerchantLanguageMiddleware",
            "WebMessageMiddleware": "django.contrib.messages.middleware.MessageMiddleware",
        }
        settings.MIDDLEWARE = [stock.get(m.rsplit(".", 1)[1], m) for m in settings.MIDDLEWARE]
    data = json.loads((ROOT / "bench" / "results" / "dataset.json").read_text())
    key, samples = data["api_keys"][0], data["customer_ids_sample"]
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}", SERVER_NAME="127.0.0.1")
    rng = random.Random(1)
    seq = [0]

    def one():
        seq[0] += 1
        body = {
            "customer_id": rng.choice(samples),
            "amount": f"{rng.randint(2, 90)}000.00",
            "invoice_number": f"PROF-{time.time_ns()}-{seq[0]}",
        }
        response = client.post("/api/v1/accruals", body, content_type="application/json")
        assert response.status_code == 201, response.content

    for _ in range(20):  # warm: per-worker caches, imports, connection
        one()
    with CaptureQueriesContext(connection) as ctx:
        one()
    print(f"statements per accrual: {len(ctx.captured_queries)}")
    if args.sql:
        for q in ctx.captured_queries:
            print(f"  {q['time']}s  {q['sql'][:300]}")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (backend,) = cursor.fetchone()
    started, cpu, pg_cpu = time.perf_counter(), time.process_time(), _cpu_of(backend)
    for _ in range(args.n):
        one()
    per = (time.perf_counter() - started) / args.n * 1000
    cpu = (time.process_time() - cpu) / args.n * 1000
    pg_cpu = (_cpu_of(backend) - pg_cpu) / args.n * 1000 if pg_cpu is not None else float("nan")
    print(
        f"in-process: {per:.2f} ms wall, {cpu:.2f} ms Python CPU, {pg_cpu:.2f} ms PostgreSQL "
        f"backend CPU per accrual over {args.n}; loadavg {_load()}"
    )
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(args.n):
            one()
        prof.disable()
        stats = pstats.Stats(prof, stream=sys.stdout).sort_stats("cumulative")
        stats.print_stats(args.profile)
        stats.sort_stats("tottime").print_stats(args.profile)


def _cpu_of(pid: int) -> float | None:
    """The seconds of CPU (user + system) PostgreSQL's backend process has used, when it runs on
    this machine."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _load() -> str:
    return Path("/proc/loadavg").read_text().split(" ", 3)[:3].__str__()


if __name__ == "__main__":
    main()
