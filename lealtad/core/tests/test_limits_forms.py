"""Issue 16, limits: over-long values in the screens' forms.

- Every form class of the product (found by importing every module, so a new form is covered):
  each text field has a max_length, and a ModelForm's is no longer than its column; one
  character over it is refused by the field (code `max_length`).
- Every till and console screen (as test_screens_bad_input.py walks them) and every page of the
  customer's app whose URL arguments are known, each form filled with 10,000 characters in
  every box and sent: a message, never a 500 (on PostgreSQL a value longer
  than its varchar column raises; on SQLite it would be stored silently)."""

import importlib
import pkgutil

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import get_resolver

import lealtad
from lealtad.core import testing
from lealtad.core.tests.test_screens_bad_input import Forms, screens

# Text fields without a max_length of their own, and why that is safe.
UNBOUNDED = {
    ("SignInForm", "username"): "AuthenticationForm sets User.username's 150 when it is made",
    ("AdminSignInForm", "username"): "the same",
}


def _form_classes() -> list[type]:
    for module in pkgutil.walk_packages(lealtad.__path__, "lealtad."):
        if any(part in module.name for part in (".tests", ".migrations", "wsgi", "testing")):
            continue
        importlib.import_module(module.name)
    found, todo = [], [forms.BaseForm]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if sub.__module__.startswith("lealtad.") and sub not in found:
                found.append(sub)
    return found


def _column(form_class, name):
    model = getattr(getattr(form_class, "_meta", None), "model", None)
    if model is None:
        return None
    try:
        return model._meta.get_field(name)
    except Exception:
        return None


def test_every_form_text_field_has_a_max_length_no_longer_than_its_column():
    classes = _form_classes()
    assert len(classes) > 30
    unbounded, longer, checked = [], [], 0
    for form_class in classes:
        for name, field in form_class.base_fields.items():
            if not isinstance(field, forms.CharField) or isinstance(field, forms.ChoiceField):
                continue
            column = _column(form_class, name)
            if field.max_length is None:
                if isinstance(column, models.TextField):
                    continue  # a text column holds any length; the request size bounds it
                if (form_class.__name__, name) not in UNBOUNDED:
                    unbounded.append(f"{form_class.__module__}.{form_class.__name__}.{name}")
                continue
            if isinstance(column, models.CharField) and field.max_length > column.max_length:
                longer.append((form_class.__name__, name, field.max_length, column.max_length))
            with pytest.raises(ValidationError) as refused:
                field.clean("x" * (field.max_length + 1))
            assert "max_length" in [e.code for e in refused.value.error_list], (form_class, name)
            checked += 1
    assert unbounded == [], f"text fields without max_length: {unbounded}"
    assert longer == []
    assert checked > 100


def test_the_sign_in_forms_take_the_username_column_length(db):
    from lealtad.network.signin import PASSWORD_MAX_LENGTH, AdminSignInForm, SignInForm

    for form_class in (SignInForm, AdminSignInForm):
        form = form_class(data={"username": "u" * 151, "password": "p" * PASSWORD_MAX_LENGTH})
        assert form.fields["username"].max_length == 150
        assert not form.is_valid() and "username" in form.errors
        too_long = form_class(data={"username": "u", "password": "p" * (PASSWORD_MAX_LENGTH + 1)})
        assert not too_long.is_valid() and "password" in too_long.errors


@pytest.fixture
def alice_shop(db):
    return testing.make_merchant("Café Aroma", admin="alice")


def test_ten_thousand_characters_in_any_screen_field_is_a_message_not_a_500(client, alice_shop):
    made = testing.make_customer(alice_shop)
    client.force_login(alice_shop.admin)
    sent = refused = 0
    for url in screens({"customer_id": str(made.customer.pk)}):
        page = client.get(url)
        if page.status_code != 200 or "html" not in page["Content-Type"]:
            continue
        parser = Forms()
        parser.feed(page.content.decode())
        for form in parser.forms:
            action = form["action"] or url
            if "logout" in action or form["method"].lower() != "post":
                continue
            data = {k: ("x" * 10_000 if v == "\x00" else v) for k, v in form["f"].items()}
            response = client.post(action, data)
            assert response.status_code < 500, (url, action)
            sent += 1
            refused += response.status_code in (200, 422)
    print(f"\ntill/console forms sent: {sent}, answered with a message: {refused}")
    assert sent > 10 and refused > 5


def test_ten_thousand_characters_in_any_app_field_is_a_message_not_a_500(client, alice_shop):
    import re

    from lealtad.app.testing import sign_in
    from lealtad.core.tests.test_limits_throttles import _routes

    made = testing.make_customer(alice_shop)
    sign_in(client, made.customer)
    arguments = {"merchant_id": str(alice_shop.merchant.pk)}
    sent = 0
    for route, _name in _routes(get_resolver().url_patterns):
        names = re.findall(r"<(?:\w+:)?(\w+)>", route)
        if not route.startswith("app/") or not all(n in arguments for n in names):
            continue
        url = "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: arguments[m.group(1)], route)
        page = client.get(url)
        if page.status_code != 200 or "html" not in page["Content-Type"]:
            continue
        parser = Forms()
        parser.feed(page.content.decode())
        for form in parser.forms:
            action = form["action"] or url
            if "signout" in action or "close" in action or form["method"].lower() != "post":
                continue
            data = {k: ("x" * 10_000 if v == "\x00" else v) for k, v in form["f"].items()}
            response = client.post(action, data)
            assert response.status_code < 500, (url, action)
            sent += 1
    print(f"\napp forms sent with 10,000 characters: {sent}")
    assert sent >= 3
