"""API keys in Chromium, keyboard only: create a merchant-wide key, copy its secret with the
button, see it listed without the secret, revoke it after confirming; 1024×600 and a phone."""

from playwright.sync_api import expect

from lealtad.cashier.tests.test_browser import ARTIFACTS, BROWSER, browser, settle  # noqa: F401
from lealtad.core import testing
from lealtad.network.models import ApiKey

pytestmark = BROWSER


def shot(page, name):
    page.screenshot(path=str(ARTIFACTS / f"console-api-keys-{name}.png"), full_page=True)


def focused(page):
    return page.evaluate("document.activeElement.id || document.activeElement.textContent")


def test_create_copy_and_revoke_a_key_with_the_keyboard(browser, live_server):  # noqa: F811
    shop = testing.make_merchant("Café Aroma", admin="alice")
    context = browser.new_context(
        viewport={"width": 1024, "height": 600}, permissions=["clipboard-read", "clipboard-write"]
    )
    page = context.new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", testing.PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/")
    page.goto(f"{live_server.url}/console/api-keys/new/")
    settle(page)
    assert focused(page) == "id_name"
    page.keyboard.type("Tienda web")
    page.keyboard.press("Tab")
    assert focused(page) == "id_branch"
    expect(page.locator("#id_branch option:checked")).to_have_text("Todas las sucursales")
    shot(page, "1-new")
    page.keyboard.press("Tab")
    assert focused(page).strip() == "Crear clave"
    page.keyboard.press("Enter")
    page.get_by_text("se muestra solo esta vez").wait_for()
    settle(page)
    secret = page.input_value("#api-key-secret")
    assert secret.startswith("lpk_")
    shot(page, "2-secret")
    page.keyboard.press("Tab")  # from the secret to "Copiar"
    assert focused(page).strip() == "Copiar"
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Copiado")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == secret
    page.keyboard.press("Escape")  # "Ya lo copié"
    page.wait_for_url("**/console/api-keys/")
    key = ApiKey.objects.get(merchant=shop.merchant, name="Tienda web")
    row = page.locator(f"#api-key-{key.pk}")
    expect(row).to_contain_text("Todas las sucursales")
    expect(row).to_contain_text("Nunca")
    assert secret not in page.content()
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024
    shot(page, "3-list")

    row.get_by_role("link", name="Revocar").focus()
    page.keyboard.press("Enter")
    page.get_by_text("¿Revocar la clave Tienda web").wait_for()
    settle(page)
    shot(page, "4-confirm")
    page.keyboard.press("Enter")  # the focused "Revocar clave"
    page.get_by_text("Clave Tienda web revocada").wait_for()
    expect(row).to_contain_text("Revocada")
    key.refresh_from_db()
    assert key.revoked_at is not None

    phone = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    phone.goto(f"{live_server.url}/login/")
    phone.fill("#id_username", "alice")
    phone.fill("#id_password", testing.PASSWORD)
    phone.keyboard.press("Enter")
    phone.wait_for_url("**/console/")
    phone.goto(f"{live_server.url}/console/api-keys/")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "5-phone")
