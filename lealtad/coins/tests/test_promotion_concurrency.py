"""R3 under concurrency (PostgreSQL row locks): the last unit of a coin promotion goes to exactly
one of the customers taking it at the same moment; the other is told it is sold out and has
nothing held. A cancel racing a new purchase never loses or doubles a unit."""

import pytest
from django.conf import settings

from lealtad.coins import payments
from lealtad.coins.actions import wallet_of
from lealtad.coins.models import CoinPayment, CoinPromotion, PaymentStatus
from lealtad.coins.purchases import buy_promotion
from lealtad.coins.tests.promo_helpers import acceptor, customer_with_coins, promotion
from lealtad.core import errors
from lealtad.ledger.check import check_ledger
from lealtad.ledger.tests.test_concurrency import run_together

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason="needs PostgreSQL (row locks): set DATABASE_URL=postgres://… to run it",
    ),
    pytest.mark.django_db(transaction=True),
]


def test_two_customers_take_the_last_unit_at_once():
    shop = acceptor()
    buyers = [customer_with_coins(shop, amount=1000) for _ in range(2)]
    last = promotion(shop, price=400, stock=1)
    results = run_together(
        2, lambda i: buy_promotion(last.pk, merchant=shop.merchant, customer=buyers[i])
    )
    won = [r for r in results if isinstance(r, CoinPayment)]
    lost = [r for r in results if isinstance(r, errors.OutOfStock)]
    assert len(won) == 1 and len(lost) == 1, results
    assert CoinPromotion.objects.get(pk=last.pk).stock == 0
    held = sorted(wallet_of(c)["held"] for c in buyers)
    assert held == [0, 400]
    assert CoinPayment.objects.count() == 1
    assert check_ledger() == []


def test_ten_customers_race_for_three_units():
    shop = acceptor()
    buyers = [customer_with_coins(shop, amount=500) for _ in range(10)]
    few = promotion(shop, price=100, stock=3)
    results = run_together(
        10, lambda i: buy_promotion(few.pk, merchant=shop.merchant, customer=buyers[i])
    )
    assert sum(isinstance(r, CoinPayment) for r in results) == 3, results
    assert all(isinstance(r, (CoinPayment, errors.OutOfStock)) for r in results), results
    assert CoinPromotion.objects.get(pk=few.pk).stock == 0
    assert sum(wallet_of(c)["held"] for c in buyers) == 300


def test_a_cancel_racing_new_purchases_keeps_the_count():
    shop = acceptor()
    buyers = [customer_with_coins(shop, amount=500) for _ in range(5)]
    one = promotion(shop, price=100, stock=1)
    first = buy_promotion(one.pk, merchant=shop.merchant, customer=buyers[0])

    def work(i):
        if i == 0:
            return payments.cancel_payment(first.pk, merchant=shop.merchant)
        return buy_promotion(one.pk, merchant=shop.merchant, customer=buyers[i])

    results = run_together(5, work)
    assert not [r for r in results if not isinstance(r, (CoinPayment, errors.OutOfStock))]
    awaiting = CoinPayment.objects.filter(status=PaymentStatus.AWAITING_CODE).count()
    # Units left + units held by waiting payments = the one there was.
    assert CoinPromotion.objects.get(pk=one.pk).stock + awaiting == 1
    assert check_ledger() == []
