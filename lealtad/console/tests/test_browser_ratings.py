"""Seed 003 ("Calificaciones recibidas") walked in a real browser (Debian's Chromium), in
Spanish, Portuguese and English, by keyboard: the counters and the NPS, the coloured list, the
sorts and their reversal, the filters and "Reiniciar", the detail with "Ver historial" and "Ver
factura", a reply with a gift, and the automatic reply. Screenshots at 1024×600 and 390×844."""

import pytest
from django.utils import translation
from playwright.sync_api import expect

from lealtad.cashier.tests.test_browser import (  # noqa: F401
    ARGS,
    ARTIFACTS,
    BROWSER,
    CHROMIUM,
    browser,
)
from lealtad.core import testing
from lealtad.network.models import Branch
from lealtad.ratings.models import AutoReply, Message, Rating
from lealtad.ratings.tests.factories import at, make_shop, named, rate

pytestmark = BROWSER
LANGUAGES = {"es": "es", "pt-br": "pt-br", "en": "en"}
ENGLISH = (
    "Ratings received",
    "Comments received",
    "Unread",
    "earlier rating",
    "See history",
    "Last score",
    "Gifts offered",
    "Visit details",
    "See invoice",
    "Attach gift",
    "Write a message",
    "Open the profile",
    "promoters",
)


def words(language: str, *msgids: str) -> list[str]:
    with translation.override(language):
        return [translation.gettext(m) for m in msgids]


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"ratings-{name}.png"), full_page=True)


def press(page, selector: str, key: str = "Enter") -> None:
    page.focus(selector)
    page.keyboard.press(key)


@pytest.fixture
def world():
    shop = make_shop("Café Aroma", admin="alice")
    north = Branch.objects.create(merchant=shop.merchant, name="Norte")
    ana = named(testing.make_customer(shop), "Ana", "Zapata")
    beto = named(testing.make_customer(shop), "Beto", "Arias")
    caro = named(testing.make_customer(shop), "Caro", "Méndez")
    ratings = {
        "ana9": rate(shop, ana, 9, at(2, 10), "¡Excelente café! <script>x</script>"),
        "beto4": rate(shop, beto, 4, at(5, 18), "Llegó frío", branch=north),
        "caro7": rate(shop, caro, 7, at(8, 12)),
        "ana10": rate(shop, ana, 10, at(12, 16), "Muy bien", branch=north),
    }
    gift = testing.make_gift(shop, name="Postre de la casa", kind="product")
    return {"shop": shop, "north": north, "ratings": ratings, "gift": gift}


def sign_in(browser, live_server, language, viewport):  # noqa: F811
    context = browser.new_context(viewport=viewport)
    context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    page = context.new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", testing.PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/")
    return page


def rows(page) -> list[str]:
    return page.locator("table.rated tbody tr[data-rating]").evaluate_all(
        "trs => trs.map(tr => tr.dataset.rating)"
    )


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_seed_003_in_the_browser(browser, live_server, world, language):  # noqa: F811
    r = {k: str(v.pk) for k, v in world["ratings"].items()}
    page = sign_in(browser, live_server, language, {"width": 1024, "height": 600})
    heading, ratings_word, reset_word, send_word = words(
        language, "Ratings received", "Ratings", "Reset", "Send"
    )

    # 1) The console's menu: "Calificaciones".
    link = page.locator("nav.tabs a[href='/console/ratings/']")
    expect(link).to_have_text(ratings_word)
    press(page, "nav.tabs a[href='/console/ratings/']")
    page.wait_for_url("**/console/ratings/")
    expect(page.locator("h1")).to_have_text(heading)

    # 2) The counters and the NPS: 4 ratings, 3 comments, no replies, 3 unread;
    #    9 and 10 promoters, 4 a detractor: (2 − 1) / 4 = 25.0.
    for key, value in (("ratings", "4"), ("comments", "3"), ("replies", "0"), ("unread", "3")):
        expect(page.locator(f"#count-{key}")).to_have_text(value)
    expect(page.locator("#nps")).to_have_text("25.0" if language == "en" else "25,0")

    # 3) Newest first; the score coloured and written; an envelope where there is a comment.
    assert rows(page) == [r["ana10"], r["caro7"], r["beto4"], r["ana9"]]
    expect(page.locator(f"tr[data-rating='{r['ana10']}'] .score.promoter")).to_have_text("10")
    expect(page.locator(f"tr[data-rating='{r['caro7']}'] .score.passive")).to_have_text("7")
    expect(page.locator(f"tr[data-rating='{r['beto4']}'] .score.detractor")).to_have_text("4")
    expect(page.locator(f"tr[data-rating='{r['caro7']}'] .marks")).not_to_contain_text("✉")
    expect(page.locator(f"tr[data-rating='{r['beto4']}'] .marks")).to_contain_text("✉")
    assert "<script>" not in page.content().split("<tbody>")[1].split("</tbody>")[0]
    shot(page, f"{language}-1-inbox-1024")

    # Sort by score ("Calif."): highest first; a second click reverses.
    press(page, "th a[data-sort=score]")
    page.wait_for_url("**sort=-score**")
    expect(page.locator("th[aria-sort] a[data-sort=score]")).to_be_visible()
    assert page.locator("th:has(a[data-sort=score])").get_attribute("aria-sort") == "descending"
    assert rows(page) == [r["ana10"], r["ana9"], r["caro7"], r["beto4"]]
    press(page, "th a[data-sort=score]")
    page.wait_for_url("**sort=score**")
    assert page.locator("th:has(a[data-sort=score])").get_attribute("aria-sort") == "ascending"
    assert rows(page) == [r["beto4"], r["caro7"], r["ana9"], r["ana10"]]
    # Customer A→Z; "Inbox": unread first.
    press(page, "th a[data-sort=customer]")
    page.wait_for_url("**sort=customer**")
    assert rows(page) == [r["ana9"], r["ana10"], r["beto4"], r["caro7"]]
    press(page, "th a[data-sort=unread]")
    page.wait_for_url("**sort=unread**")
    assert rows(page)[-1] == r["caro7"]  # no comment: nothing to read

    # Filters: the branch, the dates (date pickers), the customer's name; Enter submits.
    page.focus("#id_branch")
    page.select_option("#id_branch", str(world["north"].pk))
    page.fill("#id_from", "2026-03-01")
    page.fill("#id_to", "2026-03-10")
    page.focus("#id_q")
    page.keyboard.type("beto")
    page.keyboard.press("Enter")
    page.wait_for_url("**q=beto**")
    assert rows(page) == [r["beto4"]]
    expect(page.locator("#count-ratings")).to_have_text("1")
    expect(page.locator("#nps")).to_have_text("-100.0" if language == "en" else "-100,0")
    shot(page, f"{language}-2-filtered")

    # "Reiniciar" clears the name and the dates, keeps the sort and the branch.
    expect(page.locator("#reset")).to_have_text(reset_word)
    press(page, "#reset")
    page.wait_for_function("() => !location.search.includes('q=')")
    expect(page.locator("#id_q")).to_have_value("")
    expect(page.locator("#id_from")).to_have_value("")
    expect(page.locator("#id_branch")).to_have_value(str(world["north"].pk))
    assert "sort=unread" in page.url
    expect(page.locator("table.rated tbody tr[data-rating]")).to_have_count(2)
    assert rows(page) == [r["ana10"], r["beto4"]]  # both unread: newest first

    # 7) Open Beto's rating: the detail beside the list; opening it reads it.
    press(page, f"tr[data-rating='{r['beto4']}'] a")
    page.wait_for_url(f"**/console/ratings/{r['beto4']}/**")
    expect(page.locator("#customer-name")).to_have_text("Beto Arias")
    expect(page.locator("#last-score .score")).to_have_text("4")
    expect(page.locator("#gifts-offered")).to_have_text("0")
    expect(page.locator(".conversation")).to_contain_text("Llegó frío")
    assert Rating.objects.get(pk=r["beto4"]).comment_read_at is not None
    profile = f"/console/customers/{world['ratings']['beto4'].customer_id}/"
    expect(page.locator(f".detail a[href='{profile}']")).to_have_count(1)

    # "Ver factura": the visit's number, amount and points.
    press(page, "#invoice summary")
    expect(page.locator("#invoice dl")).to_be_visible()
    expect(page.locator("#invoice")).to_contain_text(
        world["ratings"]["beto4"].transaction.invoice_number
    )
    if language != "en":  # nothing of the English catalogue leaks into es or pt-BR
        text = page.locator("main").inner_text()
        for english in ENGLISH:
            assert english not in text, english
    shot(page, f"{language}-3-detail-1024")

    # Reply with a gift from the catalog, all by keyboard.
    page.focus("#id_body")
    page.keyboard.type("Lo sentimos mucho, te invitamos un postre.")
    press(page, ".attach summary")
    page.focus("#id_gift")
    page.select_option("#id_gift", str(world["gift"].pk))
    expect(page.locator("button.send")).to_contain_text(send_word)
    press(page, "button.send")
    expect(page.locator(".conversation li.from-merchant")).to_contain_text("Lo sentimos mucho")
    expect(page.locator(".conversation .gift")).to_contain_text("Postre de la casa")
    expect(page.locator("#count-replies")).to_have_text("1")
    expect(page.locator(f"tr[data-rating='{r['beto4']}'] .marks .gift-tag")).to_have_count(1)
    message = Message.objects.get(rating_id=r["beto4"])
    assert message.gift_offer is not None and message.staff.username == "alice"

    # "Ver historial": Ana's ratings here.
    page.goto(f"{live_server.url}/console/ratings/{r['ana10']}/")
    press(page, "#history")
    page.wait_for_url("**history=1**")
    assert rows(page) == [r["ana10"], r["ana9"]]
    expect(page.locator(".conversation")).to_contain_text("Muy bien")

    # 8) The automatic reply: subject, message, "Guardar y programar", then the switch.
    press(page, "a[href='/console/ratings/auto-reply/']")
    page.wait_for_url("**/auto-reply/")
    page.focus("#id_subject")
    page.keyboard.type("Queremos saber qué pasó")
    page.focus("#id_body")
    page.keyboard.type("Cuéntanos cómo mejorar.")
    page.focus("form:not(.switch-row) button.primary")
    page.keyboard.press("Enter")
    page.wait_for_selector("#auto-toggle")
    reply = AutoReply.objects.get(merchant=world["shop"].merchant)
    assert (reply.subject, reply.enabled) == ("Queremos saber qué pasó", False)
    expect(page.locator("#auto-toggle")).to_have_attribute("aria-checked", "false")
    press(page, "#auto-toggle", " ")
    expect(page.locator("#auto-toggle")).to_have_attribute("aria-checked", "true")
    reply.refresh_from_db()
    assert reply.enabled
    shot(page, f"{language}-4-auto-reply")

    # D1: the dashboard's NPS for March, its course per week and the 1–10 counts.
    page.goto(f"{live_server.url}/console/dashboard/?from=2026-03-01&to=2026-03-31")
    expect(page.locator("#nps")).to_have_text("25.0" if language == "en" else "25,0")
    expect(page.locator(".nps-figure svg[role=img]")).to_have_count(2)
    assert page.locator("#nps-distribution-title + desc + line, .nps-figure rect").count() >= 4
    shot(page, f"{language}-7-dashboard-nps")

    # The phone: the detail first, the list below, nothing wider than the screen.
    phone = page.context.new_page()
    phone.set_viewport_size({"width": 390, "height": 844})
    phone.goto(f"{live_server.url}/console/ratings/{r['beto4']}/")
    expect(phone.locator("#customer-name")).to_be_visible()
    expect(phone.locator("#history")).to_be_visible()
    width = phone.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, width
    shot(phone, f"{language}-5-phone-detail")
    phone.goto(f"{live_server.url}/console/ratings/")
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= 390
    shot(phone, f"{language}-6-phone-list")
    page.context.close()
