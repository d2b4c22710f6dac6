"""The operator's settlement statement and donation report in Chromium, keyboard only: sign in
to the admin, pick a month, read the merchants' lines and the network's, find the CSV link.
Screenshots in test-artifacts/ (looked at)."""

import pytest

from lealtad.cashier.tests.test_browser import ARTIFACTS, BROWSER, browser  # noqa: F401
from lealtad.coins.tests.test_settlement import history
from lealtad.core import testing
from lealtad.network.models import User

pytestmark = BROWSER


@pytest.fixture
def network(db):
    from lealtad.coins import causes, partners

    cafe = testing.make_merchant("Café", coin_issuer=True, cashback_rate="0.03")
    bakery = testing.make_merchant("Panadería", coin_issuer=True, cashback_rate="0.1")
    books = testing.make_merchant("Librería", coin_acceptor=True)
    bank = partners.create_partner("Banco Andino", "0.5")
    school = causes.create_cause("Escuela Rural")
    return cafe, bakery, books, bank, school


def sign_in_operator(page, base):
    User.objects.create_superuser("op", "op@example.com", testing.PASSWORD)
    page.goto(f"{base}/admin/login/")
    page.keyboard.type("op")
    page.keyboard.press("Tab")
    page.keyboard.type(testing.PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/admin/")


def test_the_operator_reads_february_keyboard_only(browser, live_server, network):  # noqa: F811
    history(network)
    page = browser.new_page(viewport={"width": 1366, "height": 768}, locale="es-CO")
    sign_in_operator(page, live_server.url)
    assert page.get_by_role("link", name="Estados de liquidación").count() == 1
    page.goto(f"{live_server.url}/admin/coins/settlement/")
    page.locator("#id_month").focus()
    page.keyboard.type("022026")  # Chromium's month field: month, then year
    page.keyboard.press("Enter")
    page.wait_for_url("**month=2026-02")
    bakery = page.locator("#merchants tr", has_text="Panadería")
    assert "1.000" in bakery.inner_text() and "paga la red" in bakery.inner_text()
    network_table = page.locator("#network").inner_text()
    assert "Convertidas de Banco Andino" in network_table
    assert page.locator("#reconciles").inner_text() == "El estado cuadra con el libro contable."
    assert "format=csv" in page.locator("#csv").get_attribute("href")
    page.screenshot(path=str(ARTIFACTS / "admin-settlement.png"), full_page=True)
    page.goto(f"{live_server.url}/admin/coins/cause/report/")
    assert "Escuela Rural" in page.locator("#donations").inner_text()
    page.screenshot(path=str(ARTIFACTS / "admin-donations.png"), full_page=True)
