"""customers.identity: the shared identity's rules, and what anonymisation leaves of them."""

import json
import re

import pytest

from lealtad.core import testing
from lealtad.core.errors import ChangeClosed, ConfirmationRequired, TooManyCodes
from lealtad.customers import identity, privacy
from lealtad.customers.models import Customer, IdentityChange
from lealtad.customers.tests.codes import codes_of
from lealtad.notifications.models import OutgoingEmail, OutgoingSms

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    return testing.make_merchant()


@pytest.fixture
def ana(shop):
    return testing.make_customer(shop).customer


@pytest.fixture
def by(shop):
    return identity.Requester(shop.merchant, channel="console")


def code_of(text):
    return re.search(r"\b(\d{6})\b", text).group(1)


def test_masks():
    assert identity.mask_email("ana.gomez@example.com") == "a***@example.com"
    assert identity.mask_mobile("+573001234321") == "+57 *** *** 4321"
    assert identity.mask_mobile("+5511987654321") == "+55 *** *** 4321"
    assert identity.mask_email(None) is None and identity.mask_mobile("") is None


def test_a_set_mobile_in_a_profile_update_needs_confirmation_and_changes_nothing(ana, by):
    with pytest.raises(ConfirmationRequired) as caught:
        identity.update_profile(ana, {"mobile": "3001112233", "city": "Cali"}, by)
    assert caught.value.extra["fields"] == ["mobile"]
    fresh = Customer.objects.get(pk=ana.pk)
    assert (fresh.mobile, fresh.city) == (ana.mobile, ana.city)


def test_a_name_correction_is_applied_and_recorded(ana, by):
    before = ana.last_name
    identity.update_profile(ana, {"last_name": "Gómez Ruiz"}, by)
    assert Customer.objects.get(pk=ana.pk).last_name == "Gómez Ruiz"
    row = IdentityChange.objects.get(customer=ana)
    assert json.loads(row.old_value) == {"last_name": before}
    assert json.loads(row.new_value) == {"last_name": "Gómez Ruiz"}
    assert (row.state, row.channel) == ("applied", "console")


def test_a_new_request_replaces_the_pending_one(ana, by):
    first = identity.start_change(ana, by, {"email": "one@example.com"})
    codes = codes_of(first.pk)
    identity.start_change(ana, by, {"email": "two@example.com"})
    with pytest.raises(ChangeClosed):
        identity.confirm_change(first, codes["code"], codes["owner_code"])
    assert Customer.objects.get(pk=ana.pk).email == ana.email


def test_a_customer_gets_a_limited_number_of_codes_a_day(ana, by):
    for n in range(identity.MAX_CODES_PER_DAY):
        identity.start_change(ana, by, {"email": f"n{n}@example.com"})
    with pytest.raises(TooManyCodes):
        identity.start_change(ana, by, {"email": "more@example.com"})


def test_the_code_is_kept_only_as_an_hmac(ana, by):
    change = identity.start_change(ana, by, {"mobile": "+573005556677"})
    code = code_of(OutgoingSms.objects.get(to="+573005556677").body)
    row = IdentityChange.objects.get(pk=change.pk)
    stored = [str(getattr(row, f.attname)) for f in IdentityChange._meta.fields]
    assert not any(code in value for value in stored)
    assert len(row.code_hash) == 64


def test_a_contact_changed_meanwhile_cancels_the_change(ana, by):
    change = identity.start_change(ana, by, {"email": "late@example.com"})
    codes = codes_of(change.pk)
    Customer.objects.filter(pk=ana.pk).update(email="other@example.com")
    with pytest.raises(ChangeClosed):
        identity.confirm_change(change, codes["code"], codes["owner_code"])
    assert Customer.objects.get(pk=ana.pk).email == "other@example.com"


def test_anonymisation_erases_the_values_of_the_changes_and_cancels_what_waits(ana, by):
    identity.update_profile(ana, {"last_name": "Gómez Ruiz"}, by)
    waiting = identity.start_change(ana, by, {"mobile": "+573005556677"})
    code = code_of(OutgoingSms.objects.get(to="+573005556677").body)
    privacy.anonymise_customer(ana)
    rows = IdentityChange.objects.filter(customer=ana)
    assert rows.count() == 2
    for row in rows:
        assert (row.old_value, row.new_value, row.sent_to, row.code_hash) == ("", "", "", "")
        assert row.state != "pending" and row.merchant_id == by.merchant.pk
    assert not OutgoingSms.objects.filter(customer=ana).exclude(to="").exists()
    assert OutgoingSms.objects.filter(customer=ana, cancelled_at__isnull=False).exists()
    with pytest.raises(ChangeClosed):
        identity.confirm_change(waiting, code)


# --- concurrency (PostgreSQL) --------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_wrong_codes_are_each_counted(postgres_only, shop):
    from lealtad.core.errors import InvalidCode
    from lealtad.ledger.tests.test_concurrency import run_together

    ana = testing.make_customer(shop).customer
    by = identity.Requester(shop.merchant)
    change = identity.start_change(ana, by, {"email": "race@example.com"})
    code = code_of(OutgoingEmail.objects.get(to="race@example.com").body)
    wrong = "000000" if code != "000000" else "111111"

    results = run_together(10, lambda _i: identity.confirm_change(change, wrong))

    assert sum(isinstance(r, InvalidCode) for r in results) == identity.MAX_ATTEMPTS - 1
    assert sum(isinstance(r, ChangeClosed) for r in results) == 10 - identity.MAX_ATTEMPTS + 1
    row = IdentityChange.objects.get(pk=change.pk)
    assert (row.attempts, row.state) == (identity.MAX_ATTEMPTS, "cancelled")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_confirmations_new_requests_and_anonymisation_take_turns(postgres_only, shop):
    from lealtad.core.errors import CustomerAnonymised
    from lealtad.ledger.tests.test_concurrency import run_together

    ana = testing.make_customer(shop).customer
    by = identity.Requester(shop.merchant)
    change = identity.start_change(ana, by, {"email": "turns@example.com"})
    codes = codes_of(change.pk)

    def work(i):
        if i == 0:
            return privacy.anonymise(Customer.objects.get(pk=ana.pk))
        if i % 2:
            return identity.confirm_change(change, codes["code"], codes["owner_code"])
        return identity.start_change(Customer.objects.get(pk=ana.pk), by, {"email": f"n{i}@x.co"})

    results = run_together(7, work)

    allowed = (privacy.Anonymisation, IdentityChange, ChangeClosed, CustomerAnonymised)
    assert all(isinstance(r, allowed) for r in results), results
    assert Customer.objects.get(pk=ana.pk).anonymised_at is not None
    assert not IdentityChange.objects.filter(customer=ana, state="pending").exists()
    assert not IdentityChange.objects.filter(customer=ana).exclude(new_value="").exists()


def test_a_stale_copy_cannot_write_back_onto_an_anonymised_customer(shop, by):
    from lealtad.core.errors import CustomerAnonymised

    stale = testing.make_customer(shop, complete=False).customer  # read before the erasure
    privacy.anonymise_customer(Customer.objects.get(pk=stale.pk))
    with pytest.raises(CustomerAnonymised):
        identity.update_profile(stale, {"first_name": "Ana"}, by)
    with pytest.raises(CustomerAnonymised):
        identity.start_change(stale, by, {"mobile": "+573005556677"})
    fresh = Customer.objects.get(pk=stale.pk)
    assert (fresh.first_name, fresh.mobile) == ("", None)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_merchants_filling_the_same_empty_mobile_at_once_fill_it_once(postgres_only, shop):
    from lealtad.ledger.tests.test_concurrency import run_together

    quick = testing.make_customer(shop, complete=False).customer
    other = testing.make_merchant("Otra")
    requesters = [identity.Requester(shop.merchant), identity.Requester(other.merchant)]
    mobiles = ["+573005550001", "+573005550002"]

    results = run_together(
        2, lambda i: identity.update_profile(quick, {"mobile": mobiles[i]}, requesters[i])
    )

    assert sorted(type(r).__name__ for r in results) == ["ConfirmationRequired", "Customer"]
    assert IdentityChange.objects.filter(customer=quick, state="applied").count() == 1
    winner = next(r for r in results if isinstance(r, Customer))
    assert Customer.objects.get(pk=quick.pk).mobile == winner.mobile


def test_the_export_holds_this_merchants_requests_only(shop, ana, by):
    from lealtad.customers import actions

    other = testing.make_merchant("Otra")
    there = actions.join_merchant(ana, other.merchant, other.branch)
    identity.update_profile(ana, {"city": "Cali"}, by)
    identity.update_profile(ana, {"city": "Pasto"}, identity.Requester(other.merchant))
    here = privacy.export_data(ana.memberships.get(merchant=shop.merchant))
    assert [(c["old"], c["new"]) for c in here["identity_changes"]] == [
        ({"city": "Bogotá"}, {"city": "Cali"})
    ]
    assert [c["new"] for c in privacy.export_data(there)["identity_changes"]] == [{"city": "Pasto"}]


def test_a_field_another_merchant_of_the_customer_asks_is_not_erased(shop, ana, by):
    from lealtad.core.errors import FieldCannotBeCleared
    from lealtad.customers import actions

    loja = testing.make_merchant("Loja", asks_postal_code=True)
    actions.join_merchant(ana, loja.merchant, loja.branch)
    identity.update_profile(ana, {"postal_code": "110111"}, by)
    with pytest.raises(FieldCannotBeCleared):
        identity.update_profile(ana, {"postal_code": ""}, by)  # `shop` does not ask it, loja does
    assert Customer.objects.get(pk=ana.pk).postal_code == "110111"
    identity.update_profile(ana, {"state": ""}, by)  # nobody needs it
