"""A2–A4, A6 in Chromium at a phone's size (Playwright's Pixel 5 preset, narrowed to 360 px),
by touch: the home → a membership's history → the QR (the payment QR arrives by HTMX with its
countdown) → the prizes (accepting a points gift) → the merchants (the favourite button, by
keyboard). Screenshots of each screen in /tmp/shots-home/ (LEALTAD_SHOTS).

Ports: this helper's own: run with `--liveserver 127.0.0.1:8620`."""

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from lealtad.app.actions import open_session
from lealtad.app.auth import COOKIE
from lealtad.cashier.tests.test_browser import BROWSER, browser  # noqa: F401 (a fixture)
from lealtad.coins import actions as coins
from lealtad.core import testing
from lealtad.customers.actions import join_merchant
from lealtad.favourites.actions import favourite_ids
from lealtad.ledger import actions as ledger
from lealtad.ledger.models import Lot
from lealtad.offers.actions import offer_gift

pytestmark = BROWSER
SHOTS = Path(os.environ.get("LEALTAD_SHOTS", "/tmp/shots-home"))
WIDTH = 360


@pytest.fixture
def phone(browser):  # noqa: F811
    SHOTS.mkdir(parents=True, exist_ok=True)
    pixel5 = {  # Playwright's devices["Pixel 5"], 393 px wide: narrowed to 360
        "user_agent": (
            "Mozilla/5.0 (Linux; Android 11; Pixel 5) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/120.0 Mobile Safari/537.36"
        ),
        "viewport": {"width": WIDTH, "height": 780},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    }
    context = browser.new_context(**pixel5, locale="es-CO")
    # Every page runs under the Content-Security-Policy without a violation or a script error
    # (the payment QR's countdown script, HTMX's swaps). The test's own 404 is expected.
    context.problems = []
    context.add_init_script(
        "document.addEventListener('securitypolicyviolation', e =>"
        " console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));"
    )
    context.on(
        "console",
        lambda m: (
            m.type == "error"
            and "Failed to load resource" not in m.text
            and context.problems.append(m.text)
        ),
    )
    context.on("weberror", lambda e: context.problems.append(str(e.error)))
    yield context
    problems = context.problems
    context.close()
    assert problems == []


def shot(page, name):
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def no_overflow(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH, page.url


def signed_in(context, base, customer):
    _session, token = open_session(customer, user_agent="browser test")
    host = base.split("//", 1)[1].split(":")[0]
    context.add_cookies([{"name": COOKIE, "value": token, "domain": host, "path": "/"}])


def test_home_history_qr_prizes_and_merchants_on_a_phone(phone, live_server):
    aroma = testing.make_merchant("Café Aroma")
    brasa = testing.make_merchant("La Brasa")
    aroma.branch.city, aroma.branch.zone = "Bogotá", "Chapinero"
    aroma.branch.address = "Cra 7 # 60-10"
    aroma.branch.save()
    brasa.branch.city, brasa.branch.zone, brasa.branch.address = "Bogotá", "Usaquén", "Cl 120 # 6-3"
    brasa.branch.save()
    ana = testing.make_customer(aroma, first_name="Ana")
    join_merchant(ana.customer, brasa.merchant, brasa.branch)
    start = timezone.now() - dt.timedelta(days=40)
    for n in range(30):
        ledger.accrue_points(
            merchant=aroma.merchant,
            customer=ana.customer,
            amount=Decimal(3_000 + 1_000 * (n % 4)),
            branch=aroma.branch,
            invoice_number=f"F-{n}",
            now=start + dt.timedelta(days=n),
        )
    Lot.objects.filter(
        account=ana.membership.account, earned_at__lt=start + dt.timedelta(days=10)
    ).update(expires_at=timezone.now() + dt.timedelta(days=12))
    testing.make_reward(aroma, cost=40, name="Café americano")
    testing.make_reward(aroma, cost=300, name="Desayuno completo")
    ledger.redeem_reward(
        membership=ana.membership,
        reward_id=testing.make_reward(aroma, cost=20, name="Galleta").pk,
        branch=aroma.branch,
    )
    offer_gift(
        gift=testing.make_gift(aroma, "points", points=25, name="Bono de bienvenida"),
        membership=ana.membership,
        note="¡Gracias por venir!",
    )
    testing.make_promotion(aroma, "multiplier", multiplier=Decimal("2"), name="Martes doble")
    issuer = testing.make_merchant("Emisor", coin_issuer=True, cashback_rate="0.1")
    coins.earn_coins(merchant=issuer.merchant, customer=ana.customer, amount=Decimal(25_000))
    base = live_server.url
    signed_in(phone, base, ana.customer)
    page = phone.new_page()

    # Home: the wallet and both memberships.
    page.goto(f"{base}/app/")
    page.get_by_role("heading", name="Hola, Ana").wait_for()
    wallet = page.locator(".wallet")
    assert "2.500" in wallet.inner_text() and "monedas disponibles" in wallet.inner_text()
    cards = page.locator(".cards .tile")
    assert cards.count() == 3  # earning coins at the issuer made her a member there too
    card = cards.filter(has_text="Café Aroma")
    assert "vencen pronto" in card.inner_text()
    no_overflow(page)
    shot(page, "1-home")

    # A membership's history, with the running balance, paged.
    card.tap()
    page.wait_for_url(f"**/app/m/{aroma.merchant.pk}/")
    first = page.locator(".lines .line").first
    assert "Premio: Galleta" in first.inner_text() and "-20" in first.inner_text()
    assert page.locator(".pager a[rel=next]").count() == 1
    no_overflow(page)
    shot(page, "2-history")
    page.locator(".pager a[rel=next]").tap()
    page.wait_for_url("**?page=2")
    assert page.locator(".lines .line").count() == 6

    # The wallet's history.
    page.goto(f"{base}/app/wallet/")
    assert "Monedas ganadas" in page.locator(".lines").inner_text()
    shot(page, "3-wallet")

    # QR: the identification QR inline; the payment QR by HTMX with its countdown.
    page.get_by_role("link", name="Mi QR").tap()
    page.wait_for_url("**/app/qr/")
    assert page.locator(".qr-box svg").first.is_visible()
    assert ana.customer.document_number not in page.content()
    page.locator("#payment-qr svg").wait_for()
    page.wait_for_function(
        "() => /segundos/.test(document.querySelector('.countdown')?.textContent || '')"
    )
    box = page.locator(".qr-box svg").first.bounding_box()
    assert box["width"] >= 280  # large: most of the 360 px
    no_overflow(page)
    shot(page, "4-qr")

    # Prizes: the progress, the points missing, accept the points gift.
    page.get_by_role("link", name="Premios").tap()
    page.wait_for_url("**/app/prizes/")
    text = page.locator("main").inner_text()
    assert "Café americano" in text and "Desayuno completo" in text
    assert "Martes doble" in text and "Bono de bienvenida" in text and "Galleta" in text
    assert "-20 puntos" not in text  # a prize claimed: what it cost, not a signed movement
    assert page.locator("progress").count() >= 2
    no_overflow(page)
    shot(page, "5-prizes")
    page.get_by_role("button", name="Aceptar el regalo").tap()
    page.wait_for_url(f"**/app/prizes/{aroma.merchant.pk}/")
    assert "Regalo aceptado" in page.locator(".flash").inner_text()
    shot(page, "6-gift-accepted")

    # Merchants: by city and zone, the balance there; favourite by keyboard (HTMX swap).
    page.get_by_role("link", name="Comercios").tap()
    page.wait_for_url("**/app/merchants/")
    page.select_option("#city", "Bogotá")
    page.get_by_role("button", name="Filtrar").tap()
    page.wait_for_url("**city=Bogot*")
    page.select_option("#zone", "Usaquén")
    page.get_by_role("button", name="Filtrar").tap()
    page.wait_for_url("**zone=Usaqu*")
    places = page.locator(".place")
    assert places.count() == 1 and "La Brasa" in places.first.inner_text()
    button = places.first.get_by_role("button", name="Marcar como favorito")
    button.focus()
    page.keyboard.press("Enter")
    page.locator(".place button[aria-pressed=true]").wait_for()
    assert favourite_ids(ana.customer) == {brasa.merchant.pk}
    no_overflow(page)
    shot(page, "7-merchants-favourite")
    page.goto(f"{base}/app/merchants/")
    shot(page, "8-merchants-all")
    # Another customer's merchant page is a 404 for Ana.
    zeta = testing.make_merchant("Zeta")
    response = page.goto(f"{base}/app/m/{zeta.merchant.pk}/")
    assert response.status == 404
