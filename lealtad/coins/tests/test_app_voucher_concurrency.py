"""R3 from the app, under contention (PostgreSQL row locks): two tills handing one voucher over
at once hand it over once; two app purchases of the last unit sell it once, the other holding
nothing."""

import pytest
from django.conf import settings

from lealtad.coins import vouchers
from lealtad.coins.actions import wallet_of
from lealtad.coins.models import CoinPromotion, CoinVoucher
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


def test_two_tills_hand_one_voucher_over_once():
    shop = acceptor()
    voucher = vouchers.buy_in_app(promotion(shop).pk, customer=customer_with_coins(shop))
    results = run_together(2, lambda i: vouchers.hand_over(voucher.code, merchant=shop.merchant))
    assert sum(isinstance(r, CoinVoucher) for r in results) == 1, results
    assert sum(isinstance(r, vouchers.VoucherHandedOver) for r in results) == 1, results


def test_two_customers_buy_the_last_unit_in_the_app_at_once():
    shop = acceptor()
    buyers = [customer_with_coins(shop, amount=500) for _ in range(2)]
    last = promotion(shop, price=200, stock=1)
    results = run_together(2, lambda i: vouchers.buy_in_app(last.pk, customer=buyers[i]))
    assert sum(isinstance(r, CoinVoucher) for r in results) == 1, results
    assert sum(isinstance(r, errors.OutOfStock) for r in results) == 1, results
    assert CoinPromotion.objects.get(pk=last.pk).stock == 0
    assert sorted(wallet_of(c)["available"] for c in buyers) == [300, 500]
    assert sum(wallet_of(c)["held"] for c in buyers) == 0
    assert check_ledger() == []
