"""R3 in Chromium, keyboard only, at 1024×600: Tab to an affordable coin promotion, Enter,
confirm (the coins held), a wrong code shows the attempts left, the right code read from the
outbox pays and shows the receipt; the unit of stock is taken once."""

from lealtad.cashier.tests.test_browser import BROWSER, browser, shot, sign_in  # noqa: F401
from lealtad.coins.actions import wallet_of
from lealtad.coins.models import CoinPromotion
from lealtad.coins.tests.promo_helpers import acceptor, customer_with_coins, promotion
from lealtad.coins.tests.test_browser_coin_promotions import FOCUSED
from lealtad.coins.tests.test_browser_till_coins import wait_until
from lealtad.coins.tests.test_promotion_purchase import code_for
from lealtad.core import testing

pytestmark = BROWSER


def test_a_coin_promotion_bought_with_the_keyboard_and_the_customers_code(
    browser,  # noqa: F811
    live_server,
):
    shop = acceptor()
    testing.make_cashier(shop, "caja")
    customer = customer_with_coins(shop, amount=1000)
    book = promotion(shop, price=450, stock=2, name="Cien años de soledad")
    page = browser.new_page(viewport={"width": 1024, "height": 600})
    sign_in(page, live_server.url, "caja")
    page.goto(f"{live_server.url}/cashier/c/{customer.pk}/")
    page.locator("#coin-promotions").wait_for()
    page.locator("body").focus()
    for _ in range(120):
        page.keyboard.press("Tab")
        if page.evaluate(FOCUSED) == str(book.pk):
            break
    else:
        raise AssertionError("Tab never reached the coin promotion")
    page.keyboard.press("Enter")
    page.locator("#confirm").wait_for()
    wait_until(lambda: page.evaluate("document.activeElement.textContent") == "Pagar con monedas")
    page.keyboard.press("Enter")
    code_box = page.locator("#id_code")
    code_box.wait_for()
    wait_until(lambda: page.evaluate("document.activeElement.id") == "id_code")
    assert page.locator("#payment-product").inner_text() == "Cien años de soledad"
    assert page.locator("#payment-coins").inner_text() == "450"
    assert wallet_of(customer)["held"] == 450
    shot(page, "coin-promotion-code-1024x600")
    right = code_for(customer)
    page.keyboard.type("0000" if right != "0000" else "1111")
    page.keyboard.press("Enter")
    page.locator("#code-error").wait_for()
    assert "Quedan 2 intentos" in page.locator("#attempts-left").inner_text()
    wait_until(lambda: page.evaluate("document.activeElement.id") == "id_code")
    page.keyboard.type(right)
    page.keyboard.press("Enter")
    receipt = page.locator("#coin-receipt")
    receipt.wait_for()
    assert "Pagado con monedas: Cien años de soledad" in receipt.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024
    shot(page, "coin-promotion-receipt-1024x600")
    assert wallet_of(customer) == {"available": 550, "held": 0, "expiring_30d": 0}
    assert CoinPromotion.objects.get(pk=book.pk).stock == 1
