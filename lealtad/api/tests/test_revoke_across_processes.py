"""Issue 12: a key revoked through one server process is refused by another on its very next
request. Two `lealtad serve` processes (one worker each, production settings) share one database;
both have just served the key, so a per-process cache of it would still be warm. And with
CACHE_URL on a real Redis, the two count one rate limit between them.

Issue 17: with CACHE_URL on a real Redis the two share the cached staff tokens and the promotions
flag, and what one node changes the other sees on its very next request; with one MEDIA_ROOT
(SERVE_MEDIA on, DEBUG off) a picture uploaded through one is served by the other."""

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
LEALTAD = [sys.executable, "-m", "lealtad.cli"]
ADMIN = ["--admin", "dos.admin", "--admin-password", "dos-secret-1"]
ONE_WORKER = ["--workers", "1", "--no-worker", "--no-collectstatic"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Browser:
    """Just enough of one: cookies kept by hand (production marks them Secure, and this is plain
    HTTP on the loopback), the CSRF token sent back, redirects not followed."""

    def __init__(self, base):
        self.base, self.cookies = base, {}

    def request(self, path, form=None, files=None):
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if files:
            data, headers["Content-Type"] = multipart(form or {}, files)
        if data is not None:
            headers["Origin"] = self.base
            headers["X-CSRFToken"] = self.cookies.get("csrftoken", "")
        request = urllib.request.Request(self.base + path, data=data, headers=headers)
        opener = urllib.request.build_opener(NoRedirect)
        try:
            response = opener.open(request, timeout=10)
        except urllib.error.HTTPError as error:
            response = error
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _sep, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, response.read().decode()


def multipart(fields, files):
    boundary = "lealtad-" + os.urandom(8).hex()
    parts = []
    for name, value in fields.items():
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
        parts.append(f"{head}{value}\r\n".encode())
    for name, (filename, content, content_type) in files.items():
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'
        )
        parts.append(head.encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def api_status(base, secret) -> int:
    request = urllib.request.Request(
        f"{base}/api/v1/rewards", headers={"Authorization": f"Bearer {secret}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def api_call(base, secret, path, body=None):
    """(status, JSON) of a GET, or of a POST of `body`."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
    request = urllib.request.Request(f"{base}/api/v1{path}", data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


@pytest.fixture
def server_env():
    return {}


@pytest.fixture
def node_env(tmp_path, server_env):
    """The nodes' environment (the CLI commands of a test use it too)."""
    return {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'two.sqlite3'}",
        "DEBUG": "false",
        "SECRET_KEY": "two-servers-" + "k" * 50,
        "SECURE_SSL_REDIRECT": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "STATIC_ROOT": str(tmp_path / "static"),
        "EMAIL_URL": "console://",
        **server_env,
    }


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    """One migrated database and one collected static folder for the module's tests (a copy of
    the database each): migrating is most of a test's time."""
    folder = tmp_path_factory.mktemp("migrated")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{folder / 'template.sqlite3'}",
        "DEBUG": "false",
        "SECRET_KEY": "two-servers-" + "k" * 50,
        "STATIC_ROOT": str(folder / "static"),
    }
    for command in (["migrate", "-v", "0"], ["collectstatic", "--no-input", "-v", "0"]):
        subprocess.run([*LEALTAD, *command], env=env, cwd=ROOT, check=True, timeout=180)
    return folder


@pytest.fixture
def two_servers(node_env, migrated):
    import sqlite3

    env = node_env
    env["STATIC_ROOT"] = str(migrated / "static")
    source = sqlite3.connect(migrated / "template.sqlite3")
    target = sqlite3.connect(env["DATABASE_URL"].removeprefix("sqlite:///"))
    with source, target:
        source.backup(target)
    source.close()
    target.close()
    made = subprocess.run(
        [*LEALTAD, "create-merchant", "--name", "Dos", "--country", "CO", *ADMIN],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    servers, bases = [], []
    try:
        for _ in range(2):
            port = _free_port()
            servers.append(
                subprocess.Popen(
                    [*LEALTAD, "serve", "--port", str(port), *ONE_WORKER],
                    env=env,
                    cwd=ROOT,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            bases.append(f"http://127.0.0.1:{port}")
        for base in bases:
            for _ in range(200):
                try:
                    urllib.request.urlopen(f"{base}/healthz", timeout=2)
                    break
                except OSError:
                    time.sleep(0.1)
            else:
                pytest.fail(f"{base} did not answer /healthz")
        yield bases, json.loads(made.stdout)
    finally:
        for proc in servers:
            proc.terminate()
        for proc in servers:
            proc.wait(timeout=20)


def test_a_key_revoked_through_one_server_is_refused_by_the_other_at_once(two_servers):
    (a, b), merchant = two_servers
    secret = merchant["api_key"]
    for base in (a, b, a, b):
        assert api_status(base, secret) == 200
    admin = Browser(a)
    admin.request("/login/")
    status, _page = admin.request("/login/", {"username": "dos.admin", "password": "dos-secret-1"})
    assert status == 302, _page
    status, page = admin.request("/console/api-keys/")
    assert status == 200 and secret[:10] in page
    (revoke_url,) = set(re.findall(r'href="(/console/api-keys/[0-9a-f-]{36}/revoke/)"', page))
    status, _page = admin.request(revoke_url, {})
    assert status == 302
    assert api_status(b, secret) == 401  # the other process, the very next request
    assert api_status(a, secret) == 401


@pytest.fixture
def shared_limit(redis_url, server_env):
    server_env.update({"CACHE_URL": redis_url, "API_RATE_LIMIT": "4"})
    return redis_url


def test_with_redis_the_two_servers_count_one_limit(shared_limit, two_servers):
    (a, b), merchant = two_servers
    secret = merchant["api_key"]
    if time.time() % 60 > 50:  # the servers count per clock minute: start well inside one
        time.sleep(61 - time.time() % 60)
    codes = [api_status(base, secret) for base in (a, b, a, b, a, b)]
    # Both processes count in Redis: 4 a minute between them, whichever serves; each counting
    # alone would have let all six through.
    assert codes == [200, 200, 200, 200, 429, 429], codes


def test_cache_url_chooses_the_backend():
    from lealtad.core.cache_url import caches_for
    from lealtad.core.env import BadSetting

    assert caches_for("")["default"]["BACKEND"].endswith("LocMemCache")
    assert caches_for("locmem://")["default"]["BACKEND"].endswith("LocMemCache")
    redis = caches_for("rediss://:pw@cache.internal:6380/2")["default"]
    assert redis["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert redis["LOCATION"] == "rediss://:pw@cache.internal:6380/2"
    for bad in ("memcached://x:11211", "redis://", "redis://host:notaport/0"):
        with pytest.raises(BadSetting, match="CACHE_URL"):
            caches_for(bad)


def test_a_cache_that_is_down_does_not_take_the_api_down(settings, pos_api, caplog):
    from django.core.cache import caches

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{_free_port()}/0",  # nothing listens there
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    settings.API_RATE_LIMIT = 1
    try:
        assert [pos_api.get("/rewards").status_code for _ in range(3)] == [200, 200, 200]
    finally:
        caches.close_all()
    assert "rate limit not counted" in caplog.text


@pytest.fixture
def shared_nodes(redis_url, server_env, tmp_path):
    server_env.update(
        {"CACHE_URL": redis_url, "SERVE_MEDIA": "true", "MEDIA_ROOT": str(tmp_path / "shared")}
    )
    return redis_url


def test_with_redis_what_one_server_changes_the_other_sees_at_once(
    shared_nodes, node_env, two_servers
):
    import datetime as dt
    import zoneinfo

    from lealtad.claims.testing import photo
    from lealtad.core import testing

    (a, b), merchant = two_servers
    made = subprocess.run(
        [
            *LEALTAD,
            *("create-staff", "--merchant", merchant["merchant_id"], "--role", "cashier"),
            *("--username", "caja", "--password", "caja-secret-1"),
        ],
        env=node_env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    cashier = json.loads(made.stdout)
    status, body = api_call(a, "", "/auth/token", {"username": "caja", "password": "caja-secret-1"})
    assert status == 200, body
    token = body["token"]
    assert [api_status(base, token) for base in (a, b, a, b)] == [200] * 4  # cached in Redis
    admin = Browser(a)
    admin.request("/login/")
    status, _page = admin.request("/login/", {"username": "dos.admin", "password": "dos-secret-1"})
    assert status == 302, _page

    # A cashier deactivated in the console of one node: their token refused at once by the other.
    status, _page = admin.request(f"/console/staff/{cashier['user_id']}/active/", {})
    assert status == 302
    assert api_status(b, token) == 401
    assert api_status(a, token) == 401

    # A promotion saved on one node applies at once to an accrual on the other.
    pos = merchant["api_key"]
    status, customer = api_call(
        b, pos, "/customers",
        {"document_type": "CC", "document_number": testing.colombian_document(), "country": "CO",
         "email": "nodos@example.com"},
    )  # fmt: skip
    assert status == 201, customer
    accrual = {"customer_id": customer["id"], "amount": "5000"}
    status, plain = api_call(b, pos, "/accruals", accrual)
    assert status == 201, plain  # the flag "no accrual promotion today" is cached now
    today = dt.datetime.now(zoneinfo.ZoneInfo("America/Bogota")).date()  # the merchant's
    status, page = admin.request(
        "/console/promotions/new/",
        {"name": "Bono nodos", "kind": "bonus", "bonus_points": "100", "target": "everyone",
         "active": "on", "starts_on": (today - dt.timedelta(days=1)).isoformat(),
         "ends_on": (today + dt.timedelta(days=2)).isoformat()},
    )  # fmt: skip
    assert status == 302, page
    status, boosted = api_call(b, pos, "/accruals", accrual)
    assert status == 201 and boosted["points"] == plain["points"] + 100, boosted

    # A picture uploaded through one node is served by the other (DEBUG off, SERVE_MEDIA on).
    picture = photo("PNG")
    status, page = admin.request(
        "/console/prizes/new/",
        {"name": "Taza", "points_cost": "50", "active": "on"},
        files={"picture": ("taza.png", picture, "image/png")},
    )
    assert status == 302, page
    status, page = admin.request("/console/prizes/")
    (url,) = set(re.findall(r'/media/rewards/[^"\'?]+', page))
    with urllib.request.urlopen(b + url, timeout=10) as response:
        assert response.read() == picture
        assert response.headers["Content-Type"] == "image/png"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "max-age" in response.headers["Cache-Control"]
