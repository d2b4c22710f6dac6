"""The shared identity at the till, in Chromium: a customer of another merchant is found masked,
enrolled with one button, and their e-mail changes only with the code they received."""

from lealtad.cashier.tests.test_browser import BROWSER, browser, settle, shot, sign_in  # noqa: F401
from lealtad.core import testing
from lealtad.customers.models import Customer, IdentityChange
from lealtad.customers.tests.codes import codes_of, wrong

pytestmark = BROWSER


def test_enrol_a_stranger_then_change_their_email_with_the_code(browser, live_server):  # noqa: F811
    ana = testing.make_customer(testing.make_merchant("Otra Tienda")).customer
    shop = testing.make_merchant("Café Aroma")
    testing.make_cashier(shop, "carol")
    page = browser.new_page(viewport={"width": 1024, "height": 600})
    sign_in(page, live_server.url, "carol")

    page.fill("#q", ana.document_number)
    page.keyboard.press("Enter")
    page.locator("#stranger").wait_for()
    assert ana.email not in page.content() and ana.mobile not in page.content()
    shot(page, "identity-01-stranger")
    page.get_by_role("button", name="Inscribir aquí").click()
    page.get_by_role("heading", name=ana.full_name).wait_for()

    page.get_by_role("link", name="Cambiar contacto o documento").click()
    settle(page)
    page.fill("#id_email", "ana.nueva@example.com")
    page.get_by_role("button", name="Enviar el código", exact=True).click()
    page.locator("#code-sent").wait_for()
    settle(page)
    codes = codes_of(IdentityChange.objects.get(customer=ana).pk)
    page.keyboard.type(codes["code"])
    page.fill("#id_owner_code", wrong(codes["owner_code"]))
    page.keyboard.press("Enter")
    page.locator("#code-error").wait_for()
    assert Customer.objects.get(pk=ana.pk).email == ana.email
    page.fill("#id_code", codes["code"])
    page.fill("#id_owner_code", codes["owner_code"])
    shot(page, "identity-02-code")
    page.keyboard.press("Enter")
    page.get_by_text("Cambio confirmado por el cliente.").wait_for()
    assert Customer.objects.get(pk=ana.pk).email == "ana.nueva@example.com"
