"""The API contract over real HTTP (issue 17): the API tests run against a live server.

With `LEALTAD_API_URL` set (e.g. http://127.0.0.1:8800), `Api` (conftest.py) sends its requests
to that URL with urllib instead of Django's test Client, and the suite runs against the server's
own database as it stands (DATABASE_URL, already migrated: no test_ database is created): every
test that touches the database runs as a transactional test, so what it makes through the ORM is
committed and the server sees it; the tables are emptied after each test. Tests that can only
pass in the test's own process (they change settings, count queries, patch functions, read the
captured mail outbox, freeze time) carry the `in_process` marker and are left out in that mode.

`run_contract_suite(api_url, database_url, env)` runs CONTRACT_MODULES so, in a subprocess. The
suite's environment must agree with the server's where a test relies on it: SECRET_KEY (signed
links and tokens), CACHE_URL (the cache the tests clear is the server's), TIME_ZONE,
NETWORK_CURRENCY. The server should run with API_RATE_LIMIT=0 or a high limit, DEBUG=false.
"""

import contextlib
import json
import os
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

from django.contrib.auth.hashers import PBKDF2PasswordHasher

ROOT = Path(__file__).resolve().parents[3]

API_URL = os.environ.get("LEALTAD_API_URL", "").rstrip("/")

# The public API of ../shared/API.md, parts 1 and 2: accruals, lookup, redemptions, promotions,
# gifts, coins, POS invoices, webhooks endpoints, the customer's API, ratings, problem+json
# errors, idempotency, paging. Relative to the repository's root.
CONTRACT_MODULES = [
    "lealtad/api/tests/test_api.py",
    "lealtad/api/tests/test_lookup.py",
    "lealtad/api/tests/test_identity.py",
    "lealtad/api/tests/test_points_rules_api.py",
    "lealtad/api/tests/test_batch.py",
    "lealtad/api/tests/test_batch_bulk.py",
    "lealtad/api/tests/test_coin_payments.py",
    "lealtad/api/tests/test_completeness_api.py",
    "lealtad/api/tests/test_boundary_me.py",
    "lealtad/api/tests/test_idempotency_customer.py",
    "lealtad/api/tests/test_limits_lengths.py",
    "lealtad/api/tests/test_limits_paging.py",
    "lealtad/api/tests/test_problem_fallback.py",
    "lealtad/api/tests/test_bad_input.py",
    "lealtad/api/tests/test_exit_gate_api.py",
    "lealtad/api/tests/test_ratings_api.py",
    "lealtad/api/tests/test_webhooks_api.py",
    "lealtad/app/tests/test_api.py",
    "lealtad/app/tests/test_home_api.py",
    "lealtad/coins/tests/test_earning.py",
    "lealtad/coins/tests/test_wallet.py",
    "lealtad/coins/tests/test_partners.py",
    "lealtad/coins/tests/test_conversion_requests.py",
    "lealtad/invoices/tests/test_api.py",
    "lealtad/ledger/tests/test_point_payments.py",
]

# A slice for the self-test (test_contract_remote.py): staff tokens and POS keys, the customer's
# sign-in code and token, problem+json, paging, ratings.
CONTRACT_SMOKE = [
    "lealtad/api/tests/test_lookup.py",
    "lealtad/api/tests/test_problem_fallback.py",
    "lealtad/api/tests/test_ratings_api.py",
    "lealtad/api/tests/test_limits_paging.py",
    "lealtad/app/tests/test_api.py",
]


class FastPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    """PBKDF2 with one iteration, for the users a remote run makes through the ORM: the
    iterations are written in the hash, so the server (Argon2 first, PBKDF2 too) verifies it
    (and re-hashes it its own way on the first sign-in); MD5, the local runs' hasher, it would
    refuse."""

    iterations = 1


# --- the HTTP client -----------------------------------------------------------------------------

MULTIPART = "multipart/form-data; boundary=BoUnDaRyStRiNg"


# test node id -> requests it sent over HTTP (the summary line says how many tests spoke HTTP).
_requests: dict[str, int] = {}


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 3xx comes back as the response, as with Django's test Client


class RemoteResponse:
    """What the tests read of a Django test response: status_code, content, text, json(),
    headers, response["Header"], .get(), `in`."""

    def __init__(self, status: int, headers, content: bytes, url: str):
        from django.utils.datastructures import CaseInsensitiveMapping

        self.status_code = status
        self.content = content
        self.url = url
        self.headers = CaseInsensitiveMapping(dict(headers.items()))
        self._all_headers = headers

    @property
    def text(self) -> str:
        return self.content.decode(self.charset)

    @property
    def charset(self) -> str:
        return self._all_headers.get_content_charset() or "utf-8"

    @property
    def streaming_content(self):
        return iter([self.content])

    def json(self, **kwargs):
        return json.loads(self.content.decode(self.charset), **kwargs)

    def __getitem__(self, name):
        return self.headers[name]

    def __contains__(self, name):
        return name in self.headers

    def has_header(self, name):
        return name in self.headers

    def get(self, name, default=None):
        return self.headers.get(name, default)

    def __repr__(self):
        return f"<RemoteResponse {self.status_code} {self.url}>"


def _header_name(key: str) -> str | None:
    """A WSGI environ key of Django's test Client (HTTP_X_API_KEY) as an HTTP header name."""
    if key.startswith("HTTP_"):
        return "-".join(part.capitalize() for part in key[5:].split("_"))
    if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        return key.replace("_", "-").title()
    return None


class RemoteClient:
    """Django's test Client's get/post/put/patch/delete/head/options, over real HTTP to `base`."""

    def __init__(self, base: str | None = None, timeout: float = 60):
        self.base = (base or API_URL).rstrip("/")
        self.timeout = timeout
        self.cookies = CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),
            _NoRedirects(),
            urllib.request.HTTPCookieProcessor(self.cookies),
        )

    def _url(self, path: str, query: str | None) -> str:
        path = urllib.parse.quote(path, safe="/?&=%:+,;@!$'()*~[]")
        if query is not None:
            path = path.split("?", 1)[0] + (f"?{query}" if query else "")
        return self.base + path

    def request(
        self, method, path, body=None, content_type=None, headers=None, query=None, **extra
    ):
        unsupported = [k for k in extra if _header_name(k) is None and k != "QUERY_STRING"]
        if unsupported:
            # REMOTE_ADDR, wsgi.* and the like cannot travel over HTTP: an in_process test.
            raise TypeError(f"RemoteClient cannot send {unsupported} over HTTP")
        if "QUERY_STRING" in extra:
            query = extra.pop("QUERY_STRING")
        sent = {"Accept-Encoding": "identity"}
        if content_type is not None:
            sent["Content-Type"] = content_type
        for key, value in extra.items():
            sent[_header_name(key)] = str(value)
        sent.update(headers or {})
        test = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" (", 1)[0]
        _requests[test] = _requests.get(test, 0) + 1
        request = urllib.request.Request(
            self._url(path, query), data=body, headers=sent, method=method
        )
        try:
            with self.opener.open(request, timeout=self.timeout) as reply:
                return RemoteResponse(reply.status, reply.headers, reply.read(), reply.url)
        except urllib.error.HTTPError as error:
            with error:
                return RemoteResponse(error.code, error.headers, error.read(), error.url)

    @staticmethod
    def _body(data, content_type):
        from django.core.serializers.json import DjangoJSONEncoder
        from django.test.client import BOUNDARY, encode_multipart

        if content_type == MULTIPART or content_type is None:
            if isinstance(data, dict):
                return encode_multipart(BOUNDARY, data), f"multipart/form-data; boundary={BOUNDARY}"
            content_type = "application/octet-stream"
        if isinstance(data, dict | list | tuple) and "json" in content_type:
            data = json.dumps(data, cls=DjangoJSONEncoder)
        if isinstance(data, str):
            data = data.encode()
        return data, content_type

    @staticmethod
    def _query(data):
        return urllib.parse.urlencode(data, doseq=True) if data else None

    def get(self, path, data=None, follow=False, secure=False, *, headers=None, **extra):
        return self.request("GET", path, headers=headers, query=self._query(data), **extra)

    def head(self, path, data=None, follow=False, secure=False, *, headers=None, **extra):
        return self.request("HEAD", path, headers=headers, query=self._query(data), **extra)

    def options(self, path, data="", content_type="application/octet-stream", **extra):
        return self._with_body("OPTIONS", path, data, content_type, **extra)

    def post(self, path, data=None, content_type=MULTIPART, **extra):
        return self._with_body("POST", path, {} if data is None else data, content_type, **extra)

    def put(self, path, data="", content_type="application/octet-stream", **extra):
        return self._with_body("PUT", path, data, content_type, **extra)

    def patch(self, path, data="", content_type="application/octet-stream", **extra):
        return self._with_body("PATCH", path, data, content_type, **extra)

    def delete(self, path, data="", content_type="application/octet-stream", **extra):
        return self._with_body("DELETE", path, data, content_type, **extra)

    def _with_body(self, method, path, data, content_type, follow=False, secure=False, **extra):
        body, content_type = self._body(data, content_type)
        return self.request(method, path, body, content_type, **extra)


# --- the pytest side (root conftest.py calls these) ----------------------------------------------


def modify_items(config, items) -> None:
    """In remote mode: leave out the `in_process` tests, and make every test that touches the
    database transactional (its data committed for the server to see)."""
    if not API_URL:
        return
    import pytest

    kept, left_out = [], []
    for item in items:
        (left_out if item.get_closest_marker("in_process") else kept).append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = kept
    for item in kept:
        marker = item.get_closest_marker("django_db")
        uses_db = marker is not None or {"db", "transactional_db"} & set(item.fixturenames)
        if not uses_db:
            continue
        kwargs = dict(marker.kwargs) if marker else {}
        kwargs["transaction"] = True
        item.add_marker(pytest.mark.django_db(*(marker.args if marker else ()), **kwargs), False)


# Never emptied: what migrate's post_migrate made once, the same for every test (Django's flush
# empties them and makes them again after every test).
KEPT_TABLES = {"django_content_type", "auth_permission", "django_migrations"}


def empty_tables(using: str = "default") -> None:
    """Empties the database after a test on PostgreSQL, in ~0.1 s where Django's flush (one
    TRUNCATE of every table, then post_migrate) takes 4-6 s on a busy disk: DELETE under deferred
    foreign keys, with the audit trail's flush flag (audit/guard.py); ledger entries, whose trigger
    refuses DELETE, by TRUNCATE ... CASCADE (it and the few tables pointing at it)."""
    from django.db import connections, transaction

    conn = connections[using]
    tables = _tables.get(using)
    if tables is None:
        names = conn.introspection.django_table_names(only_existing=True, include_views=False)
        tables = _tables[using] = sorted(set(names) - KEPT_TABLES - {"ledger_entry"})
    quote = conn.ops.quote_name
    with transaction.atomic(using=using), conn.cursor() as cursor:
        cursor.execute("SELECT set_config('lealtad.audit_flush', 'on', true)")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        cursor.execute("TRUNCATE ledger_entry CASCADE")
        for table in tables:
            cursor.execute(f"DELETE FROM {quote(table)}")


_tables: dict[str, list[str]] = {}


@contextlib.contextmanager
def fast_flush():
    """While it lasts, transactional tests on PostgreSQL end with empty_tables() instead of
    Django's flush (SQLite keeps Django's)."""
    from django.db import connections
    from django.test import TransactionTestCase

    original = TransactionTestCase._fixture_teardown

    def _fixture_teardown(self):
        aliases = list(self._databases_names(include_mirrors=False))
        if any(connections[alias].vendor != "postgresql" for alias in aliases):
            return original(self)
        for alias in aliases:
            empty_tables(alias)

    TransactionTestCase._fixture_teardown = _fixture_teardown
    try:
        yield
    finally:
        TransactionTestCase._fixture_teardown = original


def terminal_summary(terminalreporter) -> None:
    if API_URL:
        terminalreporter.write_line(
            f"remote: {len(_requests)} tests sent {sum(_requests.values())} HTTP requests to "
            f"{API_URL}"
        )


# --- the runner ----------------------------------------------------------------------------------


def run_contract_suite(
    api_url: str,
    database_url: str,
    env: dict | None = None,
    modules: list[str] | None = None,
    timeout: float = 1800,
) -> subprocess.CompletedProcess:
    """Runs the API contract tests (CONTRACT_MODULES, or `modules`) serially in a subprocess
    against the server at `api_url` (its root: http://host:port) whose database is
    `database_url` (existing, migrated; its tables are emptied after each test: never a database
    that holds anything to keep). `env` adds to this process's environment (CACHE_URL,
    SECRET_KEY, … as the server has them); this process's PYTEST_* variables are left out (no
    xdist: two processes would empty each other's tables), and its DATABASE_REPLICA_URL (the
    tests read back what they wrote, from the primary) unless `env` gives one. Output captured
    (text);
    `summary(result)` reads the counts."""
    run_env = {
        key: value
        for key, value in os.environ.items()
        # The tests' own ORM reads and writes go to the primary, whatever the servers read from.
        if not key.startswith("PYTEST_") and key != "DATABASE_REPLICA_URL"
    }
    run_env.update(env or {})
    run_env.update(LEALTAD_API_URL=api_url.rstrip("/"), DATABASE_URL=database_url)
    command = [
        sys.executable,
        *("-m", "pytest", *(modules or CONTRACT_MODULES)),
        *("-p", "no:randomly", "-p", "no:cacheprovider", "-q"),
    ]
    return subprocess.run(
        command, cwd=ROOT, env=run_env, capture_output=True, text=True, timeout=timeout
    )


def summary(result: subprocess.CompletedProcess) -> dict[str, int]:
    """{"passed": n, "failed": n, "deselected": n, …, "over_http": tests that sent requests,
    "requests": n} from pytest's output."""
    import re

    found = {}
    for line in result.stdout.splitlines():
        if re.search(r"\d+ (passed|failed|errors?|skipped|deselected)\b", line) and " in " in line:
            found = {word: int(n) for n, word in re.findall(r"(\d+) ([a-z]+)", line)}
        remote = re.match(r"remote: (\d+) tests sent (\d+) HTTP requests", line)
        if remote:
            over_http, requests = map(int, remote.groups())
    if "over_http" in locals():
        found.update(over_http=over_http, requests=requests)
    return found
