"""The fixed bottom navigation never covers the field being typed in: at 360 px, a field that
sits just under the navigation when it gets the focus is scrolled above it (`scroll-padding-bottom`
in app/app.css). Screenshot in /tmp/shots-guard/."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from lealtad.app.actions import open_session
from lealtad.app.auth import COOKIE
from lealtad.cashier.tests.test_browser import ARGS, BROWSER, CHROMIUM
from lealtad.core import testing

pytestmark = BROWSER
SHOTS = Path("/tmp/shots-guard")


@pytest.fixture
def phone(monkeypatch):
    """A 360 × 640 phone, in Spanish."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(
            viewport={"width": 360, "height": 640}, is_mobile=True, has_touch=True, locale="es-CO"
        )
        yield context
        context.close()
        browser.close()


def test_a_focused_field_is_not_under_the_bottom_navigation(phone, live_server):
    shop = testing.make_merchant("Café Aroma")
    customer = testing.make_customer(shop).customer
    base = live_server.url
    _session, token = open_session(customer, user_agent="browser test")
    phone.add_cookies(
        [
            {"name": COOKIE, "value": token, "url": base},
            {"name": "django_language", "value": "es", "url": base},
        ]
    )
    page = phone.new_page()
    page.goto(f"{base}/app/claims/new/")
    nav = page.locator("nav.bottom")
    expect(nav).to_be_visible()
    nav_top = nav.bounding_box()["y"]
    for name in ("invoice_number", "amount", "purchased_on"):
        field = page.locator(f"[name={name}]")
        # Scroll so that the field's top is 20 px below the navigation's top edge: under it.
        top = field.evaluate("el => el.getBoundingClientRect().top + window.scrollY")
        page.evaluate(f"window.scrollTo(0, {top} - {nav_top} + 20)")
        field.focus()
        box = field.bounding_box()
        assert box["y"] + box["height"] <= nav.bounding_box()["y"], name
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "claim-form-focused-360.png"))
    # The home leads to the claims (its card "Reclamar una compra").
    page.goto(f"{base}/app/")
    page.click("section.claim-card a")
    expect(page).to_have_url(f"{base}/app/claims/")
    page.goto(f"{base}/app/")
    page.screenshot(path=str(SHOTS / "home-claim-card-360.png"), full_page=True)
