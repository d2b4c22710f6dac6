"""A1 in Chromium at a phone's size (Playwright's Pixel 5, narrowed to 360 px): sign-in with the
code read from a real local SMTP server (aiosmtpd), the shell, the account, "sign out
everywhere", joining the network, and the QR page read offline from the service worker.

Ports: the live server and the SMTP server use this helper's own (LEALTAD_APP_TEST_PORTS, else
8610-8619): run with `--liveserver 127.0.0.1:8610`."""

import os
import re
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from django.test import override_settings

from lealtad.app.models import CustomerSession
from lealtad.cashier.tests.test_browser import BROWSER, browser  # noqa: F401 (a fixture)
from lealtad.core import testing
from lealtad.core.email_url import parse_email_url
from lealtad.customers.actions import find_customers
from lealtad.customers.models import Customer
from lealtad.notifications.actions import deliver
from lealtad.notifications.tests.test_mail import Inbox, decoded

pytestmark = BROWSER
SHOTS = Path(os.environ.get("LEALTAD_SHOTS", "/tmp/shots-signin"))
SMTP_PORT = int(os.environ.get("LEALTAD_APP_SMTP_PORT", "8611"))


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=SMTP_PORT)
    controller.start()
    try:
        with override_settings(**parse_email_url(f"smtp://127.0.0.1:{SMTP_PORT}")):
            yield inbox
    finally:
        controller.stop()


@pytest.fixture
def phone(browser):  # noqa: F811
    SHOTS.mkdir(parents=True, exist_ok=True)
    device = {
        "user_agent": (
            "Mozilla/5.0 (Linux; Android 11; Pixel 5) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/120.0 Mobile Safari/537.36"
        ),
        "viewport": {"width": 360, "height": 780},  # Pixel 5's preset is 393: narrower here
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    }
    context = browser.new_context(**device, locale="es-CO")
    # Every page runs under the Content-Security-Policy without a violation or a script error.
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


def code_from(smtp, to: str) -> str:
    """Send what the outbox holds (the task worker's job) and read the newest code to `to`."""
    deliver()
    texts = [decoded(content) for rcpt, content in smtp.messages if to in rcpt]
    assert texts, f"no e-mail to {to}"
    return re.search(r"\b(\d{6})\b", texts[-1]).group(1)


def no_overflow(page):
    """Nothing wider than the phone (no sideways scrolling at 360 px)."""
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_sign_in_with_the_emailed_code_then_sign_out_everywhere(phone, live_server, smtp):
    shop = testing.make_merchant("Café Aroma")
    ana = testing.make_customer(shop, first_name="Ana").customer
    base = live_server.url
    page = phone.new_page()

    page.goto(f"{base}/app/account/")
    page.wait_for_url("**/app/signin/?next=%2Fapp%2Faccount%2F")
    page.get_by_role("heading", name="Iniciar sesión").wait_for()
    no_overflow(page)
    shot(page, "01-signin")

    page.get_by_label("Correo electrónico o número de celular").fill("no es un correo")
    page.get_by_role("button", name="Enviarme un código").tap()
    page.locator(".field.invalid .error").wait_for()
    shot(page, "02-signin-error")

    page.get_by_label("Correo electrónico o número de celular").fill(ana.email.upper())
    page.get_by_role("button", name="Enviarme un código").tap()
    page.get_by_role("heading", name="Escriba el código").wait_for()
    code_input = page.get_by_label("Código")
    assert code_input.get_attribute("inputmode") == "numeric"
    assert code_input.get_attribute("autocomplete") == "one-time-code"
    assert ana.email in page.content()
    shot(page, "03-code")

    code = code_from(smtp, ana.email)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    code_input.fill(wrong)
    page.keyboard.press("Enter")
    page.locator(".field.invalid .error").wait_for()
    assert "incorrecto" in page.locator(".field.invalid .error").inner_text()
    shot(page, "04-code-wrong")

    page.get_by_label("Código").fill(code)
    page.keyboard.press("Enter")
    page.wait_for_url("**/app/account/")
    page.get_by_role("heading", name="Mi cuenta").wait_for()
    cookie = next(c for c in phone.cookies() if c["name"] == "lealtad_app")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    no_overflow(page)
    shot(page, "05-account")

    nav = page.get_by_role("navigation", name="Secciones de la app")
    nav.get_by_role("link", name="Inicio").tap()
    page.get_by_role("heading", name="Hola, Ana").wait_for()
    no_overflow(page)
    shot(page, "06-home")
    nav.get_by_role("link", name="Mi QR").tap()
    page.locator(".qr svg").wait_for()
    shot(page, "07-qr")
    nav.get_by_role("link", name="Premios").tap()
    page.get_by_role("heading", name="Premios").wait_for()
    shot(page, "08-prizes")
    nav.get_by_role("link", name="Comercios").tap()
    page.get_by_role("heading", name="Comercios").wait_for()
    shot(page, "09-merchants")

    # The keyboard reaches everything, with a visible focus.
    page.keyboard.press("Tab")
    focused = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert focused != "none"

    # A second phone signed in too; "sign out everywhere" ends both.
    other = testing.make_customer(shop)  # another customer's session is untouched
    from lealtad.app.actions import open_session

    iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Version/17.0 Safari/604.1"
    open_session(ana, user_agent=iphone)
    open_session(other.customer)
    page.goto(f"{base}/app/account/")
    assert page.get_by_text("Safari · iPhone").count() == 1
    assert page.get_by_text("Chrome · Android").count() == 1
    assert page.get_by_text("Este teléfono").count() == 1
    shot(page, "05b-account-sessions")
    page.get_by_role("button", name="Cerrar sesión en todos los dispositivos").tap()
    page.wait_for_url("**/app/signin/?signed_out=1")
    page.get_by_text("Usted cerró la sesión.").wait_for()
    shot(page, "10-signed-out")
    assert not CustomerSession.objects.filter(customer=ana, revoked_at__isnull=True).exists()
    assert CustomerSession.objects.filter(customer=other.customer, revoked_at__isnull=True)
    page.goto(f"{base}/app/")
    page.wait_for_url("**/app/signin/**")


def test_join_then_sign_in_and_the_till_finds_them(phone, live_server, smtp):
    testing.make_merchant("Café Aroma")
    base = live_server.url
    page = phone.new_page()
    page.goto(f"{base}/app/signin/")
    page.get_by_role("link", name="Registrarse").tap()
    page.get_by_role("heading", name="Únase a la red").wait_for()
    no_overflow(page)
    shot(page, "11-join")

    page.get_by_label("Tipo de documento").select_option(label="Colombia · Cédula de ciudadanía")
    page.get_by_label("Número de documento").fill("12AB")
    page.get_by_role("button", name="Registrarme y recibir mi código").tap()
    page.locator(".field.invalid .error").first.wait_for()
    shot(page, "12-join-errors")

    number = testing.colombian_document()
    page.get_by_label("Número de documento").fill(number)
    page.get_by_label("Nombres").fill("Lucía")
    page.get_by_label("Apellidos").fill("Restrepo")
    page.get_by_label("Correo electrónico").fill("lucia@example.com")
    page.get_by_label("Celular (opcional)").fill("3001234599")
    page.get_by_role("button", name="Registrarme y recibir mi código").tap()
    page.get_by_role("heading", name="Escriba el código").wait_for()
    shot(page, "13-join-code")
    lucia = Customer.objects.get(email="lucia@example.com")
    assert lucia.mobile == "+573001234599" and not lucia.memberships.exists()
    assert find_customers(number, country="CO") == [lucia]  # the till finds her

    page.get_by_label("Código").fill(code_from(smtp, "lucia@example.com"))
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Hola, Lucía").wait_for()

    # The QR page, kept by the service worker, reads offline.
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.goto(f"{base}/app/qr/")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.reload()  # now through the worker, which keeps a copy
    page.locator(".qr svg").wait_for()
    page.wait_for_timeout(300)
    phone.set_offline(True)
    try:
        page.reload()
        page.locator(".qr svg").wait_for()
        shot(page, "14-qr-offline")
        page.goto(f"{base}/app/account/")
        page.get_by_role("heading", name="Sin conexión").wait_for()
        shot(page, "15-offline")
    finally:
        phone.set_offline(False)
    # Signing out tells the worker to forget the pages it kept for her.
    kept = "() => caches.keys().then(ks => Promise.all(ks.map(k => caches.open(k)"
    kept += ".then(c => c.match('/app/qr/'))))).then(hits => hits.some(Boolean))"
    assert page.evaluate(kept)
    page.goto(f"{base}/app/account/")
    page.get_by_role("button", name="Cerrar sesión", exact=True).tap()
    page.get_by_text("Usted cerró la sesión.").wait_for()
    page.wait_for_function(kept.replace("hits.some(Boolean)", "!hits.some(Boolean)"))
    assert not page.evaluate(kept)


def test_the_other_screens_at_360_px(phone, live_server, smtp):
    """The rate-limit message, the resend, the sign-out page, and Portuguese."""
    from lealtad.app import actions

    shop = testing.make_merchant("Café Aroma")
    ana = testing.make_customer(shop, first_name="Ana").customer
    base = live_server.url
    page = phone.new_page()
    page.goto(f"{base}/app/signin/")
    page.get_by_label("Correo electrónico o número de celular").fill(ana.mobile[3:])
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Escriba el código").wait_for()
    page.get_by_role("button", name="Enviar un código nuevo").tap()
    page.get_by_text("Le enviamos un código nuevo.").wait_for()
    shot(page, "16-code-resent")
    for _ in range(actions.CODES_PER_ADDRESS_HOUR):
        page.get_by_role("button", name="Enviar un código nuevo").tap()
        page.wait_for_load_state()
    page.locator("p.error").wait_for()
    assert "demasiados" in page.locator("p.error").inner_text()
    shot(page, "17-code-rate-limited")

    _session, token = actions.open_session(ana, user_agent="test")
    phone.add_cookies([{"name": "lealtad_app", "value": token, "url": base}])
    page.goto(f"{base}/app/signout/")
    page.get_by_role("heading", name="Cerrar sesión").wait_for()
    shot(page, "18-signout")

    phone.add_cookies([{"name": "django_language", "value": "pt-br", "url": base}])
    page.goto(f"{base}/app/account/")
    page.get_by_role("heading", name="Minha conta").wait_for()
    no_overflow(page)
    shot(page, "19-account-pt-br")
    page.get_by_role("button", name="Sair", exact=True).tap()
    page.get_by_role("heading", name="Entrar").wait_for()
    shot(page, "20-signin-pt-br")
