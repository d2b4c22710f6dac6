"""The customer's own copy: the profile, the wallet and every coin movement, ratings, and each
membership's `export_data`; nothing of another customer."""

import json

import pytest

from lealtad.coins import causes
from lealtad.coins.tests.promo_helpers import acceptor, customer_with_coins
from lealtad.core import testing
from lealtad.customers import privacy
from lealtad.customers.models import Membership

pytestmark = pytest.mark.django_db


def test_export_all_has_every_membership_and_the_network_profile():
    shop = acceptor()
    customer = customer_with_coins(shop, amount=100)
    other = testing.make_customer(shop)
    causes.donate(customer, causes.create_cause("Árboles"), 10)
    data = privacy.export_all(customer)
    json.dumps(data)  # serialisable as it is
    assert data["format"] == privacy.NETWORK_EXPORT_FORMAT
    assert data["customer"]["id"] == str(customer.pk)
    assert data["coins"]["wallet"]["available"] == 90
    assert {m["kind"] for m in data["coins"]["movements"]} >= {"donation"}
    merchants = {m["merchant"]["id"] for m in data["memberships"]}
    own = set(Membership.objects.filter(customer=customer).values_list("merchant_id", flat=True))
    assert merchants == {str(pk) for pk in own} and len(merchants) == 2
    assert str(other.customer.pk) not in json.dumps(data)
