"""P9: fraud rules hold or refuse accruals exactly as configured, per the audit parameter (C6)."""

import datetime as dt
from decimal import Decimal

import pytest

from lealtad.core import errors, testing
from lealtad.customers.models import Membership
from lealtad.ledger import actions
from lealtad.ledger.check import check_ledger
from lealtad.ledger.models import Account, Transaction
from lealtad.program.models import Category, FraudRule

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 6, 10, 15, tzinfo=dt.UTC)


@pytest.fixture
def shop():
    return testing.make_merchant(point_value="1000")


@pytest.fixture
def member(shop):
    return testing.make_customer(shop).membership


def rule(shop, kind, limit, action="hold", category=None):
    return FraudRule.objects.create(
        merchant=shop.merchant, category=category, kind=kind, limit=Decimal(limit), action=action
    )


def accrue(shop, member, amount, now=NOW, invoice=None):
    member = Membership.objects.select_related("customer", "category", "holder").get(pk=member.pk)
    return actions.accrue_points(
        merchant=shop.merchant,
        membership=member,
        amount=Decimal(amount),
        branch=shop.branch,
        now=now,
        invoice_number=invoice,
    )


def test_big_invoice_is_held_with_the_rule_recorded(shop, member):
    rule(shop, "max_invoice_amount", "500000")
    assert accrue(shop, member, 400000).transaction.status == "posted"
    held = accrue(shop, member, 600000).transaction
    assert (held.status, held.hold_rule) == ("pending", "max_invoice_amount")
    account = Account.objects.get(pk=member.account_id)
    assert (account.balance, account.pending) == (400, 600)
    assert check_ledger() == []


def test_refusing_rule_writes_nothing(shop, member):
    rule(shop, "max_invoice_amount", "500000", action="refuse")
    with pytest.raises(errors.FraudRuleRefused) as exc:
        accrue(shop, member, 600000, invoice="F-1")
    assert exc.value.extra["rule"] == "max_invoice_amount"
    assert not Transaction.objects.filter(kind="accrual").exists()
    accrue(shop, member, 1000, invoice="F-1")  # the invoice number is still free


def test_accruals_per_day_count_in_the_merchants_day(shop, member):
    rule(shop, "max_accruals_per_day", "2")
    accrue(shop, member, 1000, now=NOW)
    accrue(shop, member, 1000, now=NOW + dt.timedelta(hours=1))
    assert (
        accrue(shop, member, 1000, now=NOW + dt.timedelta(hours=2)).transaction.status == "pending"
    )
    # Bogotá's next day starts at 05:00 UTC.
    next_day = dt.datetime(2026, 6, 11, 5, 30, tzinfo=dt.UTC)
    assert accrue(shop, member, 1000, now=next_day).transaction.status == "posted"


def test_minimum_minutes_between_accruals(shop, member):
    rule(shop, "min_minutes_between", "30", action="refuse")
    accrue(shop, member, 1000)
    with pytest.raises(errors.FraudRuleRefused):
        accrue(shop, member, 1000, now=NOW + dt.timedelta(minutes=29))
    accrue(shop, member, 1000, now=NOW + dt.timedelta(minutes=31))


def test_maximum_points_per_day(shop, member):
    rule(shop, "max_points_per_day", "100")
    accrue(shop, member, 60000)
    assert accrue(shop, member, 40000).transaction.status == "posted"  # exactly 100
    assert accrue(shop, member, 1000).transaction.status == "pending"


def test_audit_parameter_chooses_the_rules(shop, member):
    rule(shop, "max_invoice_amount", "10000")
    free = Category.objects.create(merchant=shop.merchant, name="Libre", audit_mode="none")
    own = Category.objects.create(merchant=shop.merchant, name="Propia", audit_mode="own")
    rule(shop, "max_invoice_amount", "100000", category=own)
    Membership.objects.filter(pk=member.pk).update(category=free)
    assert accrue(shop, member, 50000).transaction.status == "posted"
    Membership.objects.filter(pk=member.pk).update(category=own)
    assert accrue(shop, member, 50000).transaction.status == "posted"
    assert accrue(shop, member, 150000).transaction.status == "pending"


def test_changing_a_category_never_rewrites_points_already_earned(shop, member):
    accrue(shop, member, 10000)
    Category.objects.filter(pk=member.category_id).update(multiplier=Decimal("3"))
    assert Account.objects.get(pk=member.account_id).balance == 10
    assert accrue(shop, member, 10000).transaction.points == 30
