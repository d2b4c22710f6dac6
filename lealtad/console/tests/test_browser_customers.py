"""The merchant admin's customer screens in a real browser (Debian's Chromium via Playwright):
the three-step registration of a dependent, a reversal from the statement, a block and its
removal. Screenshots land in test-artifacts/."""

from decimal import Decimal

from playwright.sync_api import expect

from lealtad.cashier.tests.test_browser import ARGS, BROWSER, CHROMIUM, browser, settle, shot  # noqa: F401
from lealtad.console.tests.test_browser import _sign_in
from lealtad.core import testing

pytestmark = BROWSER


def test_register_dependent_reverse_and_block(browser, live_server):  # noqa: F811
    from lealtad.customers.models import Membership
    from lealtad.ledger import actions as ledger
    from lealtad.ledger.models import Transaction

    base = live_server.url
    shop = testing.make_merchant("Panadería La Espiga", admin="espiga")
    holder = testing.make_customer(shop, first_name="Rosa", last_name="Titular").membership
    Membership.objects.filter(pk=holder.pk).update(card_number="H-100", redeem_policy="all")
    for amount in ("20000", "15000"):
        ledger.accrue_points(
            merchant=shop.merchant,
            customer=holder.customer,
            amount=Decimal(amount),
            branch=shop.branch,
        )
    for n in range(3):
        testing.make_customer(shop, first_name=f"Cliente {n}", last_name="Frecuente")

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    _sign_in(page, base, "espiga")
    page.get_by_role("link", name="Clientes", exact=True).click()
    page.wait_for_url("**/console/customers/")
    settle(page)
    expect(page.locator("input[name=q]")).to_be_focused()
    shot(page, "c1-customers")

    # Step 1: who. The first field has the cursor; Next validates before moving on.
    page.get_by_role("link", name="Registrar cliente").click()
    page.wait_for_url("**/customers/new/")
    settle(page)
    page.get_by_role("button", name="Siguiente").click()
    page.locator("#document_number-error").wait_for()
    settle(page)
    document = testing.colombian_document()
    page.fill("#id_document_number", document)
    page.fill("#id_first_name", "Tomás")
    page.fill("#id_last_name", "Titular Rojas")
    page.select_option("#id_gender", "M")
    page.fill("#id_birth_date", "2012-06-01")
    shot(page, "c2-step1")
    page.get_by_role("button", name="Siguiente").click()

    # Step 2: how to reach them. Going back keeps what was typed on both steps.
    # htmx moves the focus to the step's first field after the swap: typing before that would
    # land in the wrong field.
    page.locator("#id_mobile").wait_for()
    settle(page)
    page.fill("#id_mobile", "310 555 0101")
    page.fill("#id_email", "tomas@example.com")
    page.get_by_role("button", name="Atrás").click()
    expect(page.locator("#id_first_name")).to_have_value("Tomás")
    page.get_by_role("button", name="Siguiente").click()
    expect(page.locator("#id_mobile")).to_have_value("310 555 0101")
    page.get_by_role("button", name="Siguiente").click()

    # Step 3: a dependent names the holder; who-may-redeem is the holder's to decide.
    page.locator("#id_card_number").wait_for()
    settle(page)
    expect(page.locator("#id_holder")).to_be_hidden()
    page.get_by_label("Dependiente de otro cliente").check()
    expect(page.locator("#id_holder")).to_be_visible()
    expect(page.locator("#id_redeem_policy_0")).to_be_hidden()
    page.fill("#id_card_number", "D-200")
    page.fill("#id_holder", "H-100")
    shot(page, "c3-step3-dependent")
    page.get_by_role("button", name="Registrar", exact=True).click()
    page.get_by_text("Cliente registrado.").wait_for()
    page.get_by_text("Dependiente: sus acumulaciones van al saldo del titular.").wait_for()
    shot(page, "c4-dependent-profile")
    dependent = Membership.objects.get(customer__document_number=document)
    assert dependent.holder_id == holder.pk and dependent.card_number == "D-200"

    # The dependent's purchase lands on the holder's balance.
    ledger.accrue_points(
        merchant=shop.merchant,
        customer=dependent.customer,
        amount=Decimal("5000"),
        branch=shop.branch,
    )

    # Reversal from the holder's statement, with a reason.
    page.get_by_role("link", name="Rosa Titular").first.click()
    page.wait_for_url(f"**/customers/{holder.customer_id}/")
    expect(page.locator("#available")).to_have_text("40")
    row = page.locator("#statement tbody tr", has_text="+20").first
    row.get_by_text("Reversar").first.click()
    row.get_by_placeholder("Motivo").fill("Factura anulada en caja")
    row.get_by_role("button", name="Reversar").click()
    page.get_by_text("Movimiento reversado.").wait_for()
    expect(page.locator("#available")).to_have_text("20")
    page.get_by_text("Factura anulada en caja").first.wait_for()
    shot(page, "c5-reversed")
    assert Transaction.objects.filter(kind="reversal", reason="Factura anulada en caja").exists()

    # Block by card number from the block list; removing it asks first.
    page.get_by_role("link", name="Clientes", exact=True).click()
    page.get_by_role("link", name="Bloqueados para redimir").click()
    page.wait_for_url("**/customers/blocked/")
    settle(page)
    page.fill("#id_customer", "H-100")
    page.fill("#id_reason", "Revisión de facturas duplicadas")
    page.get_by_role("button", name="Bloquear").click()
    page.get_by_text("está bloqueada para redimir").wait_for()  # Rosa: agreement
    shot(page, "c6-blocked-list")
    holder.refresh_from_db()
    assert holder.blocked
    page.get_by_role("link", name="Retirar bloqueo").click()
    page.get_by_text("¿Retirar el bloqueo de Rosa Titular?").wait_for()
    shot(page, "c7-unblock-confirm")
    page.get_by_role("button", name="Retirar bloqueo").click()
    page.get_by_text("No hay nadie bloqueado.").wait_for()
    holder.refresh_from_db()
    assert not holder.blocked
