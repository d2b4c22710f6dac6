"""The till's "Acumular monedas" form in Chromium at the three window sizes tills have: it fits
the window, its rate reads in words, a cashier types invoice and amount and sees the coins; a
repeated invoice is a message next to the invoice field. Waits are locator waits (the CSP
forbids eval, so no string predicates)."""

import time

import pytest

from lealtad.cashier.tests.test_browser import BROWSER, browser, shot, sign_in  # noqa: F401
from lealtad.core import testing

pytestmark = BROWSER

SIZES = {"desktop": (1366, 768), "till": (1024, 600), "phone": (390, 844)}


def wait_until(predicate, timeout=10.0):
    """Poll a Python predicate (locators, not page-side strings)."""
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


@pytest.mark.parametrize("size", list(SIZES))
def test_the_coin_form_at_the_till(browser, live_server, size):  # noqa: F811
    shop = testing.make_merchant("Café Aroma", coin_issuer=True, cashback_rate="0.03")
    testing.make_cashier(shop, "carol")
    member = testing.make_customer(shop)
    width, height = SIZES[size]
    page = browser.new_page(viewport={"width": width, "height": height})
    sign_in(page, live_server.url, "carol")
    page.goto(f"{live_server.url}/cashier/c/{member.customer.pk}/")
    form = page.locator("#coins-earn")
    form.wait_for()
    assert page.locator("#coin-rate").inner_text() == "3 monedas por cada 100 COP"
    page.locator("#coins-earn").scroll_into_view_if_needed()
    page.fill("#id_coins-invoice_number", "F-100")
    page.fill("#id_coins-amount", "25.000")
    button = page.locator("#coins-earn button")
    box = button.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, box
    button.click()
    page.locator("#coins-earned").wait_for()
    assert "+750 monedas" in page.locator("#coins-earned").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    shot(page, f"coins-earned-{size}")
    page.fill("#id_coins-invoice_number", "f-100")
    page.fill("#id_coins-amount", "25.000")
    page.locator("#coins-earn button").click()
    error = page.locator("#coins-invoice-error")
    wait_until(lambda: error.count() == 1)
    assert "f-100" in error.inner_text()
    assert page.get_attribute("#id_coins-invoice_number", "aria-invalid") == "true"
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    shot(page, f"coins-duplicate-{size}")
