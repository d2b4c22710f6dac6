"""Issue 11 "Done when", in Chromium, keyboard only (Tab, Enter, typing; no clicks), in es,
pt-BR and en: coins earned at an issuer's till, seen at an acceptor (another merchant, COP);
part of an invoice paid with the code read from the fake Twilio (a real HTTP server, SMS_URL)
after a wrong code and a resend, the tasks run by the worker; a second payment cancelled (the
hold released); the app's payment QR typed by the scanner into the till's search (paid with no
code); a coin promotion bought; an invoice paid with points where points are money. No English
on the es/pt screens; screenshots at 1024×600 in test-artifacts/."""

import re
from decimal import Decimal

import pytest
from django.core.management import call_command

from lealtad.cashier.tests.test_browser import BROWSER, browser  # noqa: F401
from lealtad.coins import actions as coins
from lealtad.coins.qr import mint_payment_qr
from lealtad.coins.tests.promo_helpers import promotion
from lealtad.coins.tests.test_browser_coin_payment import WORDS
from lealtad.coins.tests.test_browser_coin_promotions import FOCUSED
from lealtad.coins.tests.test_browser_till_coins import wait_until
from lealtad.core import testing
from lealtad.core.tests.test_screens_language import untranslated, visible
from lealtad.customers.actions import join_merchant
from lealtad.ledger import actions as ledger
from lealtad.notifications.tests.fake_sms import fake_twilio  # noqa: F401 (a fixture)

pytestmark = BROWSER
WIDTH, HEIGHT = 1024, 600
MORE = {
    "es": {"earned": "+750 monedas", "qr": "pagado con el QR de pago del cliente",
           "promo": "Pagado con monedas: Cien años de soledad", "pay": "Pagar con monedas"},
    "pt-br": {"earned": "+750 moedas", "qr": "pago com o QR de pagamento do cliente",
              "promo": "Pago com moedas: Cien años de soledad", "pay": "Pagar com moedas"},
    "en": {"earned": "+750 coins", "qr": "paid with the customer's payment QR",
           "promo": "Paid with coins: Cien años de soledad", "pay": "Pay with coins"},
}  # fmt: skip


def run_worker():
    call_command("worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)


def active(page):
    return page.evaluate("document.activeElement.id")


def no_english(page, language, allowed):
    if language == "en":
        return
    seen = " ".join(visible(page.locator("main").inner_html()).parts)
    seen = re.sub(r"\b[0-9a-f]{8}\b", " ", seen)  # a movement's short id ("9e3…") is no word
    assert untranslated(seen, allowed | {"QR code", "QR", "COP", "Lealtad"}) == [], (
        language,
        page.url,
    )


def till(browser, base, username, language):  # noqa: F811
    """A till of its own (a browser context: its cookies, its language), signed in by keyboard."""
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    context.add_cookies([{"name": "django_language", "value": language, "url": base}])
    page = context.new_page()
    page.goto(f"{base}/login/")
    page.focus("#id_username")
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(testing.PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/cashier/")
    return page


def shot(page, name, language):
    page.screenshot(path=f"test-artifacts/coin-flow-{name}-{language}.png", full_page=True)


def find(page, customer):
    """Type the customer's document into the till's search (where the cursor waits), Enter."""
    wait_until(lambda: active(page) == "q")
    page.keyboard.type(customer.document_number)
    page.keyboard.press("Enter")
    page.locator("#customer, #pay-coins, #coins-earn, #pay-points").first.wait_for()


def code(fake, customer, count):
    run_worker()
    assert fake.wait_for(count), fake.requests
    return fake.last_code(customer.mobile)


@pytest.mark.parametrize("language", ["es", "pt-br", "en"])
def test_the_whole_coin_flow_by_keyboard(browser, live_server, fake_twilio, language):  # noqa: F811
    words, more = WORDS[language], MORE[language]
    base = live_server.url
    issuer = testing.make_merchant("Café Aroma", coin_issuer=True, cashback_rate="0.1")
    acceptor = testing.make_merchant("Librería Macondo", coin_acceptor=True)
    testing.make_cashier(issuer, "carol")
    testing.make_cashier(acceptor, "lina")
    customer = testing.make_customer(issuer).customer
    assert customer.mobile
    join_merchant(customer, acceptor.merchant, acceptor.branch)
    book = promotion(acceptor, price=50, stock=2, name="Cien años de soledad")
    names = {"Café Aroma", "Librería Macondo", "Cien años de soledad", "carol", "lina",
             customer.first_name, customer.last_name, str(customer)}  # fmt: skip

    # 1. The issuer's till: "Acumular monedas", 7.500 COP at 10 % → 750 coins.
    page = till(browser, base, "carol", language)
    find(page, customer)
    page.locator("#coins-earn").wait_for()
    page.focus("#id_coins-invoice_number")
    page.keyboard.type("F-100")
    page.keyboard.press("Tab")
    page.keyboard.type("7.500")
    page.keyboard.press("Enter")
    earned = page.locator("#coins-earned")
    earned.wait_for()
    assert more["earned"] in earned.inner_text()
    assert coins.wallet_of(customer)["available"] == 750
    no_english(page, language, names)
    shot(page, "1-earned", language)
    page.context.close()

    # 2. The acceptor's till: the same wallet on the card.
    page = till(browser, base, "lina", language)
    find(page, customer)
    section = page.locator("#pay-coins")
    section.wait_for()
    assert words["title"] in section.inner_text()
    assert "750" in page.locator("#coins-pay-available").inner_text()
    no_english(page, language, names)
    shot(page, "2-acceptor-card", language)

    # 3. Part of an invoice (30.000 COP) with 500 coins: a wrong code, a resend, the right code.
    page.focus("#id_cp-invoice_number")
    page.keyboard.type("L-77")
    page.keyboard.press("Tab")
    page.keyboard.type("30.000")
    wait_until(lambda: page.locator("#id_cp-coins").input_value() == "750")
    page.keyboard.press("Tab")
    page.keyboard.press("Control+A")
    page.keyboard.type("500")
    page.keyboard.press("Enter")
    page.locator("#code-sent").wait_for()
    assert coins.wallet_of(customer)["held"] == 500
    first = code(fake_twilio, customer, 1)
    wait_until(lambda: active(page) == "id_code")
    page.keyboard.type("0000" if first != "0000" else "1111")
    page.keyboard.press("Enter")
    page.locator("#code-error").wait_for()
    assert words["attempts"] in page.locator("#attempts-left").inner_text()
    no_english(page, language, names)
    shot(page, "3-wrong-code", language)
    wait_until(lambda: active(page) == "id_code")
    for _ in range(10):  # Tab from the code to "Reenviar código"
        if active(page) == "resend-code":
            break
        page.keyboard.press("Tab")
    assert active(page) == "resend-code"
    page.keyboard.press("Enter")
    wait_until(lambda: words["resent"] in page.locator("#code-sent").inner_text())
    right = code(fake_twilio, customer, 2)
    wait_until(lambda: active(page) == "id_code")
    page.keyboard.type(right)
    page.keyboard.press("Enter")
    receipt = page.locator("#coin-receipt")
    receipt.wait_for()
    assert words["paid"] in receipt.inner_text()
    assert page.locator("#receipt-coins").inner_text() == "500"
    assert page.locator("#receipt-coins-balance").inner_text() == "250"
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
    no_english(page, language, names)
    shot(page, "4-receipt", language)

    # 4. A second payment, cancelled with Esc: the hold is released.
    page.focus("#back-to-card")
    page.keyboard.press("Enter")
    page.locator("#pay-coins").wait_for()
    # The card puts the cursor in its first field once loaded: let it, then go to the pay form.
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(500)
    page.focus("#id_cp-invoice_number")
    page.keyboard.type("L-78")
    page.keyboard.press("Tab")
    page.keyboard.type("100")
    # Enter from the amount: the coins are the prefill, or the whole invoice when the field is
    # still blank (the form's rule), 100 either way. The wait lets the prefill's swap land.
    page.wait_for_timeout(1000)
    assert active(page) == "id_cp-amount"
    page.keyboard.press("Enter")
    page.locator("#code-sent").wait_for()
    assert coins.wallet_of(customer) | {"expiring_30d": 0} == {
        "available": 150, "held": 100, "expiring_30d": 0,
    }  # fmt: skip
    page.keyboard.press("Escape")
    notice = page.locator("#notice")
    notice.wait_for()
    assert words["cancelled"] in notice.inner_text()
    assert (coins.wallet_of(customer)["available"], coins.wallet_of(customer)["held"]) == (250, 0)
    shot(page, "5-cancelled", language)

    # 5. The app's payment QR, typed by the scanner into the search: the card opens with the QR
    # in the pay form and the cursor in the invoice; invoice, amount, Enter: paid, no code.
    run_worker()  # the cancelled payment's code goes out first
    sent = len(fake_twilio.messages)
    page.focus("#q")
    page.keyboard.press("Control+A")
    page.keyboard.type(mint_payment_qr(customer))  # a burst of keys, as a scanner types
    page.keyboard.press("Enter")
    page.locator("#cp-qr-ready").wait_for()
    assert "LPQ1" not in page.url
    assert page.locator("#id_cp-payment_qr").input_value().startswith("LPQ1:")
    wait_until(lambda: active(page) == "id_cp-invoice_number")
    no_english(page, language, names)
    shot(page, "6-qr-scanned", language)
    page.keyboard.type("L-79")
    page.keyboard.press("Tab")
    page.keyboard.type("120")
    wait_until(lambda: page.locator("#id_cp-coins").input_value() == "120")
    page.keyboard.press("Enter")
    receipt.wait_for()
    assert more["qr"] in receipt.inner_text()
    assert page.locator("#receipt-coins-balance").inner_text() == "130"
    run_worker()
    assert len(fake_twilio.messages) == sent  # no code was sent
    shot(page, "7-qr-receipt", language)

    # 6. A coin promotion (50 coins), bought with the customer's code.
    page.focus("#back-to-card")
    page.keyboard.press("Enter")
    page.locator("#coin-promotions").wait_for()
    page.focus("#q")
    for _ in range(150):
        page.keyboard.press("Tab")
        if page.evaluate(FOCUSED) == str(book.pk):
            break
    else:
        raise AssertionError("Tab never reached the coin promotion")
    page.keyboard.press("Enter")
    page.locator("#confirm").wait_for()
    wait_until(lambda: page.evaluate("document.activeElement.textContent") == more["pay"])
    page.keyboard.press("Enter")
    page.locator("#code-sent").wait_for()  # the till's one coin payment page
    assert page.locator("#payment-product").inner_text() == "Cien años de soledad"
    assert coins.wallet_of(customer)["held"] == 50
    promo_code = code(fake_twilio, customer, sent + 1)
    wait_until(lambda: active(page) == "id_code")
    no_english(page, language, names)
    shot(page, "8-promotion-code", language)
    page.keyboard.type(promo_code)
    page.keyboard.press("Enter")
    page.locator("#coin-receipt").wait_for()
    assert more["promo"] in page.locator("#coin-receipt").inner_text()
    assert coins.wallet_of(customer)["available"] == 80
    no_english(page, language, names)
    shot(page, "8-promotion-receipt", language)
    page.context.close()

    # 7. Pay with points where 1 point = 10 COP.
    shop = testing.make_merchant("Panadería", points_as_money=True, point_money_value=Decimal(10))
    testing.make_cashier(shop, "pablo")
    member = testing.make_customer(shop).membership
    ledger.accrue_points(
        merchant=shop.merchant, membership=member, branch=shop.branch, amount=Decimal(500_000)
    )
    page = till(browser, base, "pablo", language)
    find(page, member.customer)
    page.locator("#pay-points").wait_for()
    page.focus("#id_pp-invoice_number")
    page.keyboard.type("P-5")
    page.keyboard.press("Tab")
    page.keyboard.type("3.000")
    page.keyboard.press("Tab")
    page.keyboard.type("300")
    page.keyboard.press("Enter")
    page.locator("#points-receipt").wait_for()
    assert page.locator("#receipt-to-pay").inner_text() == "0 COP"
    assert page.locator("#receipt-balance").inner_text() == "200"
    member_names = {"Panadería", "pablo", member.customer.first_name, member.customer.last_name}
    no_english(page, language, member_names | {str(member.customer)})
    shot(page, "9-points", language)
    page.context.close()
    assert re.fullmatch(r"\d{4}", right)
