"""A8 in a real browser (Debian's Chromium, Playwright) at a phone's size, in Spanish: the customer
asks a partner to convert points (the error next to the field first), the partner confirms
through its API, the coins reach the wallet. Screenshots in /tmp/shots-conversion/."""

from decimal import Decimal
from pathlib import Path

from playwright.sync_api import expect

from lealtad.api.tests.conftest import Api
from lealtad.app.actions import open_session
from lealtad.app.auth import COOKIE
from lealtad.app.tests import phone as phones
from lealtad.app.tests.phone import phone  # noqa: F401 (a fixture)
from lealtad.cashier.tests.test_browser import BROWSER
from lealtad.coins import partners
from lealtad.coins.models import ConversionRequest
from lealtad.core import testing

pytestmark = BROWSER
SHOTS = Path("/tmp/shots-conversion")


def shot(page, name):
    phones.shot(page, SHOTS, name)


def test_ask_a_partner_to_convert_and_see_the_coins_arrive(phone, live_server):  # noqa: F811
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
