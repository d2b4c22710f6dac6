"""P6 remote redemption in Chromium, keyboard only: the prize's confirmation, "remote", the code
read from the fake SMS provider (a real HTTP server) typed into the till, the receipt."""

from decimal import Decimal

from django.core.management import call_command

from lealtad.cashier.tests.test_browser import BROWSER, browser, shot, sign_in  # noqa: F401
from lealtad.core import testing
from lealtad.ledger import actions as ledger
from lealtad.ledger.models import Transaction
from lealtad.notifications.tests.fake_sms import fake_twilio  # noqa: F401 (a fixture)

pytestmark = BROWSER


def code_field_focused(page):
    """The cashier types the code at once: the field has the focus when the dialog opens."""
    page.wait_for_function("() => document.activeElement?.id === 'remote-code'", timeout=5000)


def test_a_remote_redemption_typed_at_the_till(browser, live_server, fake_twilio):  # noqa: F811
    shop = testing.make_merchant("Café Aroma", email_on_join=False)
    testing.make_cashier(shop, "carol")
    member = testing.make_customer(shop).membership
    ledger.accrue_points(
        merchant=shop.merchant, membership=member, branch=shop.branch, amount=Decimal("150000")
    )
    testing.make_reward(shop, cost=100, name="Café gratis")
    page = browser.new_page(viewport={"width": 1024, "height": 600})
    sign_in(page, live_server.url, "carol")
    page.goto(f"{live_server.url}/cashier/c/{member.customer_id}/")
    page.get_by_role("link", name="Café gratis").focus()
    page.keyboard.press("Enter")
    page.locator("#confirm").wait_for()
    # The page's script focuses the confirmation's own button once loaded: move on after it ran,
    # or Enter would redeem at the counter instead of sending the code.
    page.wait_for_load_state("load")
    page.wait_for_function("() => document.activeElement?.closest('#confirm')")
    page.locator("#remote-start").focus()
    page.wait_for_function("() => document.activeElement?.id === 'remote-start'")
    page.keyboard.press("Enter")
    page.locator("#remote").wait_for()
    code_field_focused(page)
    mobile = member.customer.mobile
    assert f"+57 *** *** {mobile[-4:]}" in page.locator("#remote-sent").inner_text()
    call_command("worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    code = fake_twilio.last_code(mobile)
    wrong = "0000" if code != "0000" else "1111"
    page.keyboard.type(wrong, delay=40)
    page.keyboard.press("Enter")
    page.locator("#remote-error").wait_for()
    assert "Intentos restantes: 2" in page.locator("#remote-error").inner_text()
    shot(page, "remote-wrong-code")
    code_field_focused(page)
    page.keyboard.type(code, delay=40)
    page.keyboard.press("Enter")
    page.locator("#receipt").wait_for()
    text = page.locator("#receipt").inner_text()
    assert "Café gratis" in text and "remota" in text and "50 puntos" in text
    shot(page, "remote-redeemed")
    assert Transaction.objects.filter(kind="redemption").count() == 1
