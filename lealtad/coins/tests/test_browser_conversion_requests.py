"""A8 in a real browser (Debian's Chromium, Playwright) at a phone's size, in Spanish: the customer
asks a partner to convert points (the error next to the field first), the partner confirms
through its API, the coins reach the wallet. Screenshots in /tmp/shots-conversion/."""

from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from lealtad.api.tests.conftest import Api
from lealtad.app.actions import open_session
from lealtad.app.auth import COOKIE
from lealtad.cashier.tests.test_browser import ARGS, BROWSER, CHROMIUM
from lealtad.coins import partners
from lealtad.coins.models import ConversionRequest
from lealtad.core import testing

pytestmark = BROWSER
SHOTS = Path("/tmp/shots-conversion")


def shot(page, name):
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def phone(monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(**p.devices["Pixel 5"], locale="es-CO")
        yield context
        context.close()
        browser.close()


def test_ask_a_partner_to_convert_and_see_the_coins_arrive(phone, live_server):
    bank = partners.create_partner("Davipuntos", Decimal("0.25"))
    bank.app_conversion = True
    bank.save()
    bank_api = Api(partners.issue_partner_key(bank)[1])
    customer = testing.make_customer(testing.make_merchant("Café Aroma")).customer
    base = live_server.url
    _session, token = open_session(customer, user_agent="browser test")
    phone.add_cookies(
        [
            {"name": COOKIE, "value": token, "url": base},
            {"name": "django_language", "value": "es", "url": base},
        ]
    )
    page = phone.new_page()
    page.goto(f"{base}/app/coins/")
    expect(page.locator("#convert-title")).to_have_text("Convertir puntos aquí")
    page.select_option("#partner", str(bank.pk))
    page.fill("#partner_points", "2")
    page.click("#partners button.button")
    expect(page.locator("#partner_points-error")).to_contain_text("menos de una moneda")
    shot(page, "01-convert-error")
    page.fill("#partner_points", "1000")
    page.click("#partners button.button")
    expect(page.locator("[role=status]")).to_contain_text("Su solicitud fue enviada")
    expect(page.locator("[data-request=pending]")).to_contain_text("Esperando al programa aliado")
    shot(page, "02-request-pending")
    request = ConversionRequest.objects.get()
    assert bank_api.post(f"/partner/conversion-requests/{request.pk}/confirm").status_code == 201
    page.goto(f"{base}/app/coins/")
    expect(page.locator("[data-available]")).to_have_text("250")
    expect(page.locator("[data-request=converted]")).to_contain_text("Convertida en monedas")
    shot(page, "03-converted")
