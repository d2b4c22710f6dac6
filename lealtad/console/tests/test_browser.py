"""The merchant admin and a cashier in a real browser (Debian's Chromium via Playwright)."""

import pytest

from lealtad.cashier.tests.test_browser import ARGS, CHROMIUM, browser, settle, shot  # noqa: F401

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not __import__("os").path.exists(CHROMIUM),
        reason="needs Debian's chromium (apt-get install chromium); .ci/run installs it",
    ),
    pytest.mark.django_db(transaction=True),
]


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
    till.get_by_text("1000 puntos en espera de aprobación").wait_for()
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
    assert till.text_content("#available").strip() == "1000"
    shot(till, "k5-spendable")
