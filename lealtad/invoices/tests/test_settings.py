"""I2 / I3: the merchant's invoice settings on the console's Program screen."""

import pytest
from django.test import Client

from lealtad.core import testing

pytestmark = pytest.mark.django_db

BASE = {"point_value": "1000", "points_validity_days": "365", "welcome_bonus_points": "0"}


def console_for(shop):
    client = Client()
    client.force_login(shop.admin)
    return client


def test_the_invoice_settings_are_saved(db):
    shop = testing.make_merchant()
    body = {
        **BASE,
        "invoice_earns": "points",
        "invoice_wait_days": "3",
        "invoice_load_confirm": "on",
    }
    response = console_for(shop).post("/console/program/", body)
    assert response.status_code == 302
    shop.merchant.refresh_from_db()
    assert (shop.merchant.invoice_wait_days, shop.merchant.invoice_load_confirm) == (3, True)


@pytest.mark.parametrize("days", ["0", "91", "tres"])
def test_a_wait_outside_1_to_90_days_is_refused_next_to_the_field(days):
    shop = testing.make_merchant()
    body = {**BASE, "invoice_earns": "points", "invoice_wait_days": days}
    page = console_for(shop).post("/console/program/", body).content.decode()
    assert 'id="invoice_wait_days-error"' in page
    shop.merchant.refresh_from_db()
    assert shop.merchant.invoice_wait_days == 7


def test_coins_only_for_a_coin_issuer_with_the_message_in_spanish():
    shop = testing.make_merchant()
    body = {**BASE, "invoice_earns": "coins", "invoice_wait_days": "7"}
    page = console_for(shop).post("/console/program/", body).content.decode()
    error = page[page.index('id="invoice_earns-error"') :][:300]
    assert "monedas" in error
    shop.merchant.refresh_from_db()
    assert shop.merchant.invoice_earns == "points"
    issuer = testing.make_merchant(coin_issuer=True, cashback_rate="0.03")
    assert console_for(issuer).post("/console/program/", body).status_code == 302
    issuer.merchant.refresh_from_db()
    assert issuer.merchant.invoice_earns == "coins"


def test_the_section_is_labelled_in_spanish_and_portuguese():
    shop = testing.make_merchant()
    client = console_for(shop)
    es = client.get("/console/program/").content.decode()  # Spanish by default
    assert "Facturas del punto de venta" in es and "Días que una factura espera" in es
    assert "Days an invoice waits" not in es and "point of sale" not in es
    client.cookies["django_language"] = "pt-br"
    pt = client.get("/console/program/").content.decode()
    assert "Faturas do ponto de venda" in pt and "Dias que uma fatura espera" in pt
    assert "Days an invoice waits" not in pt
