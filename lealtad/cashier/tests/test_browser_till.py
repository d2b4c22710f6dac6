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
    page.wait_for_function("() => document.activeElement.id === 'id_document_number'")
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
    page.wait_for_function("() => document.activeElement.id === 'id_amount'")
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


NO_OVERFLOW = "document.documentElement.scrollWidth <= window.innerWidth"


def box(page, selector):
    return page.locator(selector).first.bounding_box()


def assert_fits(page, size, name):
    page.evaluate("window.scrollTo(0, 0)")
    shot_viewport(page, f"{name}-{size}")
    assert page.evaluate(NO_OVERFLOW), (name, page.evaluate("document.documentElement.scrollWidth"))


def shot_viewport(page, name):
    from lealtad.cashier.tests.test_browser import ARTIFACTS

    page.screenshot(path=str(ARTIFACTS / f"cashier-fit-{name}.png"))


def test_the_till_fits_the_window_with_its_main_action_in_view(browser, live_server, size):  # noqa: F811
    shop = testing.make_merchant("Panadería La Espiga del Norte")
    testing.make_cashier(shop, "carolina.rodriguez")
    testing.make_reward(shop, cost=100, name="Desayuno completo con jugo natural")
    member = testing.make_customer(shop, first_name="María Fernanda", last_name="Rodríguez Peña")
    page = open_page(browser, size)
    sign_in(page, live_server.url, "carolina.rodriguez")
    assert_fits(page, size, "home")
    width, height = SIZES[size]
    search = box(page, "#q")
    assert search["width"] >= min(300, width * 0.6), search  # room for a document or an e-mail
    page.fill("#q", member.customer.email)
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.activeElement.id === 'id_amount'")
    assert_fits(page, size, "customer")
    accrue = box(page, "form.accrue button")
    assert accrue["y"] + accrue["height"] <= height, accrue  # no scrolling to the main action
    assert accrue["y"] > box(page, "#id_amount")["y"]  # and it comes after the amount
    assert accrue["y"] > box(page, "#id_invoice_number")["y"]
    assert box(page, "#q")["width"] >= min(300, width * 0.6)
    page.fill("#id_amount", "1")
    page.keyboard.press("Enter")
    page.locator("#amount-error, #accrued").first.wait_for()
    assert_fits(page, size, "customer-error")
    accrue = box(page, "form.accrue button")
    assert accrue["y"] + accrue["height"] <= height, accrue
    # A quick registration's customer: the incomplete-profile banner, and still in view.
    quick = testing.make_customer(shop, complete=False).customer
    page.fill("#q", quick.email)
    page.keyboard.press("Enter")
    page.get_by_role("link", name="Completar perfil").wait_for()
    assert_fits(page, size, "customer-incomplete")
    accrue = box(page, "form.accrue button")
    assert accrue["y"] + accrue["height"] <= height, accrue
    page.goto(f"{live_server.url}/cashier/register/?mode=complete")
    assert_fits(page, size, "register")


def test_the_console_customer_list_fits_the_window(browser, live_server, size):  # noqa: F811
    from lealtad.customers.models import Membership
    from lealtad.network.models import Branch
    from lealtad.program.models import Category

    shop = testing.make_merchant("Panadería La Espiga del Norte", admin="adminlargo")
    Category.objects.filter(merchant=shop.merchant).update(name="Clientes frecuentes oro")
    Branch.objects.filter(pk=shop.branch.pk).update(name="Centro Comercial Andino")
    made = [
        testing.make_customer(
            shop, complete=n != 1, first_name="María Fernanda", last_name=f"Rodríguez Peña {n}"
        )
        for n in range(3)
    ]
    # An anonymised customer (C12): no name, and a 32-character document that cannot wrap.
    Customer.objects.filter(pk=made[2].customer.pk).update(
        first_name="", last_name="", document_number="ANON" + "7F3A9C1E" * 3 + "B2D4"
    )
    for n, reg in enumerate(made):
        Membership.objects.filter(pk=reg.membership.pk).update(
            card_number=f"TARJETA-2026-000{n}",
            blocked=True,
            holder=made[0].membership if n else None,
        )
    page = open_page(browser, size)
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "adminlargo")
    page.fill("#id_password", testing.PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/")
    page.goto(f"{live_server.url}/console/customers/")
    assert_fits(page, size, "console-customers")


def test_a_qr_scanned_during_a_registration_opens_that_customer(browser, live_server):  # noqa: F811
    from lealtad.customers.actions import qr_payload

    shop = testing.make_merchant("Café Aroma")
    testing.make_cashier(shop, "carol")
    known = testing.make_customer(shop).customer
    page = open_page(browser, "till")
    sign_in(page, live_server.url, "carol")
    page.goto(f"{live_server.url}/cashier/register/")
    page.wait_for_function("() => document.activeElement.id === 'id_document_number'")
    type_field(page, "801")
    scan(page, qr_payload(known))
    page.get_by_role("heading", name=known.full_name).wait_for()
    assert Customer.objects.count() == 1
