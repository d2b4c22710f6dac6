"""The customer's rating page in a real browser (Debian's Chromium, Playwright): rated with the
keyboard alone, the merchant's reply with a gift, the customer's answer; phone first (390×844)
in Spanish, Portuguese and English, and fine at 1024×600."""

import pytest
from playwright.sync_api import expect

from lealtad.cashier.tests.test_browser import ARTIFACTS, BROWSER, browser  # noqa: F401
from lealtad.core import testing
from lealtad.ratings import actions, links
from lealtad.ratings.models import Message, Rating
from lealtad.ratings.tests import helpers

pytestmark = BROWSER
PHONE = {"width": 390, "height": 844}


def shot(page, name):
    page.screenshot(path=str(ARTIFACTS / f"ratings-{name}.png"), full_page=True)


def link(base, txn) -> str:
    return f"{base}/rate/{links.make_token(txn.pk)}/"


def rate_by_keyboard(page, digits: str, comment: str):
    page.keyboard.press("Tab")  # the language switch
    page.keyboard.press("Tab")  # the scores: one stop for the group
    for key in digits:
        page.keyboard.press(key)
    page.keyboard.press("Tab")
    page.keyboard.type(comment)
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")


def test_a_customer_rates_by_keyboard_and_answers_the_reply(browser, live_server):  # noqa: F811
    shop = helpers.shop(name="Café Aroma", rating_invite=False)
    txn = helpers.visit(shop)
    page = browser.new_page(viewport=PHONE)
    page.goto(link(live_server.url, txn))
    expect(page.locator("h1")).to_contain_text("¿Cómo fue tu visita a Café Aroma")
    shot(page, "es-form")
    # Arrows move along the scores; the digit keys choose one.
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert page.locator("input[name=score]:checked").get_attribute("value") == "3"
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    rate_by_keyboard(page, "4", "La espera fue <b>larga</b>")
    expect(page.locator("[role=status]")).to_contain_text("¡Gracias por tu calificación!")
    rating = Rating.objects.get()
    assert (rating.score, rating.comment) == (4, "La espera fue <b>larga</b>")
    expect(page.locator(".comment")).to_have_text("La espera fue <b>larga</b>")  # as text
    shot(page, "es-thanks")

    gift = testing.make_gift(shop, "product", name="Postre de la casa")
    actions.reply(
        rating, body="Perdón por la espera. Te invitamos un postre.", staff=shop.admin, gift=gift
    )
    page.reload()
    expect(page.locator(".msg.merchant")).to_contain_text("Te invitamos un postre")
    expect(page.locator(".gift")).to_contain_text("Postre de la casa")
    page.focus("#body")
    page.keyboard.type("¡Gracias! Vuelvo el sábado.")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator(".msg.customer")).to_contain_text("Vuelvo el sábado")
    assert Message.objects.filter(author="customer").get().body == "¡Gracias! Vuelvo el sábado."
    shot(page, "es-conversation")

    # The language switch, from the keyboard: English.
    page.focus("#language")
    page.select_option("#language", "en")
    expect(page.locator("#conversation-title")).to_contain_text("Conversation with Café Aroma")
    shot(page, "en-conversation")
    page.set_viewport_size({"width": 1024, "height": 600})
    shot(page, "en-1024")


@pytest.mark.parametrize("lang", ["pt-br", "en"])
def test_the_form_in_portuguese_and_english(browser, live_server, lang):  # noqa: F811
    shop = helpers.shop(name="Posto Sol", country="BR", rating_invite=False)
    txn = helpers.visit(shop)
    page = browser.new_page(viewport=PHONE)
    page.goto(link(live_server.url, txn))
    if lang == "en":
        page.select_option("#language", "en")
        expect(page.locator("h1")).to_contain_text("How was your visit to Posto Sol")
    else:
        expect(page.locator("h1")).to_contain_text("Como foi sua visita a Posto Sol")
    shot(page, f"{lang}-form")
    page.click("button.primary")  # no score chosen
    expect(page.locator("#score-error")).to_be_visible()
    shot(page, f"{lang}-error")
    rate_by_keyboard(page, "10", "Ótimo" if lang == "pt-br" else "Great")
    expect(page.locator(".score-badge")).to_have_text("10")
    assert Rating.objects.get().score == 10
    shot(page, f"{lang}-thanks")


def test_an_expired_link_in_the_browser(browser, live_server):  # noqa: F811
    page = browser.new_page(viewport=PHONE)
    page.goto(f"{live_server.url}/rate/forged:token/")
    expect(page.locator("h1")).to_have_text("Este enlace no es válido")
    shot(page, "es-forged")
