"""The merchant admin and a cashier in a real browser (Debian's Chromium via Playwright)."""

from playwright.sync_api import expect

from lealtad.cashier.tests.test_browser import ARGS, BROWSER, CHROMIUM, browser, settle, shot  # noqa: F401
from lealtad.core import testing

pytestmark = BROWSER


def test_sign_up_configure_hold_and_approve(browser, live_server):  # noqa: F811
    from lealtad.ledger.models import Transaction

    base = live_server.url
    admin = browser.new_page(viewport={"width": 1280, "height": 900})
    admin.goto(f"{base}/signup/")
    admin.fill("#id_name", "Panadería La Espiga")
    admin.fill("#id_email", "duena@laespiga.co")
    admin.fill("#id_phone", "601 555 0100")
    admin.fill("#id_address", "Calle 10 # 5-20")
    admin.select_option("#id_country", "CO")
    admin.fill("#id_password", "pan-de-bono-2026")
    shot(admin, "k1-signup")
    admin.get_by_role("button", name="Crear programa").click()
    admin.wait_for_url("**/console/")

    admin.goto(f"{base}/console/program/")
    admin.fill("#id_point_value", "500")
    admin.get_by_role("button", name="Guardar").click()
    admin.get_by_text("Configuración del programa guardada.").wait_for()

    admin.goto(f"{base}/console/staff/")
    admin.fill("#id_username", "caja1")
    admin.fill("#id_password", "caja-segura-2026")
    admin.get_by_role("button", name="Crear cajero").click()
    admin.get_by_text("Cajero creado.").wait_for()
    admin.goto(f"{base}/console/goals/")
    admin.select_option("#staff", label="caja1")
    admin.fill("#id_registrations", "3")
    admin.fill("#id_accruals", "10")
    admin.get_by_role("button", name="Guardar").click()
    admin.get_by_text("Metas guardadas.").wait_for()

    admin.goto(f"{base}/console/categories/new/")
    admin.fill("#id_name", "Mayoristas")
    admin.fill("#id_multiplier", "1")
    admin.get_by_role("button", name="Guardar").click()
    admin.get_by_text("Categoría guardada.").wait_for()
    admin.goto(f"{base}/console/rules/")
    admin.fill("#id_max_invoice_amount_limit", "200000")
    admin.get_by_role("button", name="Guardar").click()
    admin.get_by_text("Reglas antifraude guardadas.").wait_for()
    shot(admin, "k2-rules")

    till = browser.new_context().new_page()
    till.set_viewport_size({"width": 1280, "height": 900})
    till.goto(f"{base}/login/")
    till.fill("#id_username", "caja1")
    till.fill("#id_password", "caja-segura-2026")
    till.keyboard.press("Enter")
    till.wait_for_url("**/cashier/")
    assert "0 / 10" in till.content()
    till.fill("#q", "80777888")
    till.keyboard.press("Enter")
    till.get_by_role("link", name="Registrar este cliente").click()
    settle(till)
    till.fill("#id_email", "mayorista@example.com")
    till.get_by_role("button", name="Registrar", exact=True).click()
    till.get_by_text("Cliente registrado.").wait_for()
    till.fill("#id_amount", "500.000")
    till.get_by_role("button", name="Acumular", exact=True).click()
    till.get_by_text("1.000 puntos en espera de aprobación").wait_for()
    shot(till, "k3-held")
    assert till.text_content("#available").strip() == "0"

    admin.goto(f"{base}/console/approvals/")
    admin.get_by_text("Valor máximo de factura").wait_for()
    shot(admin, "k4-queue")
    admin.locator("input[name=ids]").first.check()
    admin.get_by_role("button", name="Aprobar seleccionadas").click()
    admin.get_by_text("1 acumulaciones aprobadas.").wait_for()
    assert Transaction.objects.get(kind="accrual").status == "posted"

    till.reload()
    assert till.text_content("#available").strip() == "1.000"
    shot(till, "k5-spendable")


def _sign_in(page, base, username):
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", testing.PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/login/" not in url)


def test_promotion_and_gift_reach_the_till(browser, live_server):  # noqa: F811
    from lealtad.ledger.models import Account

    base = live_server.url
    shop = testing.make_merchant("Café Aroma", admin="aroma")
    testing.make_cashier(shop, "caja-aroma")
    member = testing.make_customer(shop).membership

    admin = browser.new_page(viewport={"width": 1280, "height": 900})
    _sign_in(admin, base, "aroma")
    admin.goto(f"{base}/console/promotions/new/")
    admin.fill("#id_name", "Doble puntos de diciembre")
    admin.select_option("#id_kind", "multiplier")
    assert admin.locator("#id_bonus_points").is_hidden()  # fields of other kinds step aside
    admin.fill("#id_multiplier", "2")
    admin.fill("#id_ends_on", "2099-12-31")
    admin.fill("#id_starts_on", "2020-01-01")
    shot(admin, "k6-promotion-form")
    admin.get_by_role("button", name="Guardar").click()
    admin.get_by_text("Promoción guardada.").wait_for()
    shot(admin, "k7-promotions")

    admin.goto(f"{base}/console/gifts/new/")
    admin.fill("#id_name", "Bono de disculpa")
    admin.select_option("#id_kind", "points")
    admin.fill("#id_points", "40")
    admin.get_by_role("button", name="Guardar").click()
    admin.get_by_text("Regalo guardado.").wait_for()
    admin.fill("#id_customer", member.customer.document_number)
    admin.select_option("#id_gift", label="Bono de disculpa")
    admin.fill("#id_note", "Por la demora del pedido")
    admin.get_by_role("button", name="Ofrecer").click()
    admin.get_by_text("Regalo ofrecido.").wait_for()
    shot(admin, "k8-gifts")

    till = browser.new_context().new_page()
    till.set_viewport_size({"width": 1280, "height": 1000})
    _sign_in(till, base, "caja-aroma")
    till.fill("#q", member.customer.document_number)
    till.keyboard.press("Enter")
    till.get_by_text("Promociones para este cliente").wait_for()
    assert "Bono de disculpa" in till.content()
    expect(till.locator("#id_amount")).to_be_focused()  # the screen puts the cashier there
    till.keyboard.type("10.000")
    # The preview is the accrual's own quote: it counts the multiplier.
    expect(till.locator(".preview")).to_contain_text("Otorga 20 puntos")
    expect(till.locator("#id_amount")).to_be_focused()
    till.get_by_role("button", name="Acumular", exact=True).click()
    till.get_by_text("Incluye +10 de Doble puntos de diciembre.").wait_for()
    till.get_by_role("button", name="Canjear regalo").click()
    till.get_by_text("Entregado: Bono de disculpa").wait_for()
    shot(till, "k9-till-promotions-gifts")
    assert till.text_content("#available").strip() == "60"
    assert Account.objects.get(pk=member.account_id).balance == 60


CONSOLE_SCREENS = [
    ("", "Café Aroma"),
    ("program/", "Programa"),
    ("staff/", "Personal"),
    ("branches/", "Sucursales"),
    ("prizes/", "Premios"),
    ("promotions/", "Promociones"),
    ("gifts/", "Catálogo de regalos"),
    ("goals/", "Metas"),
    ("categories/", "Categorías"),
    ("rules/", "Reglas antifraude"),
    ("approvals/", "Cola de aprobación"),
]


def test_every_console_screen_renders_for_the_demo_merchant(browser, live_server):  # noqa: F811
    from django.core.management import call_command

    call_command("demo", verbosity=0)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "cafe.admin")
    page.fill("#id_password", "lealtad-demo")
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/")
    for path, heading in CONSOLE_SCREENS:
        response = page.goto(f"{live_server.url}/console/{path}")
        assert response.status == 200, path
        page.get_by_role("heading", name=heading).first.wait_for()
        shot(page, f"console-{path.strip('/') or 'home'}")
