"""The operator adds and changes customers and memberships through the till's actions."""

import pytest
from django.test import Client

from lealtad.core import testing
from lealtad.customers.models import Customer, Membership
from lealtad.network.models import User
from lealtad.program.models import Category

pytestmark = pytest.mark.django_db
ADD = "/admin/customers/customer/add/"


@pytest.fixture
def operator():
    client = Client()
    client.force_login(User.objects.create_superuser("op", "op@example.com", testing.PASSWORD))
    return client


def new_customer(shop, **changes):
    return {
        "merchant": shop.merchant.pk,
        "country": "CO",
        "document_type": "CC",
        "document_number": testing.colombian_document(),
        "email": "nueva@example.com",
        "mobile": "300 555 1234",
        "first_name": "Lina",
        **changes,
    }


def inline_management(client, url) -> dict:
    """What the browser sends for the page's inlines (their management forms)."""
    data = {}
    for inline in client.get(url).context["inline_admin_formsets"]:
        management = inline.formset.management_form
        for name, field in management.fields.items():
            data[management.add_prefix(name)] = management.initial.get(name, field.initial)
        for form in inline.formset.forms:
            data[form.add_prefix("id")] = form.instance.pk
            data[form.add_prefix("customer")] = form.instance.customer_id
    return data


def test_add_customer_without_a_document_is_refused_and_saves_nothing(operator):
    shop = testing.make_merchant()
    for missing in ("country", "document_type", "document_number"):
        response = operator.post(ADD, new_customer(shop, **{missing: ""}))
        assert response.status_code == 200
        assert missing in response.context["adminform"].form.errors
    assert not Customer.objects.exists()


def test_add_customer_registers_at_the_merchant_through_the_action(operator):
    shop = testing.make_merchant()
    data = new_customer(shop, document_number="1.098.765.432")
    response = operator.post(ADD, data)
    assert response.status_code == 302
    customer = Customer.objects.get()
    assert (customer.document_number, customer.mobile) == ("1098765432", "+573005551234")
    assert Membership.objects.filter(customer=customer, merchant=shop.merchant).exists()
    # The same person again is a message next to the document, not a 500.
    again = operator.post(ADD, {**data, "email": "otra@example.com", "mobile": ""})
    assert again.status_code == 200
    errors = again.context["adminform"].form.errors
    assert errors["document_number"] == ["Este cliente ya está registrado"]
    assert Customer.objects.count() == 1


def test_add_customer_checks_the_document_and_the_contacts(operator):
    shop = testing.make_merchant()
    taken = testing.make_customer(shop).customer
    bad_cpf = operator.post(
        ADD, new_customer(shop, country="BR", document_type="CPF", document_number="12345678900")
    )
    assert "document_number" in bad_cpf.context["adminform"].form.errors
    same_email = operator.post(ADD, new_customer(shop, email=taken.email.upper()))
    assert "email" in same_email.context["adminform"].form.errors
    assert Customer.objects.count() == 1


def test_change_customer_goes_through_update_profile(operator):
    shop = testing.make_merchant()
    ana = testing.make_customer(shop).customer
    url = f"/admin/customers/customer/{ana.pk}/change/"
    form = {
        **inline_management(operator, url),
        "first_name": "  Ana María ",
        "last_name": ana.last_name,
        "gender": ana.gender,
        "birth_date": "1990-05-17",
        "city": ana.city,
        "person_type": "person",
    }
    saved = operator.post(url, form)
    assert saved.status_code == 302, saved.context["adminform"].form.errors
    ana.refresh_from_db()
    assert ana.first_name == "Ana María"  # the normal form, as the till stores it


def test_the_operator_cannot_rewrite_a_set_contact(operator):
    """Issue 10: a set e-mail or mobile changes only with the customer's codes, not in the admin."""
    shop = testing.make_merchant()
    ana = testing.make_customer(shop).customer
    email, mobile = ana.email, ana.mobile
    url = f"/admin/customers/customer/{ana.pk}/change/"
    page = operator.get(url)
    assert "email" not in page.context["adminform"].form.fields
    assert "mobile" not in page.context["adminform"].form.fields
    form = {
        **inline_management(operator, url),
        "email": "someone.else@example.com",
        "mobile": "310 000 0001",
        "first_name": ana.first_name,
        "last_name": ana.last_name,
        "gender": ana.gender,
        "birth_date": "1990-05-17",
        "city": ana.city,
        "person_type": "person",
    }
    operator.post(url, form)
    ana.refresh_from_db()
    assert (ana.email, ana.mobile) == (email, mobile)


def test_membership_change_keeps_to_the_merchant_and_records_the_block(operator):
    shop, other = testing.make_merchant(), testing.make_merchant()
    member = testing.make_customer(shop).membership
    foreign = Category.objects.get(merchant=other.merchant, is_default=True)
    url = f"/admin/customers/membership/{member.pk}/change/"
    form = {"category": member.category_id, "card_number": "", "redeem_policy": "holder"}
    refused = operator.post(url, {**form, "category": foreign.pk})
    assert refused.status_code == 200 and "category" in refused.context["adminform"].form.errors
    blocked = operator.post(url, {**form, "blocked": "on", "blocked_reason": "Fraude"})
    assert blocked.status_code == 302
    member.refresh_from_db()
    assert member.blocked and member.blocked_reason == "Fraude" and member.blocked_at
    no_reason = operator.post(url, {**form, "blocked": "", "blocked_reason": ""})
    assert no_reason.status_code == 302
    member.refresh_from_db()
    assert not member.blocked and member.blocked_at is None
    assert operator.get("/admin/customers/membership/add/").status_code == 403
