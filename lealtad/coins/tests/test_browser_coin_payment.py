"""K3 at the till in Chromium, keyboard only: "Pagar factura con monedas" at an acceptor — the
coins prefilled as the amount is typed, too many coins refused at once, the code step (a wrong
code with the attempts left, a resend, the code read from the outbox), the receipt that prints
alone; a cancelled hold; the same screens in pt-BR and en with no English in es/pt. Waits are
locator waits (the CSP forbids string predicates)."""

import re
from decimal import Decimal

import pytest

from lealtad.cashier.tests.test_browser import BROWSER, browser, shot, sign_in  # noqa: F401
from lealtad.cashier.tests.test_coin_payments_till import sent_code
from lealtad.coins import actions as coins
from lealtad.coins.tests.test_browser_till_coins import SIZES, wait_until
from lealtad.core import testing
from lealtad.customers.actions import join_merchant

pytestmark = BROWSER

WORDS = {
    "es": {
        "title": "Pagar factura con monedas",
        "insufficient": "ondos insuficientes",
        "sent": "Código enviado a",
        "attempts": "Quedan 2 intentos",
        "resent": "Se envió un código nuevo",
        "paid": "Pagado con monedas",
        "cancelled": "las monedas vuelven a estar disponibles",
    },
    "pt-br": {
        "title": "Pagar nota com moedas",
        "insufficient": "",
        "sent": "Código enviado para",
        "attempts": "Restam 2 tentativas",
        "resent": "Um novo código foi enviado",
        "paid": "Pago com moedas",
        "cancelled": "as moedas estão disponíveis de novo",
    },
    "en": {
        "title": "Pay invoice with coins",
        "insufficient": "nsufficient funds",
        "sent": "Code sent to",
        "attempts": "2 attempts left",
        "resent": "A new code was sent",
        "paid": "Paid with coins",
        "cancelled": "the coins are available again",
    },
}
ENGLISH = ("Pay invoice with coins", "Coins to use", "Code sent to", "Resend code", "Cancel",
           "attempts left", "Confirm payment", "Print receipt", "Left to pay")  # fmt: skip


def world(language):
    issuer = testing.make_merchant("Café", coin_issuer=True, cashback_rate="0.1")
    acceptor = testing.make_merchant("Librería Macondo", coin_acceptor=True)
    testing.make_cashier(acceptor, f"lina-{language}")
    customer = testing.make_customer(issuer).customer
    coins.earn_coins(merchant=issuer.merchant, customer=customer, amount=Decimal(7_500))  # 750
    join_merchant(customer, acceptor.merchant, acceptor.branch)
    return acceptor, customer


def no_english(page, language):
    if language == "en":
        return
    text = page.locator("main").inner_text()
    for english in ENGLISH:
        assert not re.search(rf"\b{re.escape(english)}\b", text), (language, english)


@pytest.mark.parametrize("language", ["es", "pt-br", "en"])
def test_pay_part_of_an_invoice_with_a_code(browser, live_server, language):  # noqa: F811
    words = WORDS[language]
    _acceptor, customer = world(language)
    width, height = SIZES["till"]
    page = browser.new_page(viewport={"width": width, "height": height})
    page.context.add_cookies(
        [{"name": "django_language", "value": language, "url": live_server.url}]
    )
    sign_in(page, live_server.url, f"lina-{language}")
    page.goto(f"{live_server.url}/cashier/c/{customer.pk}/")
    section = page.locator("#pay-coins")
    section.wait_for()
    assert words["title"] in section.inner_text()
    no_english(page, language)
    page.focus("#id_cp-invoice_number")
    page.keyboard.type("L-77")
    page.keyboard.press("Tab")
    page.keyboard.type("300")
    field = page.locator("#id_cp-coins")
    wait_until(lambda: field.input_value() == "300")  # prefilled: the whole (small) invoice
    page.keyboard.press("Control+A")
    page.keyboard.type("30.000")  # the amount grows: the prefill follows, up to the wallet
    wait_until(lambda: page.locator("#id_cp-coins").input_value() == "750")
    page.keyboard.press("Tab")
    page.keyboard.press("Control+A")
    page.keyboard.type("751")
    page.keyboard.press("Enter")
    error = page.locator("#cp-coins-error")
    wait_until(lambda: error.count() == 1)
    assert words["insufficient"] in error.inner_text()
    assert coins.wallet_of(customer)["held"] == 0
    shot(page, f"coins-pay-insufficient-{language}")
    wait_until(lambda: page.evaluate("document.activeElement.id") == "id_cp-coins")
    page.keyboard.press("Control+A")
    page.keyboard.type("500")
    page.keyboard.press("Enter")
    sent = page.locator("#code-sent")
    sent.wait_for()
    assert words["sent"] in sent.inner_text() and "***" in sent.inner_text()
    code_field = page.locator("#id_code")
    assert code_field.get_attribute("inputmode") == "numeric"
    wait_until(lambda: page.evaluate("document.activeElement.id") == "id_code")
    no_english(page, language)
    shot(page, f"coins-pay-code-{language}")
    code = sent_code(customer)
    page.keyboard.type("0000" if code != "0000" else "1111")
    page.keyboard.press("Enter")
    wrong = page.locator("#code-error")
    wrong.wait_for()
    assert words["attempts"] in page.locator("#attempts-left").inner_text()
    shot(page, f"coins-pay-wrong-{language}")
    # Reenviar código, by keyboard: Tab from the code to the confirm button, then to resend.
    page.focus("#resend-code")
    page.keyboard.press("Enter")
    wait_until(lambda: words["resent"] in page.locator("#code-sent").inner_text())
    code = sent_code(customer)
    wait_until(lambda: page.evaluate("document.activeElement.id") == "id_code")
    page.keyboard.type(code)
    page.keyboard.press("Enter")
    receipt = page.locator("#coin-receipt")
    receipt.wait_for()
    assert words["paid"] in receipt.inner_text()
    assert page.locator("#receipt-coins").inner_text() == "500"
    assert page.locator("#receipt-coins-balance").inner_text() == "250"
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    no_english(page, language)
    shot(page, f"coins-pay-receipt-{language}")
    page.emulate_media(media="print")
    assert not page.locator("#back-to-card").is_visible()
    page.screenshot(path=f"test-artifacts/cashier-coins-receipt-print-{language}.png")
    page.emulate_media(media="screen")
    wallet = coins.wallet_of(customer)
    assert (wallet["available"], wallet["held"]) == (250, 0)


def test_a_cancelled_hold_by_keyboard_on_a_phone(browser, live_server):  # noqa: F811
    _acceptor, customer = world("phone")
    width, height = SIZES["phone"]
    page = browser.new_page(viewport={"width": width, "height": height})
    sign_in(page, live_server.url, "lina-phone")
    page.goto(f"{live_server.url}/cashier/c/{customer.pk}/")
    page.locator("#pay-coins").wait_for()
    page.focus("#id_cp-invoice_number")
    page.keyboard.type("L-78")
    page.keyboard.press("Tab")
    page.keyboard.type("400")
    wait_until(lambda: page.locator("#id_cp-coins").input_value() == "400")
    page.keyboard.press("Enter")
    page.locator("#code-sent").wait_for()
    assert coins.wallet_of(customer)["held"] == 400
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    shot(page, "coins-pay-code-phone")
    page.keyboard.press("Escape")  # Cancelar
    notice = page.locator("#notice")
    notice.wait_for()
    assert WORDS["es"]["cancelled"] in notice.inner_text()
    assert coins.wallet_of(customer)["held"] == 0
    shot(page, "coins-pay-cancelled-phone")
