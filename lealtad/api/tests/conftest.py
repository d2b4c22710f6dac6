import os
import shutil
import socket
import subprocess
import time

import pytest
from django.test import Client

from lealtad.api.tests.remote import API_URL, RemoteClient
from lealtad.core import testing


class Api:
    """A JSON client that speaks as one token: Django's test Client, or real HTTP to the server
    at LEALTAD_API_URL when it is set (remote.py)."""

    def __init__(self, token=None):
        self.client = RemoteClient(API_URL) if API_URL else Client()
        self.token = token

    def _headers(self, headers):
        h = {"HTTP_AUTHORIZATION": f"Bearer {self.token}"} if self.token else {}
        h.update({f"HTTP_{k.upper().replace('-', '_')}": v for k, v in (headers or {}).items()})
        return h

    def get(self, path, params=None, **headers):
        return self.client.get(f"/api/v1{path}", params or {}, **self._headers(headers))

    def post(self, path, body=None, raw=None, **headers):
        data = raw if raw is not None else body or {}
        return self.client.post(
            f"/api/v1{path}", data, content_type="application/json", **self._headers(headers)
        )

    def patch(self, path, body, **headers):
        return self.client.patch(
            f"/api/v1{path}", body, content_type="application/json", **self._headers(headers)
        )


@pytest.fixture
def alice_shop(db):
    """Merchant A: Alice is its admin."""
    return testing.make_merchant("Café Aroma", admin="alice")


@pytest.fixture
def charlie_shop(db):
    """Merchant B: Charlie is its admin and should see nothing of A."""
    return testing.make_merchant("Farmacia Salud", country="PA", point_value="1", admin="charlie")


@pytest.fixture
def carol(alice_shop):
    return testing.make_cashier(alice_shop, "carol")


@pytest.fixture
def cashier_api(carol):
    return Api(testing.token_for(carol))


@pytest.fixture
def admin_api(alice_shop):
    return Api(testing.token_for(alice_shop.admin))


@pytest.fixture
def pos_api(alice_shop):
    return Api(alice_shop.api_key)


@pytest.fixture
def other_api(charlie_shop):
    return Api(testing.token_for(charlie_shop.admin))


@pytest.fixture
def anon_api():
    return Api()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def redis_url():
    """A real Redis: LEALTAD_TEST_REDIS_URL (a database of a running server, emptied before and
    after), or a redis-server of our own on a free port, without persistence."""
    given = os.environ.get("LEALTAD_TEST_REDIS_URL", "").strip()
    if given:
        import redis

        client = redis.Redis.from_url(given)
        client.flushdb()
        try:
            yield given
        finally:
            client.flushdb()
            client.close()
        return
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("needs redis-server (apt-get install redis-server); .ci/run installs it")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
