"""Every screen of the product, enumerated from the URL configuration (so a new screen joins the
walks by itself), with the client each needs: the console's as the merchant's admin, the till's
as its cashier, the app's as the customer, the rest signed out. Used by issue 16's walks
(lealtad/core/tests/test_browser_xss.py, lealtad/core/tests/test_headers_every_page.py)."""

import re

from django.urls import URLPattern, URLResolver, get_resolver

KWARG = re.compile(r"<(?:\w+:)?(\w+)>")
# Whole areas with walks of their own: Django's admin (Django's templates) and the JSON API.
ELSEWHERE = ("admin/", "api/v1/", "^media/")
# Screens a GET would end the walking session on, or that are no page of ours.
NOT_WALKED = {
    "logout/": "signs the staff member out",
    "app/signout/": "signs the customer out",
    "app/account/signout-everywhere/": "ends every session of the customer",
    "i18n/setlang/": "Django's language switch (a POST that redirects)",
}
# URL kwargs the walk has no object for, with the reason.
UNFILLED = {
    "payment_id": "a coin payment waiting for its code lives 10 minutes; its screen shows the "
    "customer's name and the invoice number, walked on the customer's page",
    "remote_id": "a remote redemption waiting for the customer; same fields as the customer page",
    "key_id": "only a POST (revoke) takes an API key's id",
    "delivery_id": "only a POST (redeliver) takes a delivery's id",
    "fmt": "the customer's data export is a download, not a page",
}


def routes(resolver=None, prefix=""):
    """Every URL pattern outside ELSEWHERE, as routes ("console/customers/<str:customer_id>/")."""
    for entry in (resolver or get_resolver()).url_patterns:
        route = prefix + str(entry.pattern)
        if route.startswith(ELSEWHERE):
            continue
        if isinstance(entry, URLResolver):
            yield from routes(entry, route)
        elif isinstance(entry, URLPattern):
            yield route


def area(route: str) -> str:
    """Who opens the screen: admin (console), cashier (till), customer (app), or anyone."""
    for prefix, who in (("console/", "admin"), ("cashier/", "cashier"), ("app/", "customer")):
        if route.startswith(prefix):
            return who
    return "anyone"


def fill(route: str, ids: dict) -> str | None:
    """The route's URL with this world's ids; None when a kwarg is in UNFILLED. A kwarg the
    world does not know raises KeyError: add its object to the world or to UNFILLED."""
    names = KWARG.findall(route)
    if any(name in UNFILLED for name in names):
        return None

    def value(match):
        name = match.group(1)
        if name == "promotion_id" and "coin" in route:
            name = "coin_promotion_id"
        if ids[name] is None:
            raise KeyError(f"{route}: the world has no {name}")
        return str(ids[name])

    return "/" + KWARG.sub(value, route)


def walk(ids: dict):
    """(route, url, who) for every walked screen."""
    found = sorted(set(routes()))
    assert len(found) > 100 and "console/customers/<str:customer_id>/" in found
    for route in found:
        if route in NOT_WALKED:
            continue
        url = fill(route, ids)
        if url is not None:
            yield route, url, area(route)


def admin_screens() -> list[str]:
    """The operator's admin: for every registered model with an object whose typed text holds
    a payload (issue 16's world), its list and that object's change page."""
    from django.contrib import admin
    from django.db import models
    from django.urls import reverse

    urls = []
    for model in sorted(admin.site._registry, key=lambda m: m._meta.label):
        name = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        texts = [
            f.name
            for f in model._meta.get_fields()
            if isinstance(f, (models.CharField, models.TextField)) and f.concrete
        ]
        for text in texts:
            found = model._default_manager.filter(**{f"{text}__contains": "__xss"}).first()
            if found is not None:
                urls.append(reverse(f"{name}_changelist"))
                urls.append(reverse(f"{name}_change", args=[found.pk]))
                break
    assert len(urls) >= 20, urls
    return urls
