"""A6: "favourites" is a promotion target the console offers like the others, and a favourite's
accrual gets it at the till."""

from decimal import Decimal

import pytest
from django.test import Client

from lealtad.console.tests.test_offers_console import window
from lealtad.core import testing
from lealtad.favourites.actions import mark_favourite
from lealtad.ledger import actions as ledger
from lealtad.offers.models import Promotion, Target

pytestmark = pytest.mark.django_db


def test_the_console_makes_a_promotion_for_favourites_and_the_till_applies_it():
    shop = testing.make_merchant("Aroma")
    console = Client()
    console.force_login(shop.admin)
    response = console.post(
        "/console/promotions/new/",
        {
            "name": "Para sus fans",
            "kind": "bonus",
            "bonus_points": "7",
            "target": "favourites",
            "active": "on",
            **window(),
        },
    )
    assert response.status_code == 302
    promo = Promotion.objects.get(merchant=shop.merchant)
    assert promo.target == Target.FAVOURITES
    fan, other = testing.make_customer(shop), testing.make_customer(shop)
    mark_favourite(fan.customer, shop.merchant)
    for n, reg in enumerate((fan, other)):
        ledger.accrue_points(
            merchant=shop.merchant,
            membership=reg.membership,
            branch=shop.branch,
            amount=Decimal("10000"),
            invoice_number=f"F-{n}",
        )
    points = dict(
        (reg.customer.pk, reg.membership.account.transactions.get().points) for reg in (fan, other)
    )
    assert points == {fan.customer.pk: 10 + 7, other.customer.pk: 10}
