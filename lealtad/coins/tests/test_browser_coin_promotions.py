"""R3 at the till in Chromium at 1024×600: "Promociones con monedas" on an acceptor's customer
card, the affordable ones highlighted, the others with the coins missing; reached with the
keyboard alone (Tab to the promotion, Enter opens the confirm step, Esc closes it)."""

import pytest

from lealtad.cashier.tests.test_browser import BROWSER, browser, shot, sign_in  # noqa: F401
from lealtad.coins.tests.promo_helpers import acceptor, customer_with_coins, promotion
from lealtad.coins.tests.test_browser_till_coins import wait_until
from lealtad.core import testing

pytestmark = BROWSER

FOCUSED = "document.activeElement.closest('[data-coin-promotion]')?.dataset.coinPromotion || ''"


@pytest.mark.parametrize(("width", "height"), [(1024, 600), (390, 844)])
def test_the_till_lists_coin_promotions_and_the_keyboard_reaches_them(
    browser,  # noqa: F811
    live_server,
    width,
    height,
):
    shop = acceptor()
    testing.make_cashier(shop, f"carol{width}")
    customer = customer_with_coins(shop, amount=500)
    bookmark = promotion(
        shop, price=450, name="Marcapáginas de mariposas amarillas", description="Ilustrado"
    )
    promotion(shop, price=500, name="Cien años de soledad", stock=3)
    promotion(shop, price=1200, name="Obra completa, edición ilustrada")
    page = browser.new_page(viewport={"width": width, "height": height})
    sign_in(page, live_server.url, f"carol{width}")
    page.goto(f"{live_server.url}/cashier/c/{customer.pk}/")
    section = page.locator("#coin-promotions")
    section.wait_for()
    assert section.locator("h2").inner_text() == "Promociones con monedas"
    assert section.locator("li.ok").count() == 2 and section.locator("li.off").count() == 1
    dear = section.locator("li.off")
    assert "Obra completa" in dear.inner_text() and "faltan 700 monedas" in dear.inner_text()
    assert dear.locator("a").count() == 0
    # The highlight is visible, not only a class: the affordable rows are amber.
    ok_bg = section.locator("li.ok").first.evaluate("e => getComputedStyle(e).backgroundColor")
    off_bg = dear.evaluate("e => getComputedStyle(e).backgroundColor")
    assert ok_bg != off_bg
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    section.scroll_into_view_if_needed()
    shot(page, f"coin-promotions-{width}x{height}")
    # Keyboard only: Tab from the top of the page until the bookmark's row has the focus.
    page.locator("body").focus()
    for _ in range(120):
        page.keyboard.press("Tab")
        if page.evaluate(FOCUSED) == str(bookmark.pk):
            break
    else:
        raise AssertionError("Tab never reached the affordable coin promotion")
    page.keyboard.press("Enter")
    dialog = page.locator("#confirm")
    dialog.wait_for()
    assert "¿Tomar Marcapáginas de mariposas amarillas por 450 monedas?" in dialog.inner_text()
    wait_until(lambda: page.evaluate("document.activeElement.textContent") == "Pagar con monedas")
    shot(page, f"coin-promotion-confirm-{width}x{height}")
    page.keyboard.press("Escape")
    wait_until(lambda: page.locator("#confirm").count() == 0)
