"""A5: what the customer's app lists — visits still to rate (30 days, one rating each), the
customer's ratings with unread merchant replies — and another customer's rating is not found."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from lealtad.core import testing
from lealtad.core.errors import NotFound
from lealtad.ledger import actions as ledger
from lealtad.ratings import actions
from lealtad.ratings.tests.factories import make_shop, rate

pytestmark = pytest.mark.django_db


def test_rateable_visits_ratings_and_unread_replies():
    shop = make_shop()
    member, other = testing.make_customer(shop), testing.make_customer(shop)
    now = timezone.now()
    old = rate(shop, member, 9, now - dt.timedelta(days=40))  # rated, and too old anyway
    rating = rate(shop, member, 4, now - dt.timedelta(days=1), comment="Frío")
    fresh = ledger.accrue_points(
        merchant=shop.merchant,
        customer=member.customer,
        amount=Decimal(10_000),
        branch=shop.branch,
        invoice_number="N-1",
    ).transaction
    visits = actions.rateable_visits(member.customer)
    assert [v.pk for v in visits] == [fresh.pk]
    assert actions.rateable_visits(other.customer) == []

    actions.reply(rating, body="Lo sentimos", staff=None)
    rows = {r.pk: r.unread for r in actions.ratings_of(member.customer)}
    assert rows == {rating.pk: 1, old.pk: 0}
    actions.customer_opened(rating)
    assert actions.ratings_of(member.customer).get(pk=rating.pk).unread == 0

    assert actions.get_rating_of(member.customer, str(rating.pk)) == rating
    for bad in (str(rating.pk), "x"):
        with pytest.raises(NotFound):
            actions.get_rating_of(other.customer, bad)
