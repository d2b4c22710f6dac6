"""Issue 12: a key revoked through one server process is refused by another on its very next
request. Two `lealtad serve` processes (one worker each, production settings) share one database;
both have just served the key, so a per-process cache of it would still be warm."""

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

    def request(self, path, form=None):
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
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


@pytest.fixture
def two_servers(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'two.sqlite3'}",
        "DEBUG": "false",
        "SECRET_KEY": "two-servers-" + "k" * 50,
        "SECURE_SSL_REDIRECT": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "STATIC_ROOT": str(tmp_path / "static"),
        "EMAIL_URL": "console://",
    }
    for command in (["migrate", "-v", "0"], ["collectstatic", "--no-input", "-v", "0"]):
        subprocess.run([*LEALTAD, *command], env=env, cwd=ROOT, check=True, timeout=180)
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
