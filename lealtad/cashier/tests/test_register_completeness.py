"""C3 at the till and in the console: the registration asks exactly what this merchant requires
(CEP and address in Brazil, the person type where asked), a company gives no gender or birth
date, and the console's program settings switch those questions."""

import pytest
from django.test import Client

from lealtad.api.tests.test_completeness_api import a_cnpj, a_nit
from lealtad.core import testing
from lealtad.customers.models import Customer, Membership
from lealtad.network.models import Merchant

pytestmark = pytest.mark.django_db


@pytest.fixture
def loja():
    return testing.make_merchant("Posto Estrada Real", country="BR", point_value="5")


def _signed_in(user, language="pt-br"):
    client = Client()
    client.cookies["django_language"] = language
    client.force_login(user)
    return client


def _field_error(page: str, name: str) -> bool:
    return f'id="{name}-error"' in page


PESSOA = {
    "mode": "complete",
    "document_type": "CPF",
    "first_name": "Ana",
    "last_name": "Souza",
    "gender": "F",
    "birth_date": "1990-05-17",
    "email": "ana.souza@example.com",
    "mobile": "+5531966665555",
}


def test_the_brazilian_complete_registration_asks_cep_address_and_person_type(loja):
    till = _signed_in(testing.make_cashier(loja))
    page = till.get("/cashier/register/?mode=complete").content.decode()
    for name in ("postal_code", "address", "person_type"):
        assert f'name="{name}"' in page
    quick = till.get("/cashier/register/?mode=quick").content.decode()
    assert 'name="postal_code"' not in quick and 'name="person_type"' not in quick
    colombian = testing.make_merchant()
    page = _signed_in(testing.make_cashier(colombian), "es").get("/cashier/register/?mode=complete")
    assert 'name="postal_code"' not in page.content.decode()


def test_the_till_refuses_a_brazilian_complete_registration_without_cep(loja):
    till = _signed_in(testing.make_cashier(loja))
    page = till.post(
        "/cashier/register/", {**PESSOA, "document_number": testing.brazilian_cpf()}
    ).content.decode()
    assert _field_error(page, "postal_code") and _field_error(page, "address")
    assert not Customer.objects.exists()
    document = testing.brazilian_cpf()
    till.post(
        "/cashier/register/",
        {
            **PESSOA,
            "document_number": document,
            "postal_code": "30130-010",
            "address": "Rua da Bahia 1",
        },
    )
    membership = Membership.objects.get(customer__document_number=document)
    assert membership.missing_fields() == [] and membership.customer.profile_complete


def test_the_till_registers_a_company_complete_without_gender_or_birth_date(loja):
    till = _signed_in(testing.make_cashier(loja))
    document = a_cnpj()
    answer = till.post(
        "/cashier/register/",
        {
            "mode": "complete",
            "document_type": "CNPJ",
            "document_number": document,
            "person_type": "company",
            "first_name": "Transportes Serra Azul Ltda",
            "email": "frota@serraazul.example.com",
            "mobile": "+5531988887777",
            "postal_code": "30130-010",
            "address": "Av. Afonso Pena 1500",
        },
    )
    assert answer.status_code == 200
    customer = Customer.objects.get(document_number=document)
    assert customer.person_type == "company"
    assert Membership.objects.get(customer=customer).missing_fields() == []


def test_completing_a_profile_at_the_till_asks_only_what_this_merchant_misses(loja):
    """A Colombian customer who comes to the Brazilian merchant is asked the CEP and address."""
    customer = testing.make_customer(testing.make_merchant()).customer
    till = _signed_in(testing.make_cashier(loja))
    till.post(f"/cashier/open/{customer.pk}/")  # enrolled here (a GET only shows them masked)
    page = till.get(f"/cashier/c/{customer.pk}/profile/").content.decode()
    assert 'name="postal_code"' in page and 'name="address"' in page
    assert 'name="gender"' not in page
    customer_page = till.get(f"/cashier/c/{customer.pk}/").content.decode()
    assert "Falta: CEP, endereço." in customer_page
    till.post(
        f"/cashier/c/{customer.pk}/profile/",
        {"postal_code": "30130-010", "address": "Rua da Bahia 1"},
    )
    assert Membership.objects.get(customer=customer, merchant=loja.merchant).missing_fields() == []


def test_the_console_program_settings_switch_what_registration_asks():
    shop = testing.make_merchant()
    console = _signed_in(shop.admin, "es")
    page = console.get("/console/program/").content.decode()
    for name in ("asks_postal_code", "asks_address", "asks_person_type"):
        assert f'name="{name}"' in page
    merchant = shop.merchant
    settings = {
        "point_value": "1000",
        "points_validity_days": "365",
        "welcome_bonus_points": "0",
        "asks_postal_code": "on",
        "asks_address": "on",
    }
    assert console.post("/console/program/", settings).status_code == 302
    merchant = Merchant.objects.get(pk=merchant.pk)
    assert (merchant.asks_postal_code, merchant.asks_address, merchant.asks_person_type) == (
        True,
        True,
        False,
    )
    till = _signed_in(testing.make_cashier(shop), "es")
    assert 'name="postal_code"' in till.get("/cashier/register/?mode=complete").content.decode()


def test_the_console_asks_cep_and_address_where_the_merchant_asks_them(loja):
    console = _signed_in(loja.admin, "pt-br")
    personal = {
        "document_type": "CPF",
        "document_number": testing.brazilian_cpf(),
        "first_name": "Ana",
        "last_name": "Souza",
        "gender": "F",
        "birth_date": "1990-05-17",
        "category": loja.merchant.categories.get().pk,
        "person_type": "person",
    }
    contact = {"email": "ana.souza@example.com", "mobile": "+5531966665555"}
    page = console.post(
        "/console/customers/new/", {**personal, **contact, "step": 1, "visited": "0", "go": "next"}
    ).content.decode()
    assert 'name="step" value="1"' in page
    assert _field_error(page, "postal_code") and _field_error(page, "address")
    page = console.post(
        "/console/customers/new/",
        {
            **personal,
            **contact,
            "postal_code": "30130-010",
            "address": "Rua da Bahia 1",
            "step": 1,
            "visited": "0",
            "go": "next",
        },
    ).content.decode()
    assert 'name="step" value="2"' in page


def test_the_console_registers_a_nit_company_without_gender_or_birth_date():
    colombian = testing.make_merchant()
    console = _signed_in(colombian.admin, "es")
    document = a_nit()
    personal = {
        "document_type": "NIT",
        "document_number": document,
        "first_name": "Distribuciones El Roble S.A.S.",
        "category": colombian.merchant.categories.get().pk,
    }
    page = console.get("/console/customers/new/").content.decode()
    assert 'name="person_type"' not in page  # this merchant does not ask it: the NIT says it
    contact = {"email": "compras@elroble.example.com", "mobile": "+573101234567"}
    first = console.post("/console/customers/new/", {**personal, "step": 0, "go": "next"})
    assert 'name="step" value="1"' in first.content.decode()
    done = console.post(
        "/console/customers/new/",
        {
            **personal,
            **contact,
            "step": 2,
            "visited": "0,1",
            "redeem_policy": "holder",
            "go": "save",
        },
    )
    assert done.status_code == 302
    customer = Customer.objects.get(document_type="NIT")
    assert customer.person_type == "company" and customer.profile_complete
    assert Membership.objects.get(customer=customer).missing_fields() == []
