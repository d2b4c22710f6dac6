"""The till typed at a cashier's speed, in Chromium, at the three window sizes tills have: the
cursor stays where the cashier put it, a scan switches customer, nothing is below the fold."""

import pytest

from lealtad.cashier.tests.test_browser import BROWSER, browser, shot, sign_in  # noqa: F401
from lealtad.core import testing
from lealtad.customers.models import Customer

pytestmark = BROWSER

SIZES = {"desktop": (1366, 768), "till": (1024, 600), "phone": (390, 844)}
# A quick cashier: about 25 keys a second, Tab between fields.
KEY_DELAY_MS = 40


@pytest.fixture(params=list(SIZES))
def size(request):
    return request.param


def open_page(browser, size):  # noqa: F811
    width, height = SIZES[size]
    return browser.new_page(viewport={"width": width, "height": height})


def type_field(page, text):
    page.keyboard.type(text, delay=KEY_DELAY_MS)


def focused(page):
    return page.evaluate("document.activeElement && document.activeElement.id")


@pytest.mark.parametrize("mode", ["quick", "complete"])
def test_a_registration_typed_field_after_field_keeps_the_cursor(browser, live_server, size, mode):  # noqa: F811
    shop = testing.make_merchant("Café Aroma")
    testing.make_cashier(shop, "carol")
    page = open_page(browser, size)
    sign_in(page, live_server.url, "carol")
    page.goto(f"{live_server.url}/cashier/register/?mode={mode}")
    page.wait_for_function("document.activeElement.id === 'id_document_number'")
    document = testing.colombian_document()
    type_field(page, document)
    page.keyboard.press("Tab")  # leaving the field runs the document check (HTMX)
    type_field(page, "jose.completo@example.com")
    page.keyboard.press("Tab")
    type_field(page, "3105551234")
    page.keyboard.press("Tab")
    type_field(page, "Medellín")
    if mode == "complete":
        page.keyboard.press("Tab")
        type_field(page, "José")
        page.keyboard.press("Tab")
        type_field(page, "Pérez Gómez")
        page.keyboard.press("Tab")
        page.keyboard.press("M")  # the gender select: "Masculino"
        page.keyboard.press("Tab")
        assert focused(page) == "id_birth_date"
        page.fill("#id_birth_date", "1990-05-17")
    # and by mouse: a click in a field after the check ran leaves the cursor there
    page.click("#id_email")
    page.keyboard.press("End")
    page.wait_for_timeout(300)
    assert focused(page) == "id_email"
    shot(page, f"register-typed-{mode}-{size}")
    assert page.input_value("#id_document_number") == document
    assert page.input_value("#id_email") == "jose.completo@example.com"
    page.get_by_role("button", name="Registrar", exact=True).click()
    page.get_by_text("Cliente registrado.").wait_for()
    customer = Customer.objects.get(document_number=document)
    assert (customer.email, customer.mobile, customer.city) == (
        "jose.completo@example.com",
        "+573105551234",
        "Medellín",
    )
    if mode == "complete":
        assert (customer.first_name, customer.last_name, customer.gender) == (
            "José",
            "Pérez Gómez",
            "M",
        )


def scan(page, text):
    """A USB scanner: the whole code in a few milliseconds, then Enter."""
    page.keyboard.type(text, delay=2)
    page.keyboard.press("Enter")


@pytest.mark.parametrize("field", ["id_amount", "id_invoice_number"])
def test_a_qr_scanned_while_a_customer_is_open_switches_customer(browser, live_server, size, field):  # noqa: F811
    from lealtad.customers.actions import qr_payload
    from lealtad.ledger.models import Transaction

    shop = testing.make_merchant("Café Aroma")
    testing.make_cashier(shop, "carol")
    first = testing.make_customer(shop).customer
    second = testing.make_customer(shop).customer
    page = open_page(browser, size)
    sign_in(page, live_server.url, "carol")
    page.fill("#q", first.email)
    page.keyboard.press("Enter")
    page.wait_for_function("document.activeElement.id === 'id_amount'")
    page.click(f"#{field}")
    type_field(page, "12")  # the cashier had started typing
    scan(page, qr_payload(second))
    page.get_by_role("heading", name=second.full_name).wait_for()
    assert page.url.endswith(f"/cashier/c/{second.pk}/")
    assert page.locator(".error").count() == 0
    assert page.input_value("#id_amount") == ""
    assert not Transaction.objects.filter(kind="accrual").exists()
    shot(page, f"scan-{field}-{size}")


def test_switching_quick_and_complete_keeps_what_was_typed(browser, live_server, size):  # noqa: F811
    shop = testing.make_merchant("Café Aroma", welcome_bonus_points=20)
    testing.make_cashier(shop, "carol")
    page = open_page(browser, size)
    sign_in(page, live_server.url, "carol")
    page.fill("#q", "a+b@example.com")
    page.keyboard.press("Enter")
    page.get_by_role("link", name="Registrar este cliente").click()
    page.wait_for_selector("#id_document_number")
    assert page.input_value("#id_email") == "a+b@example.com"
    page.select_option("#id_document_type", "CE")
    page.fill("#id_document_number", "E-12345")
    page.fill("#id_email", "ana&co@example.com")
    page.fill("#id_city", "Cali")
    page.uncheck("#id_welcome_bonus")
    page.get_by_role("link", name="Completo").click()
    page.wait_for_selector("#id_first_name")
    assert page.input_value("#id_document_type") == "CE"
    assert page.input_value("#id_document_number") == "E-12345"
    assert page.input_value("#id_email") == "ana&co@example.com"
    assert page.input_value("#id_city") == "Cali"
    assert not page.is_checked("#id_welcome_bonus")
    page.fill("#id_mobile", "3105551234")
    shot(page, f"register-switched-{size}")
    page.get_by_role("link", name="Rápido").click()
    page.wait_for_selector("#id_first_name", state="detached")
    assert page.input_value("#id_document_number") == "E-12345"
    assert page.input_value("#id_email") == "ana&co@example.com"
    assert page.input_value("#id_mobile") == "3105551234"
