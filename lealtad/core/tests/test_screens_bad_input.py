"""A NUL typed (or pasted, or scanned) into any field of any till or console screen is a message
next to the field (Django's CharField refuses NUL), never a 500. Walks every screen whose URL
arguments are known, fills every form on it with NUL and sends it; new screens are covered by
being in the URLconf. Meaningful on PostgreSQL, which refuses NUL in text."""

import re
from html.parser import HTMLParser

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from lealtad.core import testing

pytestmark = pytest.mark.django_db


class Forms(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append(
                {"action": attrs.get("action") or "", "method": attrs.get("method", "get"), "f": {}}
            )
        elif tag in ("input", "select", "textarea") and self.forms and attrs.get("name"):
            if attrs.get("type") not in ("file", "submit", "hidden"):
                self.forms[-1]["f"][attrs["name"]] = "\x00"
            elif attrs.get("type") == "hidden":
                self.forms[-1]["f"][attrs["name"]] = attrs.get("value", "")


def screens(arguments, namespaces=("cashier", "console")):
    """Every screen whose URL arguments are all known (a customer's pages take its id)."""
    for top in get_resolver().url_patterns:
        if isinstance(top, URLResolver) and top.namespace in namespaces:
            for pattern in top.url_patterns:
                if not isinstance(pattern, URLPattern):
                    continue
                route = str(pattern.pattern).lstrip("^").rstrip("$")
                names = re.findall(r"<(?:\w+:)?(\w+)>", route)
                if all(name in arguments for name in names):
                    for name in names:
                        route = re.sub(rf"<(?:\w+:)?{name}>", arguments[name], route)
                    yield f"/{top.pattern}{route}"


@pytest.fixture
def alice_shop(db):
    return testing.make_merchant("Café Aroma", admin="alice")


def test_nul_in_any_screen_field_is_a_message_not_a_500(client, alice_shop):
    made = testing.make_customer(alice_shop)
    client.force_login(alice_shop.admin)
    sent = 0
    for url in screens({"customer_id": str(made.customer.pk)}):
        page = client.get(url)
        assert page.status_code < 500, url
        client.get(url, {"q": "80\x00", "day": "\x00", "status": "\x00", "page": "\x00"})
        if page.status_code != 200 or "html" not in page["Content-Type"]:
            continue
        parser = Forms()
        parser.feed(page.content.decode())
        for form in parser.forms:
            action = form["action"] or url
            if "logout" in action:
                continue
            send = client.post if form["method"].lower() == "post" else client.get
            response = send(action, form["f"])
            assert response.status_code < 500, (url, action, form["f"])
            sent += 1
    assert sent > 10
