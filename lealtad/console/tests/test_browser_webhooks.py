"""Webhooks in Chromium, keyboard only: a refused URL, an endpoint created and its secret, its
deliveries, a test event, send again, rotate and delete; 1024×600 and a phone. Screenshots."""

from playwright.sync_api import expect

from lealtad.cashier.tests.test_browser import ARTIFACTS, BROWSER, browser, settle  # noqa: F401
from lealtad.core import testing
from lealtad.webhooks.events import emit
from lealtad.webhooks.models import Delivery, Endpoint

pytestmark = BROWSER
PUBLIC = "https://93.184.215.14/hooks/lealtad"


def shot(page, name):
    page.screenshot(path=str(ARTIFACTS / f"console-webhooks-{name}.png"), full_page=True)


def focused(page):
    return page.evaluate("document.activeElement.id || document.activeElement.textContent")


def sign_in(browser, base, viewport):  # noqa: F811
    page = browser.new_context(viewport=viewport).new_page()
    page.goto(f"{base}/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", testing.PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/")
    return page


def press_on(page, locator):
    locator.focus()
    page.keyboard.press("Enter")


def test_webhook_screens_with_the_keyboard(browser, live_server):  # noqa: F811
    from django.utils import timezone

    shop = testing.make_merchant("Café Aroma", admin="alice")
    base = live_server.url
    page = sign_in(browser, base, {"width": 1024, "height": 600})
    page.goto(f"{base}/console/webhooks/new/")
    settle(page)
    assert focused(page) == "id_url"
    page.keyboard.type("https://10.0.0.5/hooks")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")  # the second event's checkbox: accrual.posted
    page.keyboard.press("Space")
    press_on(page, page.get_by_role("button", name="Crear webhook"))
    error = page.locator("#url-error")
    expect(error).to_contain_text("red privada")
    shot(page, "1-refused-url")

    page.fill("#id_url", PUBLIC)
    expect(page.locator("input[value='accrual.posted']")).to_be_checked()  # kept
    page.locator("input[value='customer.joined']").focus()
    page.keyboard.press("Space")
    page.fill("#id_description", "ERP de la tienda")
    press_on(page, page.get_by_role("button", name="Crear webhook"))
    page.get_by_text("se muestra solo esta vez").wait_for()
    endpoint = Endpoint.objects.get(merchant=shop.merchant)
    assert page.input_value("#webhook-secret") == endpoint.secret
    assert endpoint.events == ["customer.joined", "accrual.posted"]
    shot(page, "2-secret")

    for n in range(3):
        emit(shop.merchant, "accrual.posted", {"points": n, "at": timezone.now()})
    Delivery.objects.filter(endpoint=endpoint).update(attempts=2, last_status_code=503)
    page.keyboard.press("Escape")  # "Ya lo copié": to the endpoint's page
    page.wait_for_url(f"**/console/webhooks/{endpoint.pk}/")
    press_on(page, page.get_by_role("button", name="Enviar evento de prueba"))
    page.get_by_text("Evento de prueba").first.wait_for()
    expect(page.locator("#deliveries tbody tr").first).to_contain_text("webhook.test")
    oldest = Delivery.objects.filter(endpoint=endpoint).order_by("created_at", "pk").first()
    press_on(page, page.locator(f"#delivery-{oldest.pk} button"))
    page.get_by_text("mismo webhook-id").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024
    shot(page, "3-deliveries")

    page.goto(f"{base}/console/webhooks/")
    expect(page.locator(f"#webhook-{endpoint.pk}")).to_contain_text("Activo")
    shot(page, "4-list")

    page.goto(f"{base}/console/webhooks/{endpoint.pk}/rotate/")
    settle(page)
    shot(page, "5-rotate-confirm")
    page.keyboard.press("Enter")  # the focused "Rotar secreto"
    page.get_by_text("El secreto anterior sigue válido durante 24 horas").wait_for()
    shot(page, "6-rotated")

    page.goto(f"{base}/console/webhooks/{endpoint.pk}/delete/")
    settle(page)
    shot(page, "7-delete-confirm")
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/webhooks/")
    page.get_by_text("Aún no hay webhooks.").wait_for()
    assert not Endpoint.objects.filter(pk=endpoint.pk).exists()

    phone = sign_in(browser, base, {"width": 390, "height": 844})
    phone.goto(f"{base}/console/webhooks/new/")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "8-phone-new")
