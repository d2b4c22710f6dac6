"""A7 in a real browser (Debian's Chromium through Playwright): the customer files a claim on a
phone, the admin approves it in the console, and the customer sees it approved in the app."""

import os
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from lealtad.app.actions import open_session
from lealtad.app.auth import COOKIE
from lealtad.app.models import SessionKind
from lealtad.cashier.tests.test_browser import ARGS, BROWSER, CHROMIUM
from lealtad.claims import testing as pictures
from lealtad.core import testing
from lealtad.ledger.models import Account
from lealtad.offers.promotions import local_date

pytestmark = BROWSER
SHOTS = Path(os.environ.get("CLAIMS_SHOTS", "/tmp/shots-claims"))


@pytest.fixture
def playwright(monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield p, browser
        browser.close()


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path


def shot(page, name):
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_a_claim_filed_on_the_phone_is_approved_in_the_console(playwright, live_server):
    p, browser = playwright
    shop = testing.make_merchant("Café Aroma", admin="alice")
    testing.make_merchant("Librería Macondo")  # another merchant of the network, in the list
    ana = testing.make_customer(shop).customer
    _session, token = open_session(ana, user_agent="Pixel 5", kind=SessionKind.WEB)

    phone = browser.new_context(**p.devices["Pixel 5"], locale="es-CO")
    phone.add_cookies([{"name": COOKIE, "value": token, "url": live_server.url}])
    app = phone.new_page()
    app.goto(f"{live_server.url}/app/claims/new/")
    expect(app.get_by_role("heading", name="Reclamar una compra")).to_be_visible()
    app.get_by_label("Comercio").select_option(label=shop.merchant.name)
    # The page's script lists only this merchant's branches, and picks the only one.
    expect(app.get_by_label("Sucursal")).to_have_value(str(shop.branch.pk))
    assert app.locator("#id_branch option").count() == 2
    app.get_by_label("Número de factura").fill("F-2026")
    app.get_by_label("Valor").fill("25.000")
    today = local_date(shop.merchant, timezone.now())
    app.get_by_label("Fecha de compra").fill(today.isoformat())
    app.get_by_label("Foto de la factura").set_input_files(
        files=[{"name": "factura.jpg", "mimeType": "image/jpeg", "buffer": pictures.text_file()}]
    )
    shot(app, "01-app-form")
    app.get_by_role("button", name="Enviar el reclamo").click()
    error = app.locator("#id_photo_error")
    expect(error).to_contain_text("El archivo no es una imagen")
    shot(app, "02-app-form-error")
    # As the customer sees it: the message under the photo field, above the bottom bar.
    app.locator("#id_photo_error").evaluate("e => e.scrollIntoView({block: 'center'})")
    app.screenshot(path=str(SHOTS / "02b-app-form-error-viewport.png"))

    app.get_by_label("Foto de la factura").set_input_files(
        files=[
            {
                "name": "factura.jpg",
                "mimeType": "image/jpeg",
                "buffer": pictures.photo("JPEG", size=(900, 1200)),
            }
        ]
    )
    app.get_by_role("button", name="Enviar el reclamo").click()
    app.wait_for_url("**/app/claims/")
    expect(app.get_by_text("Reclamo enviado.")).to_be_visible()
    expect(app.locator(".claim").first).to_contain_text("En revisión")
    shot(app, "03-app-list-waiting")
    # Nothing of the page is wider than the phone.
    assert app.evaluate("document.documentElement.scrollWidth") <= 393

    desk = browser.new_context(viewport={"width": 1280, "height": 900}, locale="es-CO")
    console = desk.new_page()
    console.goto(f"{live_server.url}/login/")
    console.fill("#id_username", "alice")
    console.fill("#id_password", testing.PASSWORD)
    console.keyboard.press("Enter")
    console.wait_for_url("**/console/")
    console.get_by_role("link", name="Reclamos de compra").click()
    console.wait_for_url("**/console/claims/")
    expect(console.get_by_role("cell", name="F-2026", exact=True)).to_be_visible()
    thumb = console.locator("img[alt='Foto de la factura F-2026']")
    expect(thumb).to_be_visible()
    assert console.evaluate("i => i.naturalWidth", thumb.element_handle()) > 0  # it loaded
    shot(console, "04-console-queue")
    console.get_by_role("link", name="F-2026", exact=True).click()
    expect(console.get_by_role("heading", name="Reclamo de la factura F-2026")).to_be_visible()
    shot(console, "05-console-claim")
    console.get_by_role("button", name="Aprobar y acumular").click()
    expect(console.get_by_text("Reclamo aprobado: 25 puntos.")).to_be_visible()
    shot(console, "06-console-approved")
    assert Account.objects.get(merchant=shop.merchant, customer=ana).balance == 25

    app.reload()
    claim = app.locator(".claim").first
    expect(claim).to_contain_text("Aprobado")
    expect(claim).to_contain_text("+25 puntos")
    shot(app, "07-app-list-approved")

    # A second claim, rejected: the reason is required, and the customer reads it.
    app.goto(f"{live_server.url}/app/claims/new/")
    app.get_by_label("Comercio").select_option(label=shop.merchant.name)
    app.get_by_label("Número de factura").fill("F-2027")
    app.get_by_label("Valor").fill("18.000")
    app.get_by_label("Fecha de compra").fill(today.isoformat())
    app.get_by_label("Foto de la factura").set_input_files(
        files=[{"name": "f.png", "mimeType": "image/png", "buffer": pictures.photo("PNG")}]
    )
    app.get_by_role("button", name="Enviar el reclamo").click()
    app.wait_for_url("**/app/claims/")
    console.goto(f"{live_server.url}/console/claims/")
    console.get_by_role("link", name="F-2027", exact=True).click()
    console.get_by_role("button", name="Rechazar").click()
    expect(console.locator("#reason-error")).to_contain_text("Este campo es obligatorio.")
    shot(console, "08-console-reject-needs-reason")
    console.get_by_label("Motivo").fill("La foto no deja leer el total")
    console.get_by_role("button", name="Rechazar").click()
    expect(console.get_by_text("Reclamo rechazado.")).to_be_visible()
    app.reload()
    rejected = app.locator(".claim").first
    expect(rejected).to_contain_text("Rechazado")
    expect(rejected).to_contain_text("Motivo: La foto no deja leer el total")
    shot(app, "09-app-list-rejected")
    phone.close()
    desk.close()
