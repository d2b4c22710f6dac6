"""The cashier's day in a real browser: Debian's Chromium driven by Playwright."""

import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

from lealtad.core import testing

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Every browser test module: `pytestmark = BROWSER`.
BROWSER = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM),
        reason="needs Debian's chromium (apt-get install chromium); .ci/run installs it",
    ),
    pytest.mark.django_db(transaction=True),
]
pytestmark = BROWSER


@pytest.fixture
def browser(monkeypatch):
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls made by the
    # test itself are fine.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield instance
        instance.close()


def shot(page, name):
    page.screenshot(path=str(ARTIFACTS / f"cashier-{name}.png"), full_page=True)


def settle(page):
    """After a boosted swap htmx moves the focus to the [autofocus] field; typing before that
    lands in the wrong field, so wait for it (a real cashier cannot type that fast)."""
    page.wait_for_function(
        "() => { const a = document.querySelector('[autofocus]');"
        " return !a || document.activeElement === a; }"
    )


def sign_in(page, base, username):
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", testing.PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/cashier/")


def goal(page, which):
    return int(page.locator(".progress").nth(which).get_attribute("aria-valuenow"))


def test_a_new_customer_from_search_to_redemption(browser, live_server):
    shop = testing.make_merchant("Café Aroma", welcome_bonus_points=20)
    testing.make_cashier(shop, "carol")
    testing.make_reward(shop, cost=100, name="Desayuno")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, live_server.url, "carol")
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'q'")
    shot(page, "01-home")

    page.fill("#q", "80555666")
    page.keyboard.press("Enter")
    page.get_by_text("Cliente no encontrado.").wait_for()
    shot(page, "02-not-found")
    page.get_by_role("link", name="Registrar este cliente").click()
    settle(page)
    assert page.input_value("#id_document_number") == "80555666"
    page.fill("#id_email", "nueva@example.com")
    shot(page, "03-register")
    page.get_by_role("button", name="Registrar", exact=True).click()
    page.get_by_text("Cliente registrado.").wait_for()
    assert page.text_content("#available").strip() == "20"
    assert goal(page, 0) == 20  # 1 of 5 registrations

    page.fill("#id_amount", "150.000")
    expect(page.locator(".preview")).to_contain_text("Otorga 150 puntos")
    page.fill("#id_invoice_number", "F-100")
    page.get_by_role("button", name="Acumular", exact=True).click()
    page.get_by_text("+150 puntos").wait_for()
    assert page.text_content("#available").strip() == "170"
    assert goal(page, 1) == 5  # 1 of 20 accruals
    shot(page, "04-accrued")

    page.get_by_role("link", name="Completar perfil").click()
    settle(page)
    page.fill("#id_first_name", "Lucía")
    page.fill("#id_last_name", "Mejía")
    page.select_option("#id_gender", "F")
    page.fill("#id_birth_date", "1992-04-05")
    page.fill("#id_mobile", "3105551234")
    shot(page, "05-profile")
    page.get_by_role("button", name="Guardar").click()
    page.get_by_role("heading", name="Lucía Mejía").wait_for()

    page.get_by_role("link", name="Desayuno").click()
    page.get_by_role("dialog").wait_for()
    shot(page, "06-confirm")
    page.get_by_role("button", name="Confirmar redención").dblclick()
    page.get_by_text("Nuevo saldo: 70 puntos").wait_for()
    shot(page, "07-receipt")
    from lealtad.ledger.models import Transaction

    assert Transaction.objects.filter(kind="redemption").count() == 1


def test_the_same_in_portuguese(browser, live_server):
    shop = testing.make_merchant("Posto Estrada", country="BR", point_value="5")
    testing.make_cashier(shop, "caixa")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, live_server.url, "caixa")
    assert "Metas de hoje" in page.content()
    cpf = testing.brazilian_cpf()
    page.fill("#q", cpf)
    page.keyboard.press("Enter")
    page.get_by_role("link", name="Cadastrar este cliente").click()
    settle(page)
    page.select_option("#id_document_type", "CPF")
    page.fill("#id_email", "motorista@example.com")
    page.get_by_role("button", name="Cadastrar", exact=True).click()
    page.get_by_text("Cliente cadastrado.").wait_for()
    page.fill("#id_amount", "250,00")
    page.get_by_role("button", name="Acumular", exact=True).click()
    page.get_by_text("+50 pontos").wait_for()
    shot(page, "08-portugues")


def test_keyboard_only(browser, live_server):
    shop = testing.make_merchant("Farmacia", country="PA", point_value="1")
    testing.make_cashier(shop, "caja")
    made = testing.make_customer(shop)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/login/")
    page.wait_for_function(
        "() => document.activeElement && document.activeElement.id === 'id_username'"
    )
    page.keyboard.type("caja")
    page.keyboard.press("Tab")
    page.keyboard.type(testing.PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/cashier/")
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'q'")
    page.keyboard.type(made.customer.email)  # the search field has the focus
    page.keyboard.press("Enter")
    page.wait_for_selector("#id_amount")
    page.wait_for_function(
        "() => document.activeElement && document.activeElement.id === 'id_amount'"
    )
    page.keyboard.type("42.50")
    page.keyboard.press("Enter")
    page.get_by_text("+42 puntos").wait_for()
    shot(page, "09-keyboard")


@pytest.mark.parametrize("size", [(1366, 768), (1024, 600), (390, 844)])
def test_the_preview_is_what_the_accrual_gives_and_keeps_the_cursor(browser, live_server, size):
    """ "Otorga 25", then +50: the preview must be the accrual's own quote, promotions included,
    and quoting must not take the cursor out of the amount."""
    from decimal import Decimal

    shop = testing.make_merchant("Café Promo")
    testing.make_cashier(shop, "carol")
    testing.make_promotion(shop, kind="multiplier", multiplier=Decimal("2"), name="Doble")
    testing.make_promotion(shop, kind="bonus", bonus_points=50, name="Bono")
    member = testing.make_customer(shop).membership
    page = browser.new_page(viewport={"width": size[0], "height": size[1]})
    sign_in(page, live_server.url, "carol")
    page.goto(f"{live_server.url}/cashier/c/{member.customer_id}/")
    amount = page.locator("#id_amount")
    amount.click()
    page.keyboard.type("25.000", delay=40)
    expect(page.locator(".preview")).to_contain_text("Otorga 100 puntos")
    expect(page.locator(".preview")).to_contain_text("Incluye +50 de Bono.")
    expect(amount).to_be_focused()
    shot(page, f"preview-{size[0]}")
    page.keyboard.press("Enter")
    page.get_by_text("+100 puntos").wait_for()
    assert page.text_content("#available").strip() == "100"
    amount.click()
    page.keyboard.type("999", delay=40)
    expect(page.locator(".preview")).to_contain_text(
        "La compra mínima que da puntos es de 1.000 COP."
    )
    expect(amount).to_be_focused()
    assert page.input_value("#id_amount") == "999"
