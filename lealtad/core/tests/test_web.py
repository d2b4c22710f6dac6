"""Health check, request logs and the operator's admin site."""

import logging

import pytest
from django.db import DatabaseError
from django.test import Client

from lealtad.core import testing


@pytest.mark.django_db
def test_healthz_answers_200_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "up"}


@pytest.mark.django_db
def test_healthz_answers_503_when_the_database_does_not(client, monkeypatch):
    from django.db.backends.utils import CursorWrapper

    def broken(*args, **kwargs):
        raise DatabaseError("down")

    monkeypatch.setattr(CursorWrapper, "execute", broken)
    assert client.get("/healthz").status_code == 503


@pytest.mark.django_db
def test_request_log_is_one_line_without_personal_data(client, caplog):
    shop = testing.make_merchant()
    made = testing.make_customer(shop)
    customer = made.customer
    caplog.set_level(logging.INFO, logger="lealtad.requests")
    client.get(
        f"/api/v1/customers?q={customer.document_number}",
        HTTP_AUTHORIZATION=f"Bearer {shop.api_key}",
    )
    client.get(f"/api/v1/customers?q={customer.email}", HTTP_AUTHORIZATION=f"Bearer {shop.api_key}")
    lines = [r.getMessage() for r in caplog.records if r.name == "lealtad.requests"]
    assert len(lines) == 2
    assert all(line.startswith("GET /api/v1/customers 200 ") for line in lines)
    text = "\n".join(lines)
    for secret in (customer.document_number, customer.email, shop.api_key):
        assert secret not in text


@pytest.mark.django_db
def test_every_response_says_the_application_time_in_server_timing(client):
    import re

    for path in ("/healthz", "/login/", "/cashier/"):
        header = client.get(path)["Server-Timing"]
        assert re.fullmatch(r"app;dur=\d+\.\d, cpu;dur=\d+\.\d", header), header


@pytest.mark.django_db
def test_operator_admin_shows_the_ledger_read_only(client):
    from lealtad.network.models import User

    shop = testing.make_merchant()
    made = testing.make_customer(shop, welcome_bonus=False)
    operator = User.objects.create_superuser("op", "op@example.com", testing.PASSWORD)
    assert operator.role == "operator"
    client.force_login(operator)
    for url in (
        "/admin/",
        "/admin/network/merchant/",
        "/admin/customers/customer/",
        "/admin/ledger/transaction/",
        "/admin/ledger/account/",
        "/admin/ledger/entry/",
        f"/admin/customers/customer/{made.customer.pk}/change/",
    ):
        assert client.get(url).status_code == 200, url
    assert client.get("/admin/ledger/entry/add/").status_code == 403


@pytest.mark.django_db
def test_cashiers_cannot_open_the_admin(client):
    shop = testing.make_merchant()
    cashier = testing.make_cashier(shop)
    client.force_login(cashier)
    assert client.get("/admin/").status_code == 302


@pytest.mark.django_db
def test_operator_suspends_and_lifts_from_the_admin(client):
    from lealtad.customers.models import Customer
    from lealtad.network.models import User

    shop = testing.make_merchant()
    customer = testing.make_customer(shop).customer
    client.force_login(User.objects.create_superuser("op", "op@example.com", testing.PASSWORD))
    url = "/admin/customers/customer/"
    client.post(url, {"action": "suspend", "_selected_action": [customer.pk]})
    customer.refresh_from_db()
    assert customer.suspended and "operador de la red" in customer.suspension_message
    client.post(url, {"action": "lift", "_selected_action": [customer.pk]})
    assert Customer.objects.get(pk=customer.pk).suspended is False


def test_home_page_links_the_api_docs_and_admin(client):
    response = client.get("/")
    assert response.status_code == 200
    assert b"/api/v1/docs" in response.content and b"/admin/" in response.content


@pytest.mark.django_db
def test_api_answers_are_not_stored_by_any_cache(client):
    shop = testing.make_merchant()
    made = testing.make_customer(shop)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {shop.api_key}"}
    for response in (
        client.get(f"/api/v1/customers/{made.customer.pk}", **auth),
        client.get("/api/v1/customers", {"q": made.customer.email}, **auth),
        client.get("/api/v1/customers/nope", **auth),
        client.post("/api/v1/auth/token", {}, content_type="application/json"),
    ):
        assert response["Cache-Control"] == "no-store", response.status_code


@pytest.mark.django_db
def test_pages_carry_a_content_security_policy_without_inline_allowances(client):
    policy = client.get("/login/")["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in policy


def test_no_template_has_inline_scripts_styles_or_handlers():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style|\sstyle=|\son[a-z]+=|javascript:")
    offenders = [
        f"{path.relative_to(root)}: {match.group(0)}"
        for path in root.glob("*/templates/**/*.html")
        for match in inline.finditer(path.read_text())
        if "application/json" not in match.group(0)
    ]
    assert offenders == []


@pytest.mark.django_db
def test_the_language_cookie_is_http_only_and_same_site(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    cookie = response.cookies["django_language"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"


def test_the_django_5_2_policy_middleware_sends_the_same_policy(settings):
    from django.http import HttpResponse
    from django.test import RequestFactory

    from lealtad.core.csp import POLICY, PolicyMiddleware, header_value

    settings.SECURE_CSP = POLICY
    response = PolicyMiddleware(lambda request: HttpResponse("ok"))(RequestFactory().get("/"))
    assert response["Content-Security-Policy"] == header_value(POLICY)
    assert response["Content-Security-Policy"].startswith("default-src 'self'; script-src 'self'")


@pytest.mark.django_db
def test_every_page_links_an_icon_that_exists(client):
    """No 404 for the icon on every page: the base templates link it, /favicon.ico leads to it."""
    import re

    from django.contrib.staticfiles import finders

    shop = testing.make_merchant()
    staff = Client()
    staff.force_login(testing.make_cashier(shop))
    admin = Client()
    admin.force_login(shop.admin)
    pages = [client.get("/"), client.get("/login/"), staff.get("/cashier/"), admin.get("/console/")]
    for page in pages:
        assert page.status_code == 200
        icons = re.findall(r'<link rel="icon" href="/static/([^"]+)"', page.content.decode())
        assert icons == ["core/favicon.svg", "core/favicon.ico"]
        assert all(finders.find(icon) for icon in icons)
    redirect = client.get("/favicon.ico")
    assert (redirect.status_code, redirect["Location"]) == (301, "/static/core/favicon.ico")
    with open(finders.find("core/favicon.ico"), "rb") as ico:
        assert ico.read(4) == b"\0\0\1\0"  # an ICO header
