"""P7 and K1 in Chromium, keyboard only: "Pagar con puntos" (the quote as typed, too many points
next to the field, the receipt that prints alone) and the coin statement on the card, at the
till's sizes. Waits are locator waits (the CSP forbids string predicates)."""

from decimal import Decimal

import pytest

from lealtad.cashier.tests.test_browser import BROWSER, browser, shot, sign_in  # noqa: F401
from lealtad.coins import actions as coins
from lealtad.coins.tests.test_browser_till_coins import SIZES, wait_until
from lealtad.core import testing
from lealtad.customers.actions import join_merchant
from lealtad.ledger import actions as ledger

pytestmark = BROWSER


@pytest.mark.parametrize("size", ["till", "phone"])
def test_pay_with_points_by_keyboard(browser, live_server, size):  # noqa: F811
    shop = testing.make_merchant("Café Aroma", points_as_money=True, point_money_value=Decimal(10))
    testing.make_cashier(shop, "carol")
    member = testing.make_customer(shop).membership
    ledger.accrue_points(
        merchant=shop.merchant, membership=member, branch=shop.branch, amount=Decimal(500_000)
    )
    width, height = SIZES[size]
    page = browser.new_page(viewport={"width": width, "height": height})
    sign_in(page, live_server.url, "carol")
    page.goto(f"{live_server.url}/cashier/c/{member.customer_id}/")
    page.locator("#pay-points").wait_for()
    assert "1 punto = 10 COP" in page.locator("#points-rate").inner_text()
    page.focus("#id_pp-invoice_number")
    page.keyboard.type("F-55")
    page.keyboard.press("Tab")
    page.keyboard.type("3.005")
    page.keyboard.press("Tab")
    page.keyboard.type("301")
    most = page.locator("#points-most")
    wait_until(lambda: most.count() == 1 and "300" in most.inner_text())
    assert "301 puntos = 3.010 COP" in page.locator("#points-worth").inner_text()
    shot(page, f"points-quote-{size}")
    page.keyboard.press("Enter")
    error = page.locator("#pp-points-error")
    wait_until(lambda: error.count() == 1)
    assert "a lo sumo 300 puntos" in error.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    shot(page, f"points-too-many-{size}")
    # The cursor waits in the field to correct.
    wait_until(lambda: page.evaluate("document.activeElement.id") == "id_pp-points")
    page.keyboard.press("Control+A")
    page.keyboard.type("300")
    page.keyboard.press("Enter")
    receipt = page.locator("#points-receipt")
    receipt.wait_for()
    assert page.locator("#receipt-to-pay").inner_text() == "5 COP"
    assert page.locator("#receipt-balance").inner_text() == "200"
    assert page.locator("#available").inner_text() == "200"
    shot(page, f"points-receipt-{size}")
    page.emulate_media(media="print")
    assert page.locator("#pay-points").is_hidden() or not page.locator("#pay-points").is_visible()
    page.screenshot(path="test-artifacts/cashier-points-receipt-print.png")
    page.emulate_media(media="screen")


def test_the_coin_statement_on_the_card(browser, live_server):  # noqa: F811
    issuer = testing.make_merchant("Café", coin_issuer=True, cashback_rate="0.1")
    acceptor = testing.make_merchant("Librería", coin_acceptor=True)
    testing.make_cashier(acceptor, "lina")
    customer = testing.make_customer(issuer).customer
    join_merchant(customer, acceptor.merchant, acceptor.branch)
    for n in range(7):
        coins.earn_coins(
            merchant=issuer.merchant, customer=customer, amount=Decimal(1000 * (n + 1)),
            invoice_number=f"C-{n}",
        )  # fmt: skip
    coins.pay_with_coins(merchant=acceptor.merchant, customer=customer, coins=500)
    page = browser.new_page(viewport={"width": 1024, "height": 600})
    sign_in(page, live_server.url, "lina")
    page.goto(f"{live_server.url}/cashier/c/{customer.pk}/")
    moves = page.locator("#coin-moves")
    moves.wait_for()
    assert moves.locator("tbody tr").count() == 5
    assert "Pagado con monedas" in moves.locator("tbody tr").first.inner_text()
    assert "C-6" not in moves.inner_text()  # another merchant's invoice stays with it
    moves.scroll_into_view_if_needed()
    shot(page, "coin-statement-card")
    page.focus("#coin-statement-all")
    page.keyboard.press("Enter")
    page.wait_for_url("**/coins/")
    assert page.locator("#coin-statement tbody tr").count() == 8
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024
    shot(page, "coin-statement-page")
