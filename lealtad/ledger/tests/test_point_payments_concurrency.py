"""P7 under concurrency: payments racing for one balance take exactly what it holds."""

from decimal import Decimal

import pytest
from django.conf import settings

from lealtad.core import errors, testing
from lealtad.customers import actions as customers
from lealtad.ledger import actions as ledger
from lealtad.ledger import point_payments
from lealtad.ledger.check import check_ledger
from lealtad.ledger.models import Account, PointPayment
from lealtad.ledger.tests.test_concurrency import run_together

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason="needs PostgreSQL (row locks): set DATABASE_URL=postgres://… to run it",
    ),
    pytest.mark.django_db(transaction=True),
]


def test_two_payments_race_for_one_balance():
    shop = testing.make_merchant(points_as_money=True, point_money_value=Decimal(10))
    member = testing.make_customer(shop).membership
    ledger.accrue_points(
        merchant=shop.merchant, membership=member, branch=shop.branch, amount=Decimal(300_000)
    )

    def pay(i):
        return point_payments.pay_with_points(
            membership=customers.get_membership_for(shop.merchant, member.customer_id),
            invoice_amount=Decimal(50_000),
            points=200,
            invoice_number=f"F-{i}",
            branch=shop.branch,
        )

    results = run_together(2, pay)
    assert sum(isinstance(r, point_payments.Paid) for r in results) == 1, results
    assert sum(isinstance(r, errors.InsufficientPoints) for r in results) == 1, results
    assert Account.objects.get(pk=member.account_id).balance == 100
    assert PointPayment.objects.count() == 1
    assert check_ledger() == []


def test_twenty_payments_take_exactly_what_the_balance_affords():
    shop = testing.make_merchant(points_as_money=True, point_money_value=Decimal(10))
    member = testing.make_customer(shop).membership
    ledger.accrue_points(
        merchant=shop.merchant, membership=member, branch=shop.branch, amount=Decimal(1_050_000)
    )

    def pay(i):
        return point_payments.pay_with_points(
            membership=customers.get_membership_for(shop.merchant, member.customer_id),
            invoice_amount=Decimal(1_000),
            points=100,
            branch=shop.branch,
        )

    results = run_together(20, pay)
    paid = [r for r in results if isinstance(r, point_payments.Paid)]
    assert len(paid) == 10, results
    assert all(isinstance(r, (point_payments.Paid, errors.InsufficientPoints)) for r in results)
    assert sorted(p.movement.available for p in paid) == list(range(50, 1050, 100))
    assert Account.objects.get(pk=member.account_id).balance == 50
    assert check_ledger() == []
