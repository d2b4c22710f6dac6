"""Customer operations: one network identity (N2), profiles (C2–C4), QR codes (C5)."""

import pytest

from lealtad.core import testing
from lealtad.core.errors import CustomerExists, InvalidDocument, NotFound, ValidationFailed
from lealtad.customers import actions
from lealtad.customers.models import Customer, Membership
from lealtad.ledger.models import Account

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    return testing.make_merchant()


def register(shop, number=None, **profile):
    return actions.register_customer(
        merchant=shop.merchant,
        branch=shop.branch,
        staff=None,
        document_type="CC",
        document_number=number or testing.colombian_document(),
        country="CO",
        profile=profile or {"email": f"c{testing.colombian_document()}@example.com"},
    )


def test_registration_creates_identity_membership_and_points_account(shop):
    reg = register(shop, mobile="3001112233")
    assert reg.customer.mobile == "+573001112233"
    assert reg.membership.category.is_default
    assert reg.membership.registered_branch == shop.branch
    assert Account.objects.get(pk=reg.membership.account_id).kind == "points"


def test_quick_profile_is_incomplete_and_says_what_is_missing(shop):
    customer = register(shop).customer
    assert customer.profile_complete is False
    assert customer.missing_fields == ["first_name", "last_name", "gender", "birth_date", "mobile"]


def test_completing_the_profile(shop):
    customer = register(shop).customer
    actions.update_profile(customer, testing.complete_profile())
    customer.refresh_from_db()
    assert customer.profile_complete and customer.missing_fields == []


def test_same_identity_with_punctuation_is_the_same_customer(shop):
    register(shop, number="80.123.456")
    with pytest.raises(CustomerExists) as exc:
        register(shop, number="80123456")
    assert exc.value.extra["customer_id"] == str(Customer.objects.get().pk)


def test_company_documents_make_company_customers(shop):
    reg = actions.register_customer(
        merchant=shop.merchant,
        branch=shop.branch,
        staff=None,
        document_type="NIT",
        document_number="900.373.11-3",
        country="CO",
        profile={"email": "empresa@example.com"},
    )
    assert reg.customer.person_type == "company"


def test_bad_document_is_refused_and_nothing_written(shop):
    with pytest.raises(InvalidDocument):
        actions.register_customer(
            merchant=shop.merchant,
            branch=shop.branch,
            staff=None,
            document_type="CPF",
            document_number="111.444.777-00",
            country="BR",
            profile={"email": "x@example.com"},
        )
    assert not Customer.objects.exists() and not Membership.objects.exists()


def test_every_bad_field_is_reported_at_once(shop):
    with pytest.raises(ValidationFailed) as exc:
        register(shop, email="not-an-email", mobile="123", gender="Q")
    assert {e["field"] for e in exc.value.errors} == {"email", "mobile", "gender"}


def test_join_merchant_is_idempotent(shop):
    other = testing.make_merchant("Otro")
    customer = register(shop).customer
    first = actions.join_merchant(customer, other.merchant, other.branch)
    again = actions.join_merchant(customer, other.merchant, other.branch)
    assert first.pk == again.pk
    assert Membership.objects.filter(customer=customer).count() == 2


def test_membership_is_scoped_by_merchant(shop):
    other = testing.make_merchant("Otro")
    customer = register(shop).customer
    assert actions.get_membership_for(shop.merchant, customer.pk).customer == customer
    for bad in (customer.pk, "not-a-uuid", None):
        with pytest.raises(NotFound):
            actions.get_membership_for(other.merchant, bad)


def test_find_by_document_email_mobile_and_qr(shop):
    customer = register(shop, email="Ana@Example.com", mobile="+573005556677").customer
    for q in (
        customer.document_number,
        "ana@example.com",
        "300 555 6677",
        "+57 300 555 6677",
        actions.qr_payload(customer),
    ):
        assert actions.find_customers(q, country="CO") == [customer], q


def test_find_ignores_nonsense(shop):
    register(shop)
    for q in ("", "   ", "@", "x" * 500, "LTQ1.nothing", "%", "' OR 1=1 --"):
        assert actions.find_customers(q) == []


def test_a_new_qr_version_invalidates_old_codes(shop):
    customer = register(shop).customer
    old = actions.qr_payload(customer)
    Customer.objects.filter(pk=customer.pk).update(qr_version=2)
    customer.refresh_from_db()
    assert actions.find_customers(old) == []
    assert actions.find_customers(actions.qr_payload(customer)) == [customer]
