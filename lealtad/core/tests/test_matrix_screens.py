"""Issue 16: the screens' tenancy and roles matrix. Every URL pattern of the till (/cashier/), the
console (/console/), the sign-in and sign-up, the rating links and every model page of the
operator's admin site is opened by every kind of signed-in person of the world
(lealtad/core/tests/matrix.py), with merchant A's ids in the URL. The customer's app (/app/) is
issue 14's (lealtad/app/tests/test_boundary_screens.py, which also opens every page here with a
customer's session). The product's contract for screens, read from the code and written down:

- signed out: the till and the console send to the staff's sign-in (/login/?next=…), the admin
  site to its own (/admin/login/?next=…);
- the till ("staff"): a merchant's admin or cashier; the operator is sent to the admin site
  (/admin/), having no merchant;
- the console ("admin"): a merchant's admin only; anyone else signed in — A's own cashier, the
  operator — gets 404: a cashier does not learn that the console exists (console/views.py), so
  the screens' answer to the wrong role is 404, where the API's is 403 `forbidden`;
- the admin site ("operator"): the operator only; a merchant's staff is sent to its sign-in;
- merchant B's admin and cashier asking for any of A's objects (GET and POST): 404, never 200, a
  redirect or a 500 — except a customer of the network, whom any till may look up and enrol
  (N2: `cashier/open/<customer_id>/` shows the masked card);
- A's own admin and cashier reach every page their role may (not 403/404, not a sign-in);
- never a 5xx, and no page B's staff see holds any of A's names, documents, invoice numbers or
  ids (scanned as text).

ROWS says who may use each pattern; a pattern without a row (a new screen) fails the test, and so
does a row without its pattern.
"""

import re

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from lealtad.core.tests.matrix import build, leaked

pytestmark = pytest.mark.django_db

PUBLIC, STAFF, ADMIN, LINK = "public", "staff", "admin", "signed link"
SIGNED_IN = "signed in"  # any staff, the operator too: their own password (S1)
ADMIN_OR_OPERATOR = "admin or operator"
ROWS = {
    "cashier/password/": SIGNED_IN,
    "": PUBLIC,
    "healthz": PUBLIC,
    "favicon.ico": PUBLIC,
    "login/": PUBLIC,
    "logout/": PUBLIC,
    "i18n/setlang/": PUBLIC,
    "signup/": PUBLIC,
    "rate/<str:token>/": LINK,
    "rate/<str:token>/answer/": LINK,
    # The audit trail: a merchant admin's own merchant's, the operator's the whole network's.
    "console/audit/": ADMIN_OR_OPERATOR,
}
# Every page of the till is the staff's, every page of the console the admin's: no exception.
PREFIX_ROWS = {"cashier/": STAFF, "console/": ADMIN}
# URL kwargs whose object is the network's, not a merchant's (N2), and the pattern's reason.
NETWORK = {"cashier/open/<str:customer_id>/": "the masked card of a customer of the network"}
# POST-only pages whose form names an object (an empty one names none: 404), and which.
FORM_NAMES_OBJECT = {"console/customers/join/": "customer_id"}
# What B's forms send, filled in as their owner would: on A's objects still 404, changing nothing.
PLAUSIBLE = {"reason": "matriz", "body": "Hola", "note": "matriz", "on": "1", "action": "resend"}
# The kwargs' values, beyond A's ids: what the URL needs that is not an object.
EXTRA = {"fmt": "json", "token": "not-a-signed-link"}
# The coin promotion's id where the route is a coin promotion's.
COIN = ("coin-promotions/",)
KWARG = re.compile(r"<(?:\w+:)?(\w+)>")
SKIPPED = ("media/", "api/", "app/", "admin/")


def routes(resolver=None, prefix=""):
    for entry in (resolver or get_resolver()).url_patterns:
        route = prefix + str(entry.pattern)
        if route.startswith(SKIPPED) or route.startswith("^"):
            continue
        if isinstance(entry, URLResolver):
            yield from routes(entry, route)
        elif isinstance(entry, URLPattern):
            yield route


def row(route: str) -> str | None:
    if route in ROWS:
        return ROWS[route]
    return next((who for p, who in PREFIX_ROWS.items() if route.startswith(p)), None)


def url(route: str, ids: dict) -> str:
    ids = {**ids, "payment_id": ids["coin_payment_id"]}  # the till's payments are coin payments
    if any(c in route for c in COIN):
        ids = {**ids, "promotion_id": ids["coin_promotion_id"]}
    return "/" + KWARG.sub(lambda m: str({**EXTRA, **ids}[m.group(1)]), route)


def admin_pages():
    """The operator's screens: the admin site's index, each model's list and, where the model
    has a row, its first row's page."""
    yield "/admin/", False
    for model in admin.site._registry:
        meta = model._meta
        yield reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"), False
        first = model._default_manager.order_by("pk").values_list("pk", flat=True).first()
        if first is not None:
            yield reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[first]), True


def secrets(matrix) -> list[str]:
    """What no screen shows, not even the operator's: every credential's secret and stored hash
    (shown once, when made), the webhooks' signing secrets, the one-time codes' hashes."""
    from lealtad.app.models import CustomerSession, SignInCode
    from lealtad.coins.models import OneTimeCode, PartnerKey
    from lealtad.customers.models import IdentityChange
    from lealtad.network.models import ApiKey, StaffToken
    from lealtad.webhooks.models import Endpoint

    found = [t for t in matrix.tokens.values() if t and len(t) > 20]
    for model, name in (
        (ApiKey, "key_hash"),
        (StaffToken, "key_hash"),
        (PartnerKey, "key_hash"),
        (CustomerSession, "token_hash"),
        (SignInCode, "code_hash"),
        (OneTimeCode, "code_hash"),
        (IdentityChange, "code_hash"),
        (Endpoint, "secret"),
    ):
        found += [v for v in model.objects.values_list(name, flat=True) if v]
    assert len(found) > 15
    return found


@pytest.fixture
def found():
    every = sorted(set(routes()))
    assert len(every) > 100 and "console/" in every and "cashier/" in every
    return every


def test_every_pattern_has_a_row(found):
    missing = [r for r in found if row(r) is None]
    assert missing == [], f"URL patterns without a row in ROWS (who may open them): {missing}"
    assert sorted(set(ROWS) - set(found)) == [], "rows without their pattern"
    ids = {
        "customer_id", "reward_id", "remote_id", "promotion_id", "offer_id", "payment_id",
        "invoice_id", "user_id", "key_id", "endpoint_id", "delivery_id", "branch_id", "gift_id",
        "category_id", "transaction_id", "claim_id", "rating_id", "fmt", "token",
    }  # fmt: skip
    unknown = {r for r in found if not set(KWARG.findall(r)) <= ids}
    assert unknown == set(), "a new URL kwarg: add its object to the world (matrix.py)"


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _deactivated(matrix):
    """A cashier of A's, signed in and then deactivated by the admin: their session is over."""
    from lealtad.core import testing

    user = testing.make_cashier(matrix.a.shop, "cajero-a-baja")
    client = _signed_in(user)
    type(user).objects.filter(pk=user.pk).update(is_active=False)
    return client


def _sign_in_of(route: str) -> str:
    return "/admin/login/?next=" if route.startswith("/admin/") else "/login/?next="


def expected(who: str, cred: str, route: str):
    """The contract's answer: a status, ("to", where) for a redirect, or "allowed"."""
    if who in (PUBLIC, LINK):
        return "allowed"
    if cred in ("nobody", "inactive"):
        return ("to", _sign_in_of("/" + route))
    if who == SIGNED_IN:
        return "allowed"
    if who == STAFF and cred == "operator":
        return ("to", "/admin/")
    if who == ADMIN and cred in ("operator", "a_cashier", "b_cashier"):
        return 404
    if who == ADMIN_OR_OPERATOR and cred in ("a_cashier", "b_cashier"):
        return 404
    if cred.startswith("b_") and KWARG.search(route) and route not in NETWORK:
        return 404
    return "allowed"


def _wrong(response, want, cred, matrix, route, of="a"):
    """What is wrong with the answer, or None; `cred` named as the owner of the ids (`of`) sees
    it: "a_…" its own staff, "b_…" the other merchant's."""
    status = response.status_code
    if status >= 500:
        return status
    body = b"".join(response.streaming_content) if response.streaming else response.content
    text = body.decode(errors="replace")
    found = [] if cred.startswith("a_") or cred == "operator" else leaked(text, matrix, of)
    if route in NETWORK or route == "cashier/search/":
        # The network's masked card (N2: id and name), and the document B typed in the search.
        owner = matrix.a if of == "a" else matrix.b
        card = (owner.ids["customer_id"], owner.customer.first_name, owner.customer.document_number)
        found = [m for m in found if m not in card]
    if found:
        return f"{status} shows A's {found}"
    location = response.get("Location", "")
    if want == "allowed":
        if status == 404 and route in FORM_NAMES_OBJECT:
            return None
        if status in (403, 404) or "login/" in location:
            return (status, location)
        return None
    if isinstance(want, tuple):
        return None if status == 302 and location.startswith(want[1]) else (status, location)
    return None if status == want else (status, location)


def test_every_screen_with_every_person(found, settings, tmp_path):
    matrix = build(settings, tmp_path)
    people = {
        "nobody": Client(),
        "a_admin": _signed_in(matrix.a.shop.admin),
        "a_cashier": _signed_in(matrix.a.cashier),
        "b_admin": _signed_in(matrix.b.shop.admin),
        "b_cashier": _signed_in(matrix.b.cashier),
        "operator": _signed_in(matrix.operator),
        "inactive": _deactivated(matrix),  # the screens' expired credential
    }
    wrong, sent = {}, 0
    for route in found:
        who = row(route)
        if route == "logout/":
            continue  # signs the walker out; it needs nobody (PUBLIC)
        for cred, client in people.items():
            want = expected(who, cred, route)
            ids = matrix.a.ids
            if route in NETWORK and cred.startswith("b_"):
                ids = {**ids, "customer_id": str(matrix.b.customer.pk)}
            target = url(route, ids)
            if route == "cashier/search/":
                target += f"?q={matrix.a.customer.document_number}"
            methods = [("GET", None)]
            if want == 404:  # a filled-in form is refused too, and changes nothing
                methods.append(("POST", PLAUSIBLE))
            elif want != "allowed" or cred.startswith("b_"):
                methods.append(("POST", {}))  # a refusal refuses a form too
            for method, data in methods:
                send = client.get if method == "GET" else client.post
                response = send(target, data) if data else send(target)
                sent += 1
                if response.status_code == 405:
                    continue  # not this page's method: nothing answered
                if problem := _wrong(response, want, cred, matrix, route):
                    wrong[f"{cred} {method} {target}"] = problem
    # The other way round: A's admin and cashier on each of B's objects (404, nothing of B's).
    for route in found:
        if not KWARG.search(route) or route in NETWORK or row(route) in (PUBLIC, LINK):
            continue
        for cred in ("a_admin", "a_cashier"):
            seen_as = "b_" + cred.removeprefix("a_")
            target = url(route, matrix.b.ids)
            for data in (None, PLAUSIBLE):
                client = people[cred]
                response = client.get(target) if data is None else client.post(target, data)
                sent += 1
                if response.status_code == 405:
                    continue
                if problem := _wrong(response, 404, seen_as, matrix, route, of="b"):
                    wrong[f"{cred} {'GET' if data is None else 'POST'} {target} (B's)"] = problem
    hidden = secrets(matrix)
    pages = list(admin_pages())
    for target, object_page in pages:
        for cred, client in people.items():
            if object_page and cred not in ("operator", "nobody", "inactive", "a_admin"):
                continue  # one refused merchant's staff is enough on a row's page
            response = client.get(target)
            sent += 1
            if cred == "operator":
                ok = response.status_code == 200
                if shown := [h for h in hidden if h in response.content.decode()]:
                    wrong[f"operator GET {target}"] = f"shows a secret: {shown[0][:12]}…"
            else:
                ok = response.status_code == 302 and response["Location"].startswith(
                    "/admin/login/?next="
                )
            if not ok:
                wrong[f"{cred} GET {target}"] = (response.status_code, response.get("Location"))
    print(f"matrix: {len(found)} patterns, {len(pages)} admin pages, {len(people)} people, {sent}")
    assert wrong == {}, "\n".join(f"{k}: {v}" for k, v in wrong.items())
    assert sent > 800
