"""The points rules of issue 9: invoice numbers, the minimum purchase, the one quote, goals that
count only standing accruals, and settings that cannot be zero."""

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone, translation

from lealtad.cashier import goals
from lealtad.coins import actions as coins
from lealtad.core import errors, testing
from lealtad.ledger import actions
from lealtad.ledger.models import Account, Kind, Status, Transaction
from lealtad.program.models import AuditMode, Category, FraudRule

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    return testing.make_merchant(point_value="1000")


@pytest.fixture
def member(shop):
    return testing.make_customer(shop).membership


def clone(txn, **changes) -> Transaction:
    """Another row like `txn`, written straight to the table (as old data or a racing writer)."""
    fields = {
        f.attname: getattr(txn, f.attname)
        for f in Transaction._meta.concrete_fields
        if f.attname != "id"
    }
    return Transaction.objects.create(**{**fields, **changes})


def accrue(shop, member, amount="5000", **kw):
    return actions.accrue_points(
        merchant=shop.merchant,
        membership=member,
        amount=Decimal(amount),
        branch=shop.branch,
        **kw,
    )


# --- invoice numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "again"),
    [
        ("F-1001", "f-1001"),
        ("F-1001", "  F-1001 "),
        ("FAC 1001", "fac   1001"),
        ("F-1001", "F‑1001"),  # a non-breaking hyphen, as some POS systems send it
        ("F-1001", "Ｆ-１００１"),  # full-width letters and digits
    ],
)
def test_one_invoice_in_any_case_or_spacing_accrues_once(shop, member, first, again):
    accrue(shop, member, invoice_number=first)
    with pytest.raises(errors.DuplicateInvoice) as refused:
        accrue(shop, member, invoice_number=again)
    assert refused.value.code == "duplicate_invoice"
    assert Transaction.objects.filter(kind=Kind.ACCRUAL).count() == 1


def test_the_number_is_kept_as_typed_and_compared_by_its_key(shop, member):
    from lealtad.ledger.invoices import invoice_key

    txn = accrue(shop, member, invoice_number="  Fac   A-77 ").transaction
    txn.refresh_from_db()
    assert (txn.invoice_number, txn.invoice_key) == ("Fac A-77", "fac a-77")
    assert invoice_key("") is None and invoice_key("   ") is None


def test_a_rejected_accrual_frees_its_invoice_number(shop, member):
    Category.objects.filter(pk=member.category_id).update(audit_mode=AuditMode.MANUAL)
    member.refresh_from_db()
    held = accrue(shop, member, invoice_number="F-7").transaction
    assert held.status == Status.PENDING
    with pytest.raises(errors.DuplicateInvoice):  # awaiting approval: still taken
        accrue(shop, member, invoice_number="f-7")
    actions.reject_accrual(merchant=shop.merchant, transaction_id=held.pk, reason="Typo")
    again = accrue(shop, member, invoice_number="f-7").transaction
    assert again.status == Status.PENDING and again.invoice_key == "f-7"


def test_a_reversed_accrual_keeps_its_number_and_says_so(shop, member):
    txn = accrue(shop, member, invoice_number="F-8").transaction
    actions.reverse_transaction(merchant=shop.merchant, transaction_id=txn.pk, reason="Void")
    with translation.override("es"), pytest.raises(errors.InvoiceReversed) as refused:
        accrue(shop, member, invoice_number="F-8")
    assert refused.value.code == "invoice_reversed" and refused.value.status == 409
    assert "anulada" in str(refused.value.detail)
    assert refused.value.extra["transaction_id"] == str(txn.pk)
    assert Transaction.objects.filter(kind=Kind.ACCRUAL).count() == 1


def test_the_database_refuses_a_second_standing_accrual_of_one_key(shop, member):
    txn = accrue(shop, member, invoice_number="F-9").transaction
    with pytest.raises(IntegrityError), transaction.atomic():
        clone(txn, invoice_number="f-9")
    clone(txn, status=Status.REJECTED)  # a rejected one stands beside it


# --- the minimum purchase ----------------------------------------------------------------------


@pytest.mark.parametrize("amount", ["999", "1", "999.99"])
def test_an_amount_that_earns_no_point_is_refused_with_the_minimum(shop, member, amount):
    with translation.override("es"), pytest.raises(errors.AmountBelowMinimum) as refused:
        accrue(shop, member, amount)
    assert refused.value.code == "amount_below_minimum" and refused.value.status == 422
    assert refused.value.extra["minimum"] == "1000.00"
    assert "1.000 COP" in str(refused.value.detail)
    assert refused.value.errors[0]["field"] == "amount"
    assert not Transaction.objects.exists()
    assert Account.objects.get(pk=member.account_id).balance == 0


def test_the_minimum_follows_the_categorys_factor(shop, member):
    Category.objects.filter(pk=member.category_id).update(multiplier=Decimal("0.5"))
    member.refresh_from_db()
    with pytest.raises(errors.AmountBelowMinimum) as refused:
        accrue(shop, member, "1999")
    assert refused.value.extra["minimum"] == "2000.00"
    assert accrue(shop, member, "2000").transaction.points == 1


def test_a_bonus_promotion_does_not_make_a_purchase_of_nothing_count(shop, member):
    testing.make_promotion(shop, kind="bonus", bonus_points=50)
    with pytest.raises(errors.AmountBelowMinimum):
        accrue(shop, member, "500")
    assert not Transaction.objects.exists()


def test_a_refused_first_accrual_makes_no_member(shop):
    other = testing.make_merchant("Otra tienda")
    customer = testing.make_customer(other).customer
    with pytest.raises(errors.AmountBelowMinimum):
        actions.accrue_points(
            merchant=shop.merchant, customer=customer, amount=Decimal("10"), branch=shop.branch
        )
    assert not customer.memberships.filter(merchant=shop.merchant).exists()


def test_coins_below_one_are_refused_too(db):
    shop = testing.make_merchant(coin_issuer=True, cashback_rate=Decimal("0.03"))
    customer = testing.make_customer(shop).customer
    with pytest.raises(errors.AmountBelowMinimum) as refused:
        coins.earn_coins(merchant=shop.merchant, customer=customer, amount=Decimal("33"))
    assert refused.value.extra["minimum"] == "33.34"
    assert not Transaction.objects.filter(kind=Kind.COIN_EARN).exists()
    assert (
        coins.earn_coins(merchant=shop.merchant, customer=customer, amount=Decimal("34")).points
        == 1
    )


# --- one quote ---------------------------------------------------------------------------------


def test_the_quote_is_what_the_accrual_posts_with_promotions(shop, member):
    double = testing.make_promotion(shop, kind="multiplier", multiplier=Decimal("3"))
    bonus = testing.make_promotion(shop, kind="bonus", bonus_points=50, min_amount=Decimal("20000"))
    quote = actions.quote_accrual(shop.merchant, member, Decimal("25000"))
    assert (quote.base, quote.points) == (25, 125)
    assert {(p.pk, extra) for p, extra in quote.applied} == {(double.pk, 50), (bonus.pk, 50)}
    assert accrue(shop, member, "25000").transaction.points == quote.points


# --- goals -------------------------------------------------------------------------------------


def test_goals_count_only_standing_accruals(shop, member):
    carol = testing.make_cashier(shop)
    kept = accrue(shop, member, staff=carol).transaction
    reversed_ = accrue(shop, member, staff=carol).transaction
    actions.reverse_transaction(merchant=shop.merchant, transaction_id=reversed_.pk, reason="No")
    Category.objects.filter(pk=member.category_id).update(audit_mode=AuditMode.MANUAL)
    member.refresh_from_db()
    rejected = accrue(shop, member, staff=carol).transaction
    actions.reject_accrual(merchant=shop.merchant, transaction_id=rejected.pk, reason="Fake")
    waiting = accrue(shop, member, staff=carol).transaction
    clone(kept, points=0, invoice_key=None)  # a 0-point accrual from before the minimum
    assert waiting.status == Status.PENDING
    assert goals.progress(carol, shop.merchant)["accruals"]["done"] == 2  # kept, waiting
    # The merchant's own day (the report's), not UTC's: they differ for hours every night.
    today = timezone.localdate(timezone.now(), timezone=zoneinfo.ZoneInfo(shop.merchant.timezone))
    row = next(r for r in goals.report(shop.merchant, today) if r["user"] == carol)
    assert row["accruals"]["done"] == 2


# --- settings that cannot be zero --------------------------------------------------------------


def test_a_category_multiplier_of_zero_is_refused_by_the_database(shop):
    category = Category.objects.get(merchant=shop.merchant, is_default=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        Category.objects.filter(pk=category.pk).update(multiplier=Decimal("0"))
    with pytest.raises(IntegrityError), transaction.atomic():
        Category.objects.filter(pk=category.pk).update(validity_days=0)


def test_a_fraud_limit_of_zero_is_refused_by_the_database(shop):
    with pytest.raises(IntegrityError), transaction.atomic():
        FraudRule.objects.create(
            merchant=shop.merchant, kind="max_accruals_per_day", limit=Decimal("0")
        )


def test_a_refusing_rule_says_its_limit_as_people_read_it(shop, member):
    FraudRule.objects.create(
        merchant=shop.merchant, kind="max_invoice_amount", limit=Decimal("1000000"), action="refuse"
    )
    FraudRule.objects.create(
        merchant=shop.merchant, kind="max_accruals_per_day", limit=Decimal("1"), action="refuse"
    )
    with pytest.raises(errors.FraudRuleRefused) as refused:
        accrue(shop, member, "2000000")
    assert "(1.000.000)" in str(refused.value.detail)
    accrue(shop, member, "5000")
    with pytest.raises(errors.FraudRuleRefused) as refused:
        accrue(shop, member, "5000")
    assert "(1)" in str(refused.value.detail) and "1.00" not in str(refused.value.detail)


def test_the_backfill_keys_standing_accruals_and_the_first_of_old_twins(shop, member):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("lealtad.ledger.migrations.0005_invoice_key")
    first = accrue(shop, member, invoice_number="F-1001").transaction
    # What the old, case-sensitive constraint let in, before the key existed.
    later = clone(
        first,
        invoice_number="f-1001",
        invoice_key=None,
        created_at=first.created_at + dt.timedelta(seconds=1),
    )
    rejected = clone(first, invoice_number="F-2", invoice_key=None, status=Status.REJECTED)
    Transaction.objects.filter(pk=first.pk).update(invoice_key=None)
    migration.backfill(apps, None)
    keys = dict(Transaction.objects.values_list("pk", "invoice_key"))
    assert (keys[first.pk], keys[later.pk], keys[rejected.pk]) == ("f-1001", None, None)


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "multiplier", "multiplier": Decimal("1")},
        {"kind": "multiplier", "multiplier": Decimal("0")},
        {"kind": "bonus", "bonus_points": 0},
        {"kind": "bonus", "bonus_points": 10, "uses_per_customer": 0},
        {"kind": "bonus", "bonus_points": 10, "min_amount": Decimal("-1")},
    ],
)
def test_promotion_settings_out_of_range_are_refused_by_the_database(shop, fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        testing.make_promotion(shop, **fields)


@pytest.mark.parametrize(
    ("kind", "fields"),
    [
        ("points", {"points": 0}),
        ("discount", {"discount_percent": Decimal("0")}),
        ("discount", {"discount_percent": Decimal("101")}),
        ("product", {"valid_days": 0}),
    ],
)
def test_gift_settings_out_of_range_are_refused_by_the_database(shop, kind, fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        testing.make_gift(shop, kind=kind, **fields)
