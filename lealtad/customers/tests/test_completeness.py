"""C3/C4: one rule for a complete profile — by person type, plus what each merchant asks — and
its query form (the console's "incomplete" filter) agrees with it on every kind of customer."""

import pytest
from django.core.management import call_command

from lealtad.core import testing
from lealtad.customers import completeness
from lealtad.customers.actions import join_merchant
from lealtad.customers.models import Customer, Membership, PersonType
from lealtad.network.models import Merchant

pytestmark = pytest.mark.django_db


def test_a_company_needs_its_name_and_contact_not_a_gender_or_birth_date():
    company = Customer(person_type=PersonType.COMPANY, first_name="El Roble S.A.S.")
    assert completeness.missing_fields(company) == ["email", "mobile"]
    company.email, company.mobile = "compras@elroble.example.com", "+573101234567"
    assert completeness.is_complete(company)
    person = Customer(first_name="Ana", email="a@example.com", mobile="+573101234568")
    assert completeness.missing_fields(person) == ["last_name", "gender", "birth_date"]


def test_a_merchant_adds_the_postal_code_and_the_address():
    merchant = Merchant(asks_postal_code=True, asks_address=True)
    company = Customer(
        person_type=PersonType.COMPANY,
        first_name="Serra Azul Ltda",
        email="frota@example.com",
        mobile="+5531988887777",
    )
    assert completeness.missing_fields(company, merchant) == ["postal_code", "address"]
    assert completeness.missing_fields(company) == []


def test_the_document_type_says_company():
    assert completeness.person_type_for("BR", "CNPJ") == PersonType.COMPANY
    assert completeness.person_type_for("CO", "nit", "person") == PersonType.COMPANY
    assert completeness.person_type_for("BR", "CPF") == PersonType.PERSON
    assert completeness.person_type_for("PA", "CIP", "company") == PersonType.COMPANY
    assert completeness.person_type_for("PA", "CIP", "nonsense") == PersonType.PERSON


def test_the_incomplete_filter_agrees_with_missing_fields():
    loja = testing.make_merchant("Posto", country="BR", point_value="5")
    shop = testing.make_merchant()
    complete = testing.make_customer(shop).customer
    quick = testing.make_customer(shop, complete=False).customer
    with_cep = testing.make_customer(shop, postal_code="30130-010", address="Rua 1").customer
    for customer in (complete, quick, with_cep):
        join_merchant(customer, loja.merchant, loja.branch)
    for merchant in (shop.merchant, loja.merchant):
        memberships = Membership.objects.filter(merchant=merchant).select_related("customer")
        by_rule = {m.pk for m in memberships if completeness.missing_fields(m.customer, merchant)}
        by_query = set(
            memberships.filter(
                completeness.incomplete_q(merchant, prefix="customer__")
            ).values_list("pk", flat=True)
        )
        assert by_rule == by_query
    at_loja = Membership.objects.filter(merchant=loja.merchant)
    assert {m.customer_id for m in at_loja if m.profile_complete} == {with_cep.pk}


def test_the_demo_brazilian_merchant_asks_cep_and_address_and_its_customers_give_them():
    call_command("demo", verbosity=0)
    posto = Merchant.objects.get(name="Posto Estrada Real")
    assert posto.asks_postal_code and posto.asks_address and posto.asks_person_type
    members = Membership.objects.filter(merchant=posto, holder__isnull=True).select_related(
        "customer"
    )
    complete = [m for m in members if m.profile_complete]
    assert len(complete) >= 10
    assert all(m.customer.postal_code and m.customer.address for m in complete)
