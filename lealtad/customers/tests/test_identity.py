"""customers.identity: the shared identity's rules, and what anonymisation leaves of them."""

import json
import re

import pytest

from lealtad.core import testing
from lealtad.core.errors import ChangeClosed, ConfirmationRequired, TooManyCodes
from lealtad.customers import identity, privacy
from lealtad.customers.models import ContactCodeSms, Customer, IdentityChange
from lealtad.notifications.models import OutgoingEmail

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
    identity.start_change(ana, by, {"email": "two@example.com"})
    code = code_of(OutgoingEmail.objects.get(to="one@example.com").body)
    with pytest.raises(ChangeClosed):
        identity.confirm_change(first, code)
    assert Customer.objects.get(pk=ana.pk).email == ana.email


def test_a_customer_gets_a_limited_number_of_codes_a_day(ana, by):
    for n in range(identity.MAX_CODES_PER_DAY):
        identity.start_change(ana, by, {"email": f"n{n}@example.com"})
    with pytest.raises(TooManyCodes):
        identity.start_change(ana, by, {"email": "more@example.com"})


def test_the_code_is_kept_only_as_an_hmac(ana, by):
    change = identity.start_change(ana, by, {"mobile": "+573005556677"})
    code = code_of(ContactCodeSms.objects.get(change=change).body)
    row = IdentityChange.objects.get(pk=change.pk)
    stored = [str(getattr(row, f.attname)) for f in IdentityChange._meta.fields]
    assert not any(code in value for value in stored)
    assert len(row.code_hash) == 64


def test_a_contact_changed_meanwhile_cancels_the_change(ana, by):
    change = identity.start_change(ana, by, {"email": "late@example.com"})
    code = code_of(OutgoingEmail.objects.get(to="late@example.com").body)
    Customer.objects.filter(pk=ana.pk).update(email="other@example.com")
    with pytest.raises(ChangeClosed):
        identity.confirm_change(change, code)
    assert Customer.objects.get(pk=ana.pk).email == "other@example.com"


def test_anonymisation_erases_the_values_of_the_changes_and_cancels_what_waits(ana, by):
    identity.update_profile(ana, {"last_name": "Gómez Ruiz"}, by)
    waiting = identity.start_change(ana, by, {"mobile": "+573005556677"})
    code = code_of(ContactCodeSms.objects.get(change=waiting).body)
    privacy.anonymise_customer(ana)
    rows = IdentityChange.objects.filter(customer=ana)
    assert rows.count() == 2
    for row in rows:
        assert (row.old_value, row.new_value, row.sent_to, row.code_hash) == ("", "", "", "")
        assert row.state != "pending" and row.merchant_id == by.merchant.pk
    assert not ContactCodeSms.objects.filter(change__customer=ana).exclude(to="").exists()
    with pytest.raises(ChangeClosed):
        identity.confirm_change(waiting, code)
