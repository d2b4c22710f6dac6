"""C5's lookup, `GET /customers?q=`, in one query (customers/lookup.py): the same figures as
`points_of` and `wallet_of` (lots due but not swept, held coins, a dependent's holder account,
what expires within 30 days), the same shape as `GET /customers/{id}`, and a query count that
fails CI when it grows."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from lealtad.api.tests.conftest import Api
from lealtad.api.views import EXPIRING_WINDOW, coins_of, points_of
from lealtad.coins import actions as coins
from lealtad.core import testing
from lealtad.customers import actions as customers
from lealtad.customers import lookup
from lealtad.customers.models import Membership
from lealtad.ledger import ledger
from lealtad.ledger.accrual import accrue_points
from lealtad.ledger.models import Account, AccountKind

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)


@pytest.fixture
def shop(db):
    """Merchant A, a coin issuer at 1 coin per peso."""
    return testing.make_merchant(coin_issuer=True, cashback_rate="1")


@pytest.fixture
def elsewhere(db):
    """Merchant B: its customers are a masked card at A."""
    return testing.make_merchant("Farmacia Salud", country="PA", point_value="1", admin="charlie")


def accrue(shop, membership, amount, at):
    return accrue_points(
        merchant=shop.merchant,
        amount=Decimal(amount),
        branch=shop.branch,
        membership=membership,
        now=at,
    )


def earn(shop, customer, amount, at):
    return coins.earn_coins(
        merchant=shop.merchant, customer=customer, amount=Decimal(amount), now=at
    )


@pytest.fixture
def rich(shop):
    """A member with points and coins due but not yet swept, some expiring within 30 days,
    fresh ones, and a payment's pending hold reserving part of the due coins."""
    membership = testing.make_customer(shop).membership
    now, validity = timezone.now(), shop.merchant.points_validity_days
    accrue(shop, membership, 7000, now - (validity + 3) * DAY)  # due, not swept
    accrue(shop, membership, 5000, now - (validity - 10) * DAY)  # expires within 30 days
    accrue(shop, membership, 3000, now)
    customer = membership.customer
    earn(shop, customer, 40, now - 800 * DAY)  # coins last 24 months: due
    earn(shop, customer, 25, now)
    wallet = Account.objects.get(customer=customer, kind=AccountKind.COINS)
    with transaction.atomic():
        assert ledger.hold_coins(ledger.lock_account(wallet.pk), 30, now) is not None
    return membership


@pytest.fixture
def dependent(shop, rich):
    """A card whose points land on `rich`'s account (C8)."""
    membership = testing.make_customer(shop).membership
    customers.set_card(membership, holder=rich)
    return Membership.objects.select_related("holder", "category").get(pk=membership.pk)


def found_for(shop, membership):
    now = timezone.now()
    terms = customers.search_terms(membership.customer.document_number, "CO")
    found = lookup.lookup(shop.merchant, terms, now, now + EXPIRING_WINDOW)
    assert [f.customer.pk for f in found] == [membership.customer_id]
    return found[0], now


def test_lookup_figures_are_points_of_and_wallet_of(shop, rich):
    found, now = found_for(shop, rich)
    expected_points = points_of(rich, now)
    balance = Account.objects.get(pk=rich.account_id).balance
    assert (balance, expected_points["available"]) == (15, 8)  # the due lot counts out
    assert expected_points["expiring_30d"] == 5
    assert found.points == expected_points
    expected_coins = coins.wallet_of(rich.customer, now)
    assert expected_coins["held"] == 30 and expected_coins["expiring_30d"] == 0
    assert found.coins == expected_coins
    assert (found.member, found.blocked, found.category_name) == (True, False, "General")
    assert found.category_id == str(rich.category_id)


def test_a_dependents_points_are_the_holders(shop, rich, dependent):
    found, now = found_for(shop, dependent)
    assert found.points == points_of(dependent, now) == points_of(rich, now)
    assert found.coins == {"available": 0, "held": 0, "expiring_30d": 0}  # no wallet yet


def test_the_endpoint_answers_what_get_customer_answers(shop, rich, dependent):
    customers.block_membership(rich, "Deuda")
    api = Api(shop.api_key)
    for membership in (rich, dependent):
        by_id = api.get(f"/customers/{membership.customer_id}").json()
        q = membership.customer.document_number
        assert api.get("/customers", {"q": q}).json() == {"results": [by_id]}
    assert api.get(f"/customers/{rich.customer_id}").json()["blocked"] is True


def test_a_customer_of_another_merchant_is_a_masked_card(shop, elsewhere):
    other = testing.make_customer(elsewhere).customer
    api = Api(shop.api_key)
    results = api.get("/customers", {"q": other.email}).json()["results"]
    assert [(r["id"], r["member"]) for r in results] == [(str(other.pk), False)]
    assert "points" not in results[0] and results[0]["email"] != other.email


def test_qr_and_mobile_find_the_same_customer(shop, rich):
    api = Api(shop.api_key)
    customer = rich.customer
    for q in (customers.qr_payload(customer), customer.mobile, customer.email.upper()):
        assert [r["id"] for r in api.get("/customers", {"q": q}).json()["results"]] == [
            str(customer.pk)
        ], q


def test_a_bumped_qr_version_finds_nothing(shop, rich):
    api = Api(shop.api_key)
    payload = customers.qr_payload(rich.customer)
    type(rich.customer).objects.filter(pk=rich.customer_id).update(qr_version=2)
    assert api.get("/customers", {"q": payload}).json() == {"results": []}


@pytest.mark.in_process
def test_lookup_query_count_is_two(shop, rich, dependent, elsewhere, django_assert_num_queries):
    """In process only (in_process): it counts the queries of this process; a live server's are its
    own."""
    api = Api(shop.api_key)
    stranger = testing.make_customer(elsewhere).customer
    api.get("/customers", {"q": "1"})  # the key's last use is written once a minute
    for q in (
        rich.customer.document_number,  # a member with points, coins, a hold
        dependent.customer.document_number,  # a dependent: the holder's account
        stranger.document_number,  # not a member here: a masked card
        "99999999999",  # nobody
    ):
        # 1. the API key with its merchant and branch (read on every request: a revoked key
        #    is refused at once); 2. the customers the text can be, each with this merchant's
        #    membership, category, points account and the network wallet, and their lots due,
        #    lots expiring within 30 days and pending holds (customers/lookup.py).
        with django_assert_num_queries(2):
            response = api.get("/customers", {"q": q})
        assert response.status_code == 200


def test_coins_of_agrees_for_a_customer_without_a_wallet(shop):
    membership = testing.make_customer(shop).membership
    found, _now = found_for(shop, membership)
    assert found.coins == coins_of(membership.customer)
