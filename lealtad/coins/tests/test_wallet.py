"""K1 / K6: the wallet on the customer's card at every merchant and in the API: available, held,
expiring within 30 days."""

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from lealtad.api.tests.conftest import Api
from lealtad.coins import actions as coins
from lealtad.core import testing
from lealtad.ledger.models import Account

pytestmark = pytest.mark.django_db


def test_the_wallet_counts_available_held_and_expiring():
    issuer = testing.make_merchant(coin_issuer=True, cashback_rate="0.1")
    customer = testing.make_customer(issuer).customer
    assert coins.wallet_of(customer) == {"available": 0, "held": 0, "expiring_30d": 0}
    assert not Account.objects.filter(customer=customer, kind="coins").exists()
    now = timezone.now()
    # Earned 23 months and 10 days ago: expires within 30 days (24-month validity).
    old = now - dt.timedelta(days=700)
    coins.earn_coins(merchant=issuer.merchant, customer=customer, amount=Decimal(100), now=old)
    coins.earn_coins(merchant=issuer.merchant, customer=customer, amount=Decimal(500), now=now)
    Account.objects.filter(customer=customer, kind="coins").update(pending=7)
    assert coins.wallet_of(customer, now) == {"available": 60, "held": 7, "expiring_30d": 10}


def test_the_api_and_every_merchants_till_show_the_wallet():
    issuer = testing.make_merchant(coin_issuer=True, cashback_rate="0.1")
    elsewhere = testing.make_merchant("Farmacia")
    member = testing.make_customer(issuer)
    customer = member.customer
    coins.earn_coins(merchant=issuer.merchant, customer=customer, amount=Decimal(12340))
    Account.objects.filter(customer=customer, kind="coins").update(pending=4)
    from lealtad.customers.actions import join_merchant

    join_merchant(customer, elsewhere.merchant, elsewhere.branch)
    body = Api(elsewhere.api_key).get(f"/customers/{customer.pk}").json()
    assert body["coins"] == {"available": 1234, "held": 4, "expiring_30d": 0}
    client = Client()
    client.force_login(testing.make_cashier(elsewhere))
    page = client.get(f"/cashier/c/{customer.pk}/").text
    assert 'id="coins-available">1.234<' in page
    assert 'id="coins-held">4<' in page and "Monedas retenidas" in page
