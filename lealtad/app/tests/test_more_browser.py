"""The app's ratings, coins and privacy in a real browser (Debian's Chromium, Playwright) at a
phone's size (the Pixel 5 preset), in Spanish: rate a visit, the merchant replies, the customer
reads and answers; give coins to a cause; buy a coin product and see its voucher; switch the
marketing consent; close the account. Screenshots in /tmp/shots-more/."""

import datetime as dt
from decimal import Decimal
from pathlib import Path

from django.utils import timezone
from playwright.sync_api import expect

from lealtad.app.actions import open_session
from lealtad.app.auth import COOKIE
from lealtad.app.tests import phone as phones
from lealtad.app.tests.phone import phone  # noqa: F401 (a fixture)
from lealtad.cashier.tests.test_browser import BROWSER, sign_in
from lealtad.coins import causes, vouchers
from lealtad.coins.models import CoinVoucher, Donation
from lealtad.coins.tests.promo_helpers import acceptor, customer_with_coins, promotion
from lealtad.customers.models import ConsentRecord, Membership
from lealtad.ledger import actions as ledger
from lealtad.ratings import actions as ratings
from lealtad.ratings.models import Message, Rating

pytestmark = BROWSER
SHOTS = Path("/tmp/shots-more")


def shot(page, name):
    phones.shot(page, SHOTS, name)


def test_rate_reply_answer_donate_buy_and_consent(phone, live_server):  # noqa: F811
    shop = acceptor()
    customer = customer_with_coins(shop, amount=500)
    visit = ledger.accrue_points(
        merchant=shop.merchant,
        customer=customer,
        amount=Decimal(30_000),
        branch=shop.branch,
        invoice_number="F-77",
        now=timezone.now() - dt.timedelta(hours=2),
    ).transaction
    trees = causes.create_cause("Árboles para la ciudad")
    book = promotion(shop, price=120, name="Libro de cuentos")
    base = live_server.url
    _session, token = open_session(customer, user_agent="browser test")
    phone.add_cookies(
        [
            {"name": COOKIE, "value": token, "url": base},
            {"name": "django_language", "value": "es", "url": base},
        ]
    )
    page = phone.new_page()

    # A5: the visit to rate, rated 9 with a comment.
    page.goto(f"{base}/app/ratings/")
    expect(page.locator("h2#to-rate")).to_have_text("Visitas por calificar")
    shot(page, "01-ratings-to-rate")
    page.click(f"[data-visit='{visit.pk}']")
    page.click("label.score.s9")
    page.fill("#comment", "Muy buena atención")
    shot(page, "02-rate-form")
    page.click("main form button.button")
    expect(page.locator("blockquote.comment")).to_have_text("Muy buena atención")
    rating = Rating.objects.get()
    assert (rating.score, rating.source) == (9, "app")

    # The merchant replies (the console's action); the customer sees it new, reads, answers.
    ratings.reply(rating, body="¡Gracias! Le esperamos pronto.", staff=shop.admin)
    page.goto(f"{base}/app/ratings/")
    expect(page.locator(".badge.unread")).to_have_text("1 respuesta nueva")
    shot(page, "03-ratings-unread")
    page.click(f"[data-rating='{rating.pk}']")
    expect(page.locator(".msg.merchant")).to_contain_text("Le esperamos pronto")
    page.fill("#body", "Volveré el sábado")
    page.click("#conversation button.button")
    expect(page.locator(".msg.customer")).to_contain_text("Volveré el sábado")
    assert Message.objects.filter(author="customer").get().body == "Volveré el sábado"
    shot(page, "04-conversation")

    # A8: a donation, with the error first (next to the field, in Spanish).
    page.goto(f"{base}/app/coins/")
    expect(page.locator("[data-available]")).to_have_text("500")
    page.select_option("#cause", str(trees.pk))
    page.fill("#coins", "9000")
    page.click("#donate button.button")
    expect(page.locator("#coins-error")).to_contain_text("Monedas insuficientes")
    shot(page, "05-donate-error")
    page.fill("#coins", "50")
    page.click("#donate button.button")
    expect(page.locator("[role=status]")).to_contain_text("Sus monedas fueron donadas")
    expect(page.locator("[data-available]")).to_have_text("450")
    assert Donation.objects.get().coins == 50
    shot(page, "06-coins-after-donation")

    # A9: buy the coin product; the voucher shows its QR and code.
    page.click(f"[data-buy='{book.pk}']")
    voucher = CoinVoucher.objects.get()
    expect(page.locator("#voucher-code")).to_have_text(f"{voucher.code[:4]}-{voucher.code[4:]}")
    expect(page.locator(".qr svg")).to_be_visible()
    shot(page, "07-voucher")

    # Privacy: consent switched from the app, with its history.
    page.goto(f"{base}/app/privacy/")
    row = page.locator(f".consent[data-merchant='{shop.merchant.pk}']")
    before = Membership.objects.get(customer=customer, merchant=shop.merchant).marketing_consent
    row.locator("button").click()
    row = page.locator(f".consent[data-merchant='{shop.merchant.pk}']")
    expect(row.locator("button")).to_have_attribute("data-toggle", "on" if before else "off")
    row.locator("summary").click()
    expect(row.locator("details")).to_contain_text("en la app")
    assert ConsentRecord.objects.filter(channel="app", given=not before).exists()
    shot(page, "08-privacy")
    page.goto(f"{base}/app/privacy/close/")
    page.fill("#confirm", "no")
    page.click("main form button.button")
    expect(page.locator("#confirm-error")).to_have_text("Escriba CERRAR para confirmar.")
    shot(page, "09-close-error")
    page.fill("#confirm", "cerrar")
    page.click("main form button.button")
    expect(page.locator("h1")).to_have_text("Cuenta cerrada")
    expect(page.locator("nav.bottom")).to_have_count(0)
    shot(page, "10-closed")
    customer.refresh_from_db()
    assert customer.anonymised_at is not None and customer.email is None
    page.goto(f"{base}/app/coins/")
    assert "/app/signin/" in page.url  # every session revoked


def test_the_till_scans_the_voucher_and_hands_it_over_once(phone, live_server):  # noqa: F811
    """The cashier's side (a till's screen, not a phone): the voucher's QR scanned into the
    search opens it; "Entregar" hands it over; the customer's voucher then says so."""
    from lealtad.core import testing

    shop = acceptor()
    testing.make_cashier(shop, username="caja")
    customer = customer_with_coins(shop, amount=300)
    voucher = vouchers.buy_in_app(promotion(shop, price=80, name="Taza").pk, customer=customer)
    base = live_server.url
    till = phone.browser.new_context(viewport={"width": 1024, "height": 768}, locale="es-CO")
    till.add_cookies([{"name": "django_language", "value": "es", "url": base}])
    page = till.new_page()
    sign_in(page, base, "caja")
    page.fill("#q", vouchers.QR_PREFIX + voucher.code)
    page.keyboard.press("Enter")
    expect(page.locator("#voucher-product")).to_have_text("Taza")
    shot(page, "11-till-voucher")
    page.click("#hand-over")
    expect(page.locator("#voucher-handed")).to_be_visible()
    shot(page, "12-till-handed")
    page.goto(f"{base}/cashier/coin-vouchers/?code={voucher.code}")
    expect(page.locator("#hand-over")).to_have_count(0)
    till.close()
    voucher.refresh_from_db()
    assert voucher.handed_over_at is not None


def test_the_pages_in_portuguese(phone, live_server):  # noqa: F811
    shop = acceptor()
    customer = customer_with_coins(shop, amount=100)
    ledger.accrue_points(
        merchant=shop.merchant,
        customer=customer,
        amount=Decimal(10_000),
        branch=shop.branch,
        invoice_number="F-9",
    )
    causes.create_cause("Árvores")
    promotion(shop, price=500, name="Caneca")
    base = live_server.url
    _session, token = open_session(customer, user_agent="browser test")
    phone.add_cookies(
        [
            {"name": COOKIE, "value": token, "url": base},
            {"name": "django_language", "value": "pt-br", "url": base},
        ]
    )
    page = phone.new_page()
    page.goto(f"{base}/app/ratings/")
    expect(page.locator("h2#to-rate")).to_have_text("Visitas para avaliar")
    shot(page, "pt-01-ratings")
    page.goto(f"{base}/app/coins/")
    expect(page.locator("[data-missing]")).to_contain_text("faltam 400")
    shot(page, "pt-02-coins")
    page.goto(f"{base}/app/privacy/")
    expect(page.locator("h2#consent-title")).to_have_text("Ofertas e novidades")
    shot(page, "pt-03-privacy")
