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
