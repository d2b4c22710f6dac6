"""A4: accepting a points gift in the app is the R2 redemption: credited once, never twice, and
only by the customer it was offered to."""

import pytest

from lealtad.app import queries
from lealtad.app.offers import accept_gift
from lealtad.core import testing
from lealtad.core.errors import GiftUnavailable, NotFound
from lealtad.ledger.models import Kind, Transaction
from lealtad.offers.actions import offer_gift
from lealtad.offers.models import GiftStatus

pytestmark = pytest.mark.django_db


def points(reg) -> int:
    return queries.points_of(
        queries.membership_for(reg.customer, reg.membership.merchant_id)
    ).available


@pytest.fixture
def shop():
    return testing.make_merchant("Aroma")


def test_accepting_a_points_gift_credits_its_points_once(shop):
    reg = testing.make_customer(shop)
    offer = offer_gift(gift=testing.make_gift(shop, "points", points=40), membership=reg.membership)

    taken = accept_gift(reg.customer, offer.pk)

    assert taken.status == GiftStatus.REDEEMED and taken.branch is None
    assert points(reg) == 40
    txn = Transaction.objects.get(account=reg.membership.account, kind=Kind.BONUS)
    assert txn.points == 40 and txn.balance_after == 40
    with pytest.raises(GiftUnavailable):
        accept_gift(reg.customer, offer.pk)
    assert points(reg) == 40
    assert queries.gifts_for(reg.membership) == []


def test_a_product_gift_is_taken_at_the_till_not_in_the_app(shop):
    reg = testing.make_customer(shop)
    offer = offer_gift(
        gift=testing.make_gift(shop, "product", name="Postre"), membership=reg.membership
    )
    with pytest.raises(GiftUnavailable):
        accept_gift(reg.customer, offer.pk)
    offer.refresh_from_db()
    assert offer.status == GiftStatus.OFFERED


def test_another_customers_gift_is_not_found_and_stays_offered(shop):
    reg = testing.make_customer(shop)
    bob = testing.make_customer(shop)
    offer = offer_gift(gift=testing.make_gift(shop, "points"), membership=reg.membership)
    with pytest.raises(NotFound):
        accept_gift(bob.customer, offer.pk)
    offer.refresh_from_db()
    assert offer.status == GiftStatus.OFFERED
    assert points(bob) == 0
