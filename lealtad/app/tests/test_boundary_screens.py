"""Issue 14: a customer's session never reaches another customer's objects. Every URL pattern
under /app/ is walked (a new page cannot escape): signed out and as a console user it sends to
the sign-in; customer B asking for each of customer A's objects (GET and POST) gets 404, never
200, a redirect or a 500, and no page B sees shows A's data; A gets A's own pages.

A pattern whose URL kwarg is not known here fails the test: add its object to A's world
(lealtad/app/tests/boundary.py) or to an allow-list below, with the reason."""

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from lealtad.app.testing import sign_in
from lealtad.app.tests.boundary import a_state, build_world, leaked

pytestmark = pytest.mark.django_db

# Pages that need no customer, and why.
PUBLIC = {
    "app/signin/": "the way in",
    "app/signin/code/": "the way in (the code step)",
    "app/join/": "joining the network is the way in for a new customer",
    "app/signout/": "the sign-out button; signing out needs no session",
    "app/manifest.webmanifest": "the installable app's manifest: no customer data",
    "app/sw.js": "the service worker: no customer data",
    "app/offline/": "the offline page the service worker shows: no customer data",
}
# URL kwargs naming an object that belongs to one customer: B gets 404 for A's.
OWNED = {"merchant_id", "offer_id", "transaction_id", "rating_id", "voucher_id", "claim_id"}
# Patterns whose id is the network's, open to every customer: B gets its page too (never A's
# data), and why.
NETWORK = {
    "app/merchants/<str:merchant_id>/favourite/": "any customer may follow any merchant (A6)",
    "app/coins/buy/<str:promotion_id>/": "the coin products are on sale to every customer (A9)",
}
# Not sent by the walk: it would end the walking customer's own sessions.
SESSION_ENDING = {"app/account/signout-everywhere/"}

KWARG = re.compile(r"<(?:\w+:)?(\w+)>")


def app_routes(resolver=None, prefix=""):
    """Every URL pattern under app/, as routes (\"app/m/<str:merchant_id>/\")."""
    for entry in (resolver or get_resolver()).url_patterns:
        route = prefix + str(entry.pattern)
        if not (route.startswith("app/") or "app/".startswith(route)):
            continue
        if isinstance(entry, URLResolver):
            yield from app_routes(entry, route)
        elif isinstance(entry, URLPattern) and route.startswith("app/"):
            yield route


def url(route: str, ids: dict) -> str:
    return "/" + KWARG.sub(lambda m: str(ids[m.group(1)]), route)


@pytest.fixture
def world(settings, tmp_path):
    return build_world(settings, tmp_path)


@pytest.fixture
def routes():
    found = sorted(set(app_routes()))
    assert len(found) > 25 and "app/claims/" in found
    return found


def as_customer(customer) -> Client:
    client = Client()
    sign_in(client, customer)
    return client


# What a form of the app sends, filled in as its owner would: B's POST of it on A's object must
# still be 404 and change nothing.
PLAUSIBLE = {"given": "1", "on": "1", "body": "Hola", "score": "9", "comment": "Bien"}


def _send(client, method, target, data=None):
    return client.get(target) if method == "GET" else client.post(target, data or {})


def test_every_pattern_is_known(routes, world):
    """A new pattern with an id this walk does not fill fails here, not silently."""
    unknown = {
        route: kwargs
        for route in routes
        if (kwargs := set(KWARG.findall(route)))
        and route not in NETWORK
        and not kwargs <= (OWNED & set(world.ids))
    }
    assert unknown == {}, "add these ids to A's world or to an allow-list with a reason"
    assert set(PUBLIC) | set(NETWORK) | SESSION_ENDING <= set(routes), "stale allow-list"


def _is_signin(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith("/app/signin/?next=")


@pytest.mark.parametrize("who", ["signed_out", "staff"])
def test_every_customer_page_sends_a_non_customer_to_the_sign_in(routes, world, who):
    """Signed out, or signed in to the console (a merchant's admin, a cashier): no customer."""
    client = Client()
    if who == "staff":
        client.force_login(world.shop.admin)
    wrong = {}
    for route in routes:
        if route in PUBLIC:
            continue
        target = url(route, world.ids)
        for method in ("GET", "POST"):
            response = _send(client, method, target)
            if response.status_code == 405:
                continue  # that method is not this page's: nothing answered
            if not _is_signin(response):
                wrong[f"{method} {target}"] = response.status_code
            elif leaked(response.content.decode(errors="replace"), world):
                wrong[f"{method} {target}"] = "A's data"
    assert wrong == {}


def test_customer_b_gets_404_for_every_object_of_customer_a(routes, world):
    b = as_customer(world.b)
    wrong, answered = {}, set()
    before = a_state(world)
    for route in routes:
        if route in PUBLIC or route in NETWORK or not KWARG.search(route):
            continue
        target = url(route, world.ids)
        for method, data in (("GET", None), ("POST", None), ("POST", PLAUSIBLE)):
            response = _send(b, method, target, data)
            text = response.content.decode(errors="replace")
            if response.status_code == 404:
                answered.add(route)
            elif response.status_code != 405:
                wrong[f"{method} {target}"] = response.status_code
            if leaked(text, world):
                wrong[f"{method} {target}"] = f"A's data: {leaked(text, world)}"
    assert wrong == {}
    assert a_state(world) == before
    owned = {r for r in routes if KWARG.search(r) and r not in NETWORK and r not in PUBLIC}
    assert answered == owned  # each answered 404 to a method it takes


def test_no_page_b_sees_shows_a_s_data(routes, world):
    """B's own pages (home, wallet, histories, ratings, coins, claims, privacy, the export) and
    the network's pages with A's merchant: none shows anything of A's."""
    b = as_customer(world.b)
    wrong = {}
    plain = [r for r in routes if not KWARG.search(r) and r not in PUBLIC]
    for route in plain + sorted(NETWORK):  # the network's last: following changes A6's pages
        if route in SESSION_ENDING:
            continue
        target = url(route, world.ids)
        for method in ("GET", "POST"):
            if method == "POST" and route == "app/privacy/close/":
                continue  # an empty form is refused, but the walk does not try to close B
            response = _send(b, method, target)
            text = response.content.decode(errors="replace")
            if response.status_code >= 500:
                wrong[f"{method} {target}"] = response.status_code
            if leaked(text, world):
                wrong[f"{method} {target}"] = f"A's data: {leaked(text, world)}"
    # Now B follows A's merchant: its page shows the merchant's offers, never A's gift offer.
    merchant_id = world.ids["merchant_id"]
    assert b.post(f"/app/merchants/{merchant_id}/favourite/", {"on": "1"}).status_code == 302
    page = b.get(f"/app/prizes/{merchant_id}/")
    assert page.status_code == 200
    if leaked(page.content.decode(), world):
        wrong["following"] = leaked(page.content.decode(), world)
    assert wrong == {}


def test_customer_a_reaches_each_of_a_s_own_pages(routes, world):
    a = as_customer(world.a)
    wrong = {}
    for route in routes:
        if not KWARG.search(route) or route in PUBLIC:
            continue
        target = url(route, world.ids)
        response = a.get(target)
        if response.status_code == 405:
            response = a.post(target, {})
        if response.status_code not in (200, 302):
            wrong[target] = response.status_code
        elif response.status_code == 302 and response["Location"].startswith("/app/signin"):
            wrong[target] = "sent to the sign-in"
    assert wrong == {}


def staff_routes(resolver=None, prefix=""):
    """Every URL pattern of the till, the console and Django's admin."""
    for entry in (resolver or get_resolver()).url_patterns:
        route = prefix + str(entry.pattern)
        if not route.startswith(("cashier/", "console/", "admin/")) and prefix:
            continue
        if isinstance(entry, URLResolver) and route.startswith(("cashier/", "console/", "admin/")):
            yield from staff_routes(entry, route)
        elif isinstance(entry, URLPattern) and prefix:
            yield route


def test_a_customer_session_reaches_no_merchant_page(world):
    """A's app session on every page of the till, the console and the admin: the staff's sign-in
    (or a refusal), never a merchant's page."""
    routes = sorted(set(staff_routes()))
    assert any(r.startswith("cashier/") for r in routes) and any(
        r.startswith("console/") for r in routes
    )
    a = as_customer(world.a)
    ids = {"customer_id": world.a.pk, **world.ids}
    wrong = {}
    for route in routes:
        if "(?P<" in route or route in ("admin/login/", "admin/logout/"):
            continue  # the admin's regex patterns (its index is asked below), its own sign-in
        target = "/" + KWARG.sub(lambda m: str(ids.get(m.group(1), "1")), route)
        response = a.get(target)
        login = response.status_code == 302 and "login" in response["Location"]
        if not (login or response.status_code in (403, 404, 405)):
            wrong[target] = response.status_code
    assert a.get("/admin/").status_code == 302
    assert wrong == {}
