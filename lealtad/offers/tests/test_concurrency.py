"""A promotion's last use and a gift are taken once, however many tills try at the same time."""

from decimal import Decimal

import pytest
from django.conf import settings

from lealtad.core import errors, testing
from lealtad.customers import actions as customers
from lealtad.ledger import actions as ledger
from lealtad.ledger.check import check_ledger
from lealtad.ledger.models import Account
from lealtad.ledger.tests.test_concurrency import run_together
from lealtad.offers import actions as offers
from lealtad.offers.models import PromotionUse

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason="needs PostgreSQL (row locks): set DATABASE_URL=postgres://… to run it",
    ),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def shop():
    return testing.make_merchant(point_value="1")


@pytest.fixture
def member(shop):
    return testing.make_customer(shop).membership


def fresh(shop, member):
    return customers.get_membership_for(shop.merchant, member.customer_id)


def test_ten_tills_hand_over_a_free_item_allowed_twice(shop, member):
    promo = testing.make_promotion(shop, "free_item", item="Postre", uses_per_customer=2)
    results = run_together(
        10,
        lambda _i: offers.give_free_item(
            membership=fresh(shop, member), promotion_id=promo.pk, branch=shop.branch
        ),
    )
    assert sum(isinstance(r, PromotionUse) for r in results) == 2
    assert all(isinstance(r, (PromotionUse, errors.PromotionUsedUp)) for r in results), results
    assert PromotionUse.objects.filter(promotion=promo).count() == 2


def test_ten_accruals_share_a_bonus_allowed_once(shop, member):
    testing.make_promotion(shop, "bonus", bonus_points=100, uses_per_customer=1)
    results = run_together(
        10,
        lambda _i: ledger.accrue_points(
            merchant=shop.merchant,
            membership=fresh(shop, member),
            branch=shop.branch,
            amount=Decimal(10),
        ),
    )
    assert all(isinstance(r, ledger.Movement) for r in results), results
    assert Account.objects.get(pk=member.account_id).balance == 10 * 10 + 100
    assert PromotionUse.objects.count() == 1
    assert check_ledger() == []


def test_ten_tills_redeem_one_points_gift(shop, member):
    offer = offers.offer_gift(gift=testing.make_gift(shop, "points", points=70), membership=member)
    results = run_together(
        10,
        lambda _i: offers.redeem_gift(
            membership=fresh(shop, member), offer_id=offer.pk, branch=shop.branch
        ),
    )
    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert all(
        not isinstance(r, Exception) or isinstance(r, errors.GiftUnavailable) for r in results
    ), results
    assert Account.objects.get(pk=member.account_id).balance == 70
    assert check_ledger() == []
