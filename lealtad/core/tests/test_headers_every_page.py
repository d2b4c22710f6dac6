"""Issue 16: the Content-Security-Policy on every page (every URL pattern, from the URL
configuration, opened by whoever may open it, whatever it answers; the error pages; the API docs;
the operator's admin), HTTPS, HSTS and secure cookies switched on by the environment in
production, and `lealtad check --deploy` clean with a production environment."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django.urls import path

from lealtad.app.testing import sign_in
from lealtad.core.tests import screens, xss_world

ROOT = Path(__file__).resolve().parents[3]
LEALTAD = [sys.executable, "-m", "lealtad.cli"]


def _boom(request):
    raise RuntimeError("a bug in a view")


# One view that fails, for the 500 page (the test below makes this module the URLconf).
urlpatterns = [path("boom/", _boom)]


def _policy_of(response, where):
    value = response.get("Content-Security-Policy")
    assert value, f"{where}: {response.status_code} without a Content-Security-Policy"
    directives = dict(d.strip().split(" ", 1) for d in value.split(";"))
    assert directives["default-src"] == "'self'", where
    assert directives["script-src"] == "'self'", where
    assert directives["style-src"] == "'self'", where
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in value and "unsafe-eval" not in value, where
    return directives


@pytest.mark.django_db
def test_every_screen_and_error_page_sends_the_policy(settings, tmp_path):
    from lealtad.network.models import User

    world = xss_world.build(settings, tmp_path)
    world.ids["token"] = world.rate_token
    clients = {"anyone": Client()}
    for who, user in (("admin", world.shop.admin), ("cashier", world.cashier)):
        clients[who] = Client()
        clients[who].force_login(user)
    clients["customer"] = Client()
    sign_in(clients["customer"], world.customer)
    statuses = {}
    for _route, url, who in screens.walk(world.ids):
        for client in {clients[who], clients["anyone"]}:  # signed in, and a stranger's redirect
            response = client.get(url)
            _policy_of(response, url)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
    assert {200, 302, 405} <= set(statuses), statuses
    operator = Client()
    operator.force_login(User.objects.create_superuser("op", "op@example.com", "op-secret-1"))
    for client, url in (
        (operator, "/admin/"),
        (operator, "/admin/customers/customer/"),
        (operator, f"/admin/customers/customer/{world.customer.pk}/change/"),
        (clients["anyone"], "/admin/login/"),
        (clients["anyone"], "/api/v1/docs"),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        _policy_of(response, url)
    # The error pages: 404, 403 (a cashier in the console is told 404; a form without its CSRF
    # token gets Django's 403 page), 500.
    assert clients["cashier"].get("/console/").status_code == 404
    _policy_of(clients["anyone"].get("/no-such-page/"), "404")
    forged = Client(enforce_csrf_checks=True).post("/login/", {"username": "x"})
    assert forged.status_code == 403
    _policy_of(forged, "403")
    settings.ROOT_URLCONF = __name__
    failing = Client(raise_request_exception=False).get("/boom/")
    assert failing.status_code == 500
    _policy_of(failing, "500")


def _settings_in(env: dict) -> dict:
    """The HTTPS settings as `lealtad` reads them in a fresh process with `env`."""
    names = [
        "DEBUG",
        "SECURE_SSL_REDIRECT",
        "SECURE_PROXY_SSL_HEADER",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_HSTS_PRELOAD",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "LANGUAGE_COOKIE_SECURE",
        "SESSION_COOKIE_HTTPONLY",
    ]
    code = f"from django.conf import settings as s; print([getattr(s, n) for n in {names}])"
    out = subprocess.run(
        [*LEALTAD, "shell", "-c", code],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr[-800:]
    import ast

    return dict(zip(names, ast.literal_eval(out.stdout.strip().splitlines()[-1]), strict=True))


def _production(**extra) -> dict:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("SECURE_", "TRUST_X"))}
    keep.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return {
        **keep,
        "DEBUG": "false",
        "SECRET_KEY": "production-" + "k" * 50,
        "ALLOWED_HOSTS": "lealtad.example.com",
        "CSRF_TRUSTED_ORIGINS": "https://lealtad.example.com",
        **extra,
    }


def test_https_hsts_and_secure_cookies_are_on_in_production_and_switch_by_environment():
    on = _settings_in(_production())
    assert on == {
        "DEBUG": False,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https"),
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "LANGUAGE_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
    }
    switched = _production(
        SECURE_SSL_REDIRECT="false",
        TRUST_X_FORWARDED_PROTO="false",
        SECURE_HSTS_SECONDS="300",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="false",
        SECURE_HSTS_PRELOAD="false",
        SECURE_COOKIES="false",
    )
    off = _settings_in(switched)
    assert off["SECURE_PROXY_SSL_HEADER"] is None and off["SECURE_HSTS_SECONDS"] == 300
    assert not any(
        off[n]
        for n in (
            "SECURE_SSL_REDIRECT",
            "SECURE_HSTS_INCLUDE_SUBDOMAINS",
            "SECURE_HSTS_PRELOAD",
            "SESSION_COOKIE_SECURE",
            "CSRF_COOKIE_SECURE",
            "LANGUAGE_COOKIE_SECURE",
        )
    )
    development = _settings_in({**_production(), "DEBUG": "true"})
    assert development["SECURE_HSTS_SECONDS"] == 0 and not development["SESSION_COOKIE_SECURE"]


def test_check_deploy_is_clean_with_a_production_environment():
    out = subprocess.run(
        [*LEALTAD, "check", "--deploy", "--fail-level", "WARNING"],
        env=_production(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    # Nothing silenced: SILENCED_SYSTEM_CHECKS is not set.
    assert "System check identified no issues (0 silenced)." in out.stdout, out.stdout


@pytest.mark.django_db
def test_behind_the_proxy_pages_carry_hsts_and_cookies_are_secure(settings):
    from lealtad.core import testing

    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = settings.SECURE_HSTS_PRELOAD = True
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    shop = testing.make_merchant()
    client = Client()
    plain = client.get("/login/", headers={"X-Forwarded-Proto": "http"})
    assert plain.status_code == 301 and plain["Location"] == "https://testserver/login/"
    https = {"X-Forwarded-Proto": "https"}
    page = client.get("/login/", headers=https)
    assert page["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert page.cookies["csrftoken"]["secure"] is True
    token = page.cookies["csrftoken"].value
    signed = client.post(
        "/login/",
        {"username": shop.admin.username, "password": testing.PASSWORD},
        headers={**https, "X-CSRFToken": token},
    )
    assert signed.status_code == 302, signed.content[:300]
    session = signed.cookies["sessionid"]
    assert session["secure"] is True and session["httponly"] is True
    assert client.get("/healthz", headers={"X-Forwarded-Proto": "http"}).status_code == 200
