"""Finding and registering at the till: a document is found however it is written (till,
console, API), registration never silently opens someone else, and only what can be a document
is offered for registration."""

import html
import re
from decimal import Decimal
from urllib.parse import quote

import pytest
from django.test import Client

from lealtad.api.tests.conftest import Api
from lealtad.core import testing
from lealtad.customers.actions import qr_payload, register_customer
from lealtad.customers.models import Customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def panama():
    return testing.make_merchant("Farmacia", country="PA", point_value="1", admin="paula")


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def cedula(panama):
    return register_customer(
        merchant=panama.merchant,
        branch=panama.branch,
        staff=None,
        document_type="CIP",
        document_number="8-302-2414",
        country="PA",
        profile={"email": "ana@example.com", "first_name": "Ana", "last_name": "Ríos"},
    ).customer


@pytest.mark.parametrize("typed", ["83022414", "8-302-2414", "8 302 2414", "8-0302-02414"])
def test_a_panama_cedula_is_found_by_its_number_at_the_till(panama, cedula, typed):
    till = signed_in(testing.make_cashier(panama))
    response = till.get("/cashier/search/", {"q": typed})
    assert response["HX-Push-Url"] == f"/cashier/c/{cedula.pk}/"


def test_a_panama_cedula_is_found_by_its_number_in_the_console_and_the_api(panama, cedula):
    page = signed_in(panama.admin).get("/console/customers/", {"q": "83022414"})
    assert "Ríos" in page.content.decode()
    api = Api(testing.token_for(testing.make_cashier(panama)))
    found = api.get("/customers", {"q": "83022414"}).json()["results"]
    assert [c["id"] for c in found] == [str(cedula.pk)]


def test_registering_a_document_that_exists_says_so_and_keeps_what_was_typed(panama, cedula):
    till = signed_in(testing.make_cashier(panama))
    response = till.post(
        "/cashier/register/",
        {"document_type": "CIP", "document_number": "8-302-2414", "email": "otra@example.com"},
    )
    page = response.content.decode()
    assert response.status_code == 200 and "HX-Push-Url" not in response
    assert "Este documento ya está registrado." in page
    assert f'href="/cashier/open/{cedula.pk}/"' in page
    assert 'value="otra@example.com"' in page
    assert Customer.objects.count() == 1
    assert Customer.objects.get().email == "ana@example.com"


def test_leaving_the_document_field_says_it_is_already_registered(panama, cedula):
    till = signed_in(testing.make_cashier(panama))
    url = "/cashier/register/check-document/"
    page = till.get(url, {"document_type": "CIP", "document_number": "8-0302-2414"})
    assert "Este documento ya está registrado." in page.content.decode()
    assert f"/cashier/open/{cedula.pk}/" in page.content.decode()
    assert till.get(url, {"document_type": "CIP", "document_number": "8-302-2415"}).content == b""


def test_the_document_check_does_not_echo_markup(panama):
    till = signed_in(testing.make_cashier(panama))
    page = till.get(
        "/cashier/register/check-document/",
        {"document_type": "<img src=x onerror=alert(1)>", "document_number": "1"},
    ).content.decode()
    assert "<img" not in page and "&lt;IMG" in page


@pytest.mark.parametrize(
    ("typed", "field"),
    [
        ("a+b@example.com", "email"),
        ("ana&co@example.com", "email"),
        ("6123-4567", "mobile"),
        ("8-302-2414", "document_number"),
        ("PE-12-345", "document_number"),
    ],
)
def test_the_register_prefill_keeps_every_character(panama, typed, field):
    till = signed_in(testing.make_cashier(panama))
    page = till.get("/cashier/search/", {"q": typed}).content.decode()
    assert "Registrar este cliente" in page
    start = page.index('href="/cashier/register/?') + len('href="')
    url = page[start : page.index('"', start)].replace("&amp;", "&")
    form = till.get(url).content.decode()
    expected = "+50761234567" if field == "mobile" else typed
    assert value_of(form, field) == expected, url
    assert field != "email" or quote(typed, safe="") in url


def value_of(page: str, name: str) -> str:
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', page).group(0)
    return html.unescape(re.search(r'value="([^"]*)"', tag).group(1))


@pytest.mark.parametrize("typed", ["Ana", "a", "María López", "ana@", "12"])
def test_a_name_or_a_letter_is_not_offered_as_a_document(panama, typed):
    till = signed_in(testing.make_cashier(panama))
    page = till.get("/cashier/search/", {"q": typed}).content.decode()
    assert "Cliente no encontrado." in page
    assert "Registrar este cliente" not in page and "/cashier/register/?" not in page


def test_a_tampered_or_truncated_qr_says_qr_not_valid(panama, cedula):
    till = signed_in(testing.make_cashier(panama))
    good = qr_payload(cedula)
    tampered = good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")
    for bad in (tampered, good[:-8], good[:20]):
        page = till.get("/cashier/search/", {"q": bad}).content.decode()
        assert "QR no válido." in page, bad
        assert "Cliente no encontrado" not in page and "/cashier/register/?" not in page
    replaced = qr_payload(cedula)
    Customer.objects.filter(pk=cedula.pk).update(qr_version=2)
    assert "QR no válido." in till.get("/cashier/search/", {"q": replaced}).content.decode()


@pytest.mark.parametrize(
    "changelist",
    [
        "/admin/customers/customer/",
        "/admin/customers/membership/",
        "/admin/ledger/account/",
        "/admin/ledger/transaction/",
    ],
)
def test_the_operators_admin_finds_the_cedula_by_its_number(panama, cedula, changelist):
    from lealtad.ledger.actions import accrue_points
    from lealtad.network.models import User

    accrue_points(
        merchant=panama.merchant,
        customer=cedula,
        amount=Decimal("10"),
        branch=panama.branch,
        staff=None,
    )
    operator = User.objects.create_superuser("op", "op@example.com", testing.PASSWORD)
    response = signed_in(operator).get(changelist, {"q": "83022414"})
    assert response.context["cl"].result_count == 1, changelist
