import pytest
from django.test import Client

from lealtad.app.auth import COOKIE
from lealtad.app.testing import sign_in
from lealtad.core import testing


def test_not_signed_in_goes_to_the_sign_in_with_next(client, db):
    response = client.get("/app/account/?tab=1")
    assert response.status_code == 302
    assert response["Location"] == "/app/signin/?next=%2Fapp%2Faccount%2F%3Ftab%3D1"
    htmx = client.get("/app/", headers={"HX-Request": "true"})
    assert htmx["HX-Redirect"].startswith("/app/signin/")


def test_a_staff_session_is_not_a_customer(shop, ana):
    client = Client()
    assert client.login(username="alice", password=testing.PASSWORD)
    assert client.get("/console/").status_code in (200, 302)
    response = client.get("/app/")
    assert response.status_code == 302 and response["Location"].startswith("/app/signin/")


def test_signed_in_sets_request_customer(client, ana):
    session = sign_in(client, ana)
    response = client.get("/app/")
    assert response.status_code == 200
    assert response.wsgi_request.customer == ana
    assert response.wsgi_request.customer_session == session
    assert ana.first_name in response.content.decode()


def test_a_forged_or_revoked_cookie_is_signed_out(client, ana):
    client.cookies[COOKIE] = "lcs_forged"
    assert client.get("/app/").status_code == 302
    session = sign_in(client, ana)
    from lealtad.app.actions import revoke

    revoke(session)
    assert client.get("/app/").status_code == 302


@pytest.mark.parametrize("debug", [True, False])
def test_the_cookie_flags(client, ana, settings, debug):
    from django.http import HttpResponse

    from lealtad.app.auth import sign_in_response

    settings.DEBUG = debug
    response = sign_in_response(HttpResponse(), "lcs_x")
    cookie = response.cookies[COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert bool(cookie["secure"]) is (not debug)
    assert int(cookie["max-age"]) == 180 * 24 * 3600
