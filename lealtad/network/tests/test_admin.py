"""The operator's admin goes through the same actions and checks as the till and the console:
an API key made there works (its secret shown once), nothing typed there is a 500."""

import re

import pytest
from django.contrib import admin
from django.test import Client

from lealtad.core import testing
from lealtad.network.models import ApiKey, Branch, Merchant, User

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator():
    client = Client()
    client.force_login(User.objects.create_superuser("op", "op@example.com", testing.PASSWORD))
    return client


def shown_secret(response) -> str:
    found = re.search(rb'<code id="secret"[^>]*>(lpk_[^<]+)</code>', response.content)
    assert found, response.content[:2000]
    return found.group(1).decode()


def api_works(secret: str) -> int:
    return Client().get("/api/v1/customers?q=1", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code


def test_an_api_key_added_in_the_admin_works_and_its_secret_is_shown_once(operator):
    shop = testing.make_merchant()
    url = "/admin/network/apikey/add/"
    data = {"merchant": shop.merchant.pk, "branch": shop.branch.pk, "name": "Caja 2"}
    first = operator.post(url, data)
    assert first.status_code == 200 and "no-store" in first["Cache-Control"]
    secret = shown_secret(first)
    assert api_works(secret) == 200
    # A second one is a second working key, not a 500 on the unique hash.
    second = operator.post(url, {**data, "name": "Caja 3"})
    assert second.status_code == 200
    assert api_works(shown_secret(second)) == 200
    key = ApiKey.objects.get(name="Caja 2")
    assert key.prefix == secret[:10] and key.key_hash == ApiKey.hash(secret)
    # Never again: the change page shows no secret and no hash.
    page = operator.get(f"/admin/network/apikey/{key.pk}/change/")
    assert page.status_code == 200
    assert secret.encode() not in page.content and key.key_hash.encode() not in page.content


def test_an_api_key_for_another_merchants_branch_is_refused(operator):
    shop, other = testing.make_merchant(), testing.make_merchant()
    response = operator.post(
        "/admin/network/apikey/add/",
        {"merchant": shop.merchant.pk, "branch": other.branch.pk, "name": "POS"},
    )
    assert response.status_code == 200
    assert "No es una sucursal de este comercio." in response.content.decode()
    assert not ApiKey.objects.filter(merchant=shop.merchant, branch=other.branch).exists()


def test_a_revoked_key_stays_revoked_when_its_name_is_changed(operator):
    shop = testing.make_merchant()
    key = ApiKey.objects.get(merchant=shop.merchant)
    changelist = "/admin/network/apikey/"
    operator.post(changelist, {"action": "revoke", "_selected_action": [key.pk]})
    assert api_works(shop.api_key) == 401
    response = operator.post(f"/admin/network/apikey/{key.pk}/change/", {"name": "Vieja"})
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.name == "Vieja" and key.revoked_at is not None
    assert api_works(shop.api_key) == 401


def test_a_merchant_added_in_the_admin_has_a_working_program(operator):
    response = operator.post(
        "/admin/network/merchant/add/",
        {
            "name": "Farmacia Sol",
            "country": "CO",
            "currency": "",
            "point_value": "500",
            "branch_name": "Centro",
            "admin_username": "sol_admin",
            "admin_password": "una-clave-larga-9",
        },
    )
    assert response.status_code == 200, response.content[:3000]
    merchant = Merchant.objects.get(name="Farmacia Sol")
    assert merchant.currency == "COP" and merchant.categories.filter(is_default=True).exists()
    assert Branch.objects.filter(merchant=merchant, name="Centro").exists()
    assert User.objects.get(username="sol_admin").merchant == merchant
    assert api_works(shown_secret(response)) == 200
    # The same admin username again is a message next to the field.
    again = operator.post(
        "/admin/network/merchant/add/",
        {
            "name": "Farmacia Luna",
            "country": "CO",
            "point_value": "500",
            "branch_name": "Centro",
            "admin_username": "sol_admin",
            "admin_password": "una-clave-larga-9",
        },
    )
    assert again.status_code == 200 and not Merchant.objects.filter(name="Farmacia Luna").exists()
    assert b"errorlist" in again.content


def test_staff_work_at_a_branch_of_their_own_merchant(operator):
    shop, other = testing.make_merchant(), testing.make_merchant()
    cashier = testing.make_cashier(shop)
    response = operator.post(
        f"/admin/network/user/{cashier.pk}/change/",
        {
            "username": cashier.username,
            "role": "cashier",
            "merchant": shop.merchant.pk,
            "branch": other.branch.pk,
            "is_active": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "10:00:00",
        },
    )
    assert response.status_code == 200
    assert "No es una sucursal de este comercio." in response.content.decode()
    cashier.refresh_from_db()
    assert cashier.branch == shop.branch


def registered_admins():
    return sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


@pytest.mark.parametrize(
    "model", [model for model, _admin in registered_admins()], ids=lambda m: m._meta.label
)
def test_no_admin_page_is_a_500_for_empty_or_garbage_input(operator, model):
    testing.make_customer(testing.make_merchant())
    opts = model._meta
    base = f"/admin/{opts.app_label}/{opts.model_name}/"
    assert operator.get(base).status_code == 200
    add = operator.get(base + "add/")
    assert add.status_code in (200, 403)
    if add.status_code == 200:
        for data in ({}, {"name": "\x00", "country": "ZZ", "email": "no"}):
            assert operator.post(base + "add/", data).status_code in (200, 400)
    obj = model._default_manager.first()
    if obj is not None:
        change = operator.get(f"{base}{obj.pk}/change/")
        assert change.status_code == 200
        assert operator.post(f"{base}{obj.pk}/change/", {}).status_code in (200, 302, 403)


def test_a_cashier_added_without_a_branch_works_at_the_merchants_first(operator):
    shop = testing.make_merchant()
    response = operator.post(
        "/admin/network/user/add/",
        {
            "username": "nuevo_cajero",
            "password1": "una-clave-larga-9",
            "password2": "una-clave-larga-9",
            "usable_password": "true",
            "role": "cashier",
            "merchant": shop.merchant.pk,
            "branch": "",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert User.objects.get(username="nuevo_cajero").branch == shop.branch
