"""Issue 16, limits: every way in that needs no sign-in is throttled alike.

The ways in are found, not listed by hand: every URL of the URLconf is POSTed without a sign-in
(a signed-in page redirects to a sign-in or answers 401/403/404/405), and every OpenAPI
operation without a security scheme. A new one missing from OPEN_POSTS / OPEN_API fails here:
add it with its throttle (and a test of it below), or with why it needs none. Then each
throttled way in is driven past a low limit: the API answers 429 problem+json with a stable
code and `Retry-After`; a screen shows a translated message by its form (es, pt-BR, en)."""

import re
from urllib.parse import quote

import pytest
from django.test import Client
from django.test import Client as DjangoClient
from django.urls import URLResolver, get_resolver

from lealtad.api.api import api
from lealtad.app.models import SignInCode
from lealtad.core import testing
from lealtad.customers.models import Customer
from lealtad.network.models import Merchant

pytestmark = pytest.mark.django_db

# Screens: the URL name → the throttle that counts it (or why none is needed).
OPEN_POSTS = {
    "login": "staff password: network/signin.py, per username + address and per address",
    "admin:login": "the operator's password: the same ThrottledModelBackend",
    "signup": "merchant sign-up: SIGNUPS_PER_IP_HOUR (core/throttle.py)",
    "app:signin": "a code asked: CUSTOMER_CODES_PER_ADDRESS_HOUR and _PER_IP_HOUR",
    "app:signin_code": "a code tried: 5 a code, CUSTOMER_WRONG_CODES_PER_IP/ADDRESS_HOUR",
    "app:join": "SIGNUPS_PER_IP_HOUR before anything is registered, then the code limits",
    "ratings:page": "a signed link of one visit (F1): one rating a visit, nothing to guess",
    "ratings:answer": "a signed link of one visit: the customer's reply to its own rating",
    "set_language": "a cookie with the language: nothing is stored or checked",
    "logout": "ends the caller's own session",
    "app:signout": "ends the caller's own session",
}
# API operations without a credential.
OPEN_API = {
    ("POST", "/api/v1/auth/token"): "staff password: the same ThrottledModelBackend",
    ("POST", "/api/v1/auth/customer/code"): "CUSTOMER_CODES_PER_ADDRESS_HOUR and _PER_IP_HOUR",
    ("POST", "/api/v1/auth/customer/token"): "CUSTOMER_WRONG_CODES_PER_IP/ADDRESS_HOUR",
}
# GET-only or harmless pages that answer a POST without signing in (nothing is written).
NO_POST = {"home", "healthz", "favicon", "app:manifest", "app:service_worker", "app:offline"}
SIGN_IN_PAGES = ("/login/", "/app/signin/", "/admin/login/")


def _routes(patterns, prefix="", namespace=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = pattern.namespace or ""
            ns = f"{namespace}:{inner}" if namespace and inner else inner or namespace
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern), ns)
        else:
            name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name
            yield prefix + str(pattern.pattern), name


def _url(route: str) -> str:
    route = re.sub(r"<(?:\w+:)?(\w+)>", "x1", route)
    return "/" + route.lstrip("^").rstrip("$").replace("(?P<path>.*)", "x1")


def _closed(response, url) -> bool:
    if response.status_code in (401, 403, 404, 405):
        return True
    location = response.get("Location", "") if response.status_code in (301, 302) else ""
    return any(location.startswith(page) for page in SIGN_IN_PAGES) and (
        quote(url, safe="/") in location or ("next=" in location and "signin" not in url)
    )


def test_every_open_post_is_throttled_or_says_why_not():
    found = set()
    for route, name in _routes(get_resolver().url_patterns):
        if route.startswith("api/v1/") or (route.startswith("admin/") and name != "admin:login"):
            continue  # the API is walked in its schema; the admin needs a signed-in operator
        url = _url(route)
        response = Client().post(url, {})
        if not _closed(response, url):
            found.add(name or url)
    assert found - NO_POST == set(OPEN_POSTS), (
        f"new: {found - NO_POST - set(OPEN_POSTS)}; gone: {set(OPEN_POSTS) - found}"
    )
    schema = api.get_openapi_schema()
    open_api = {
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method, op in operations.items()
        if not op.get("security")
    }
    assert open_api == set(OPEN_API)
    assert not any(
        "password_reset" in (name or "") for _r, name in _routes(get_resolver().url_patterns)
    )


def _problem_429(response, code="too_many_attempts"):
    assert response.status_code == 429, response.content[:300]
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == code
    assert int(response["Retry-After"]) >= 1


def test_the_staff_api_sign_in_is_throttled(settings):
    settings.LOGIN_MAX_FAILURES = 2
    shop = testing.make_merchant(admin="alice")
    for _ in range(2):
        wrong = Client().post(
            "/api/v1/auth/token",
            {"username": "alice", "password": "wrong"},
            content_type="application/json",
        )
        assert wrong.status_code == 401
    right = {"username": "alice", "password": testing.PASSWORD}
    _problem_429(Client().post("/api/v1/auth/token", right, content_type="application/json"))
    assert shop.admin.username == "alice"


def test_the_customer_code_endpoints_are_throttled_per_address_and_per_client(settings):
    settings.CUSTOMER_CODES_PER_ADDRESS_HOUR = 2
    settings.CUSTOMER_CODES_PER_IP_HOUR = 3
    settings.CUSTOMER_WRONG_CODES_PER_ADDRESS_HOUR = 2
    settings.CUSTOMER_WRONG_CODES_PER_IP_HOUR = 100
    post = Client().post

    def ask(email, ip):
        body = {"email": email}
        return post("/api/v1/auth/customer/code", body, "application/json", REMOTE_ADDR=ip)

    assert [ask("ana@example.com", f"203.0.113.{n}").status_code for n in range(2)] == [202] * 2
    _problem_429(ask("ana@example.com", "203.0.113.9"))  # per address, from anywhere
    assert [ask(f"p{n}@example.com", "198.51.100.7").status_code for n in range(3)] == [202] * 3
    _problem_429(ask("p9@example.com", "198.51.100.7"))  # per client address
    # Wrong codes for one address, each from another client address: stopped per address.
    body = {"email": "ana@example.com", "code": "000000"}
    for n in range(2):
        wrong = post(
            "/api/v1/auth/customer/token", body, "application/json", REMOTE_ADDR=f"192.0.2.{n}"
        )
        assert wrong.status_code == 401
    _problem_429(
        post("/api/v1/auth/customer/token", body, "application/json", REMOTE_ADDR="192.0.2.99")
    )


JOIN = {"document": "CO:CC", "first_name": "Lucía", "last_name": "Restrepo", "mobile": ""}
SIGNUP = {
    "name": "Panadería",
    "phone": "601 555 0100",
    "address": "Calle 10 # 5-20",
    "country": "CO",
    "password": "pan-de-bono-2026",
}
WORDS = {
    "es": "Demasiados intentos desde aquí",
    "pt-br": "Tentativas demais a partir daqui",
    "en": "Too many attempts from here",
}


@pytest.mark.parametrize("language", list(WORDS))
def test_sign_ups_and_joins_are_throttled_per_client_with_a_translated_message(settings, language):
    settings.SIGNUPS_PER_IP_HOUR = 1
    testing.make_merchant()

    def Client():
        client = DjangoClient()
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        return client

    client = Client()
    first = client.post("/signup/", {**SIGNUP, "email": "uno@example.com"})
    assert first.status_code == 302
    second = Client().post("/signup/", {**SIGNUP, "email": "dos@example.com"})
    assert WORDS[language] in second.content.decode()
    assert not Merchant.objects.filter(email="dos@example.com").exists()

    joins = []
    for n in range(2):
        joins.append(
            Client().post(
                "/app/join/",
                {**JOIN, "document_number": testing.colombian_document(), "email": f"j{n}@x.co"},
            )
        )
    assert joins[0].status_code == 302
    assert joins[1].status_code == 429 and WORDS[language] in joins[1].content.decode()
    assert not Customer.objects.filter(email="j1@x.co").exists()
    assert SignInCode.objects.filter(address="j1@x.co").count() == 0
