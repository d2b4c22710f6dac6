"""Test helpers for the app's screens and the /me API (other packages' tests use them):

from lealtad.app.testing import sign_in, customer_token, second_customer
sign_in(client, customer)                  # the Django test client is now that customer
client.get("/api/v1/me", headers={"Authorization": f"Bearer {customer_token(customer)}"})
"""

from lealtad.app.actions import open_session
from lealtad.app.auth import COOKIE
from lealtad.app.models import CustomerSession, SessionKind


def sign_in(client, customer) -> CustomerSession:
    """A live app session for `customer`, its cookie set on `client` (a django.test.Client)."""
    session, token = open_session(customer, user_agent="test client", kind=SessionKind.WEB)
    client.cookies[COOKIE] = token
    return session


def customer_token(customer) -> str:
    """An API bearer token for `customer` (what POST /auth/customer/token gives)."""
    return open_session(customer, user_agent="test", kind=SessionKind.API)[1]


def bearer(customer) -> dict:
    """Headers for the test client: `client.get("/api/v1/me", headers=bearer(customer))`."""
    return {"Authorization": f"Bearer {customer_token(customer)}"}


def second_customer(new_merchant=None, **profile):
    """Another customer (of `new_merchant`, or of a merchant of its own): the one whose data a
    customer's session must never reach (404). Returns the Customer."""
    from lealtad.core.testing import make_customer, make_merchant

    return make_customer(new_merchant or make_merchant(), **profile).customer
