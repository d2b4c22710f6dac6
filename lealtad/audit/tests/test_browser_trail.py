"""The audit trail in Chromium, keyboard only: the admin filters by action and reads before →
after; at 1024×600 and on a phone, in Spanish, Portuguese and English (screenshots in
test-artifacts/)."""

from decimal import Decimal

from playwright.sync_api import expect

from lealtad.audit.models import AuditEntry
from lealtad.cashier.tests.test_browser import ARTIFACTS, BROWSER, browser, settle  # noqa: F401
from lealtad.core import testing
from lealtad.customers import identity
from lealtad.ledger import actions as ledger

pytestmark = BROWSER


def shot(page, name):
    page.screenshot(path=str(ARTIFACTS / f"console-audit-{name}.png"), full_page=True)


def focused(page):
    return page.evaluate("document.activeElement.id")


def test_filter_the_trail_with_the_keyboard_on_a_small_screen_and_a_phone(browser, live_server):  # noqa: F811
    shop = testing.make_merchant("Café Aroma", admin="alice")
    carol = testing.make_cashier(shop, "carol")
    reg = testing.make_customer(shop)
    ledger.accrue_points(
        merchant=shop.merchant,
        amount=Decimal(25_000),
        branch=shop.branch,
        membership=reg.membership,
        staff=carol,
        invoice_number="F-<script>alert(1)</script>",
    )
    ledger.adjust_points(membership=reg.membership, points=-5, reason="Ajuste", staff=shop.admin)
    identity.update_profile(
        reg.customer, {"city": "Cali"}, identity.Requester(shop.merchant, user=carol)
    )
    context = browser.new_context(viewport={"width": 1024, "height": 600})
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", testing.PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/")
    page.get_by_role("link", name="Auditoría").click()
    page.wait_for_url("**/console/audit/")
    settle(page)
    expect(page.locator("#audit-entries tbody tr")).to_have_count(
        AuditEntry.objects.filter(merchant_id=shop.merchant.pk).count()
    )
    expect(page.locator("tr[data-action='customer.update']")).to_contain_text("Bogotá")
    expect(page.locator("tr[data-action='customer.update']")).to_contain_text("Cali")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024
    shot(page, "1-all-1024")
    # Keyboard: to the action filter, pick "Puntos ajustados", submit with Enter.
    page.focus("#id_person")
    page.keyboard.press("Tab")
    assert focused(page) == "id_action"
    page.select_option("#id_action", "points.adjust")  # what typing its name selects
    for _n in range(12):  # on through the dates to the button
        page.keyboard.press("Tab")
        if focused(page) == "audit-filter":
            break
    assert focused(page) == "audit-filter"
    page.keyboard.press("Enter")
    page.wait_for_url("**action=points.adjust**")
    expect(page.locator("#audit-entries tbody tr")).to_have_count(1)
    expect(page.locator("#audit-entries tbody tr")).to_contain_text("Puntos ajustados")
    expect(page.locator("#audit-entries tbody tr")).to_contain_text("alice")
    shot(page, "2-adjusted-1024")
    assert dialogs == []  # the invoice number's script never ran

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone.add_cookies([{"name": "django_language", "value": "pt-br", "url": live_server.url}])
    mobile = phone.new_page()
    mobile.goto(f"{live_server.url}/login/")
    mobile.fill("#id_username", "alice")
    mobile.fill("#id_password", testing.PASSWORD)
    mobile.keyboard.press("Enter")
    mobile.wait_for_url("**/console/")
    mobile.goto(f"{live_server.url}/console/audit/")
    expect(mobile.get_by_role("heading", name="Auditoria")).to_be_visible()
    expect(mobile.locator("tr[data-action='points.accrue']")).to_contain_text("Pontos acumulados")
    assert mobile.evaluate("document.documentElement.scrollWidth") <= 390
    shot(mobile, "3-phone-pt")
    english = browser.new_context(viewport={"width": 1024, "height": 600})
    english.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
    page = english.new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", testing.PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/")
    page.goto(f"{live_server.url}/console/audit/")
    expect(page.get_by_role("heading", name="Audit trail")).to_be_visible()
    shot(page, "4-en-1024")
