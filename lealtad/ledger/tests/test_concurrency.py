"""Value moves stay exact under concurrency: real threads against a real PostgreSQL."""

import threading
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from lealtad.core import errors, testing
from lealtad.customers import actions as customers
from lealtad.ledger import actions
from lealtad.ledger.check import check_ledger
from lealtad.ledger.models import Account, Kind, Transaction

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason="needs PostgreSQL (row locks): set DATABASE_URL=postgres://… to run it",
    ),
    pytest.mark.django_db(transaction=True),
]


def run_together(count, work):
    """Run `work(i)` in `count` threads released at once; return results or exceptions."""
    barrier = threading.Barrier(count)
    results = [None] * count

    def runner(i):
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except Exception as exc:  # collected and asserted by the test
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


@pytest.fixture
def shop():
    return testing.make_merchant(point_value="1")


@pytest.fixture
def member(shop):
    return testing.make_customer(shop).membership


def balance_of(membership):
    return Account.objects.get(pk=membership.account_id).balance


def test_50_redemptions_against_a_balance_for_10(shop, member):
    actions.accrue_points(
        merchant=shop.merchant, customer=member.customer, amount=Decimal(100), branch=shop.branch
    )
    reward = testing.make_reward(shop, cost=10)

    def redeem(_i):
        membership = customers.get_membership_for(shop.merchant, member.customer_id)
        return actions.redeem_reward(membership=membership, reward_id=reward.pk, branch=shop.branch)

    results = run_together(50, redeem)
    done = [r for r in results if isinstance(r, actions.Movement)]
    refused = [r for r in results if isinstance(r, errors.InsufficientPoints)]
    assert (len(done), len(refused)) == (10, 40), [r for r in results if r not in done + refused]
    assert balance_of(member) == 0
    assert Transaction.objects.filter(kind=Kind.REDEMPTION).count() == 10
    assert check_ledger() == []


def test_stock_is_never_oversold(shop):
    reward = testing.make_reward(shop, cost=1, stock=5)
    members = [testing.make_customer(shop).membership for _ in range(12)]
    for m in members:
        actions.accrue_points(
            merchant=shop.merchant, customer=m.customer, amount=Decimal(10), branch=shop.branch
        )

    def redeem(i):
        membership = customers.get_membership_for(shop.merchant, members[i].customer_id)
        return actions.redeem_reward(membership=membership, reward_id=reward.pk, branch=shop.branch)

    results = run_together(12, redeem)
    assert sum(isinstance(r, actions.Movement) for r in results) == 5
    assert sum(isinstance(r, errors.OutOfStock) for r in results) == 7
    reward.refresh_from_db()
    assert reward.stock == 0
    assert check_ledger() == []


def test_20_accruals_of_one_invoice_make_one(shop, member):
    def accrue(_i):
        return actions.accrue_points(
            merchant=shop.merchant,
            customer=member.customer,
            amount=Decimal(7),
            branch=shop.branch,
            invoice_number="F-777",
        )

    results = run_together(20, accrue)
    assert sum(isinstance(r, actions.Movement) for r in results) == 1
    assert sum(isinstance(r, errors.DuplicateInvoice) for r in results) == 19
    assert balance_of(member) == 7
    assert check_ledger() == []


def test_one_invoice_typed_in_different_cases_at_once_makes_one(shop, member):
    spellings = ["F-999", "f-999", " F-999", "F-999 ", "f-999  "]

    def accrue(i):
        return actions.accrue_points(
            merchant=shop.merchant,
            customer=member.customer,
            amount=Decimal(7),
            branch=shop.branch,
            invoice_number=spellings[i % len(spellings)],
        )

    results = run_together(10, accrue)
    assert sum(isinstance(r, actions.Movement) for r in results) == 1
    refused = [r for r in results if isinstance(r, errors.DuplicateInvoice)]
    assert len(refused) == 9 and {r.code for r in refused} == {"duplicate_invoice"}
    assert balance_of(member) == 7
    assert check_ledger() == []


def test_one_invoice_for_different_customers_at_once_makes_one(shop):
    members = [testing.make_customer(shop).membership for _ in range(10)]

    def accrue(i):
        return actions.accrue_points(
            merchant=shop.merchant,
            customer=members[i].customer,
            amount=Decimal(5),
            branch=shop.branch,
            invoice_number="F-888",
        )

    results = run_together(10, accrue)
    assert sum(isinstance(r, actions.Movement) for r in results) == 1
    assert sum(isinstance(r, errors.DuplicateInvoice) for r in results) == 9


def test_the_same_idempotency_key_20_times_at_once_has_one_effect(shop, member):
    cashier = testing.make_cashier(shop)
    token = testing.token_for(cashier)
    body = {"customer_id": str(member.customer_id), "amount": "25"}

    def post(_i):
        response = Client().post(
            "/api/v1/accruals",
            body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
            HTTP_IDEMPOTENCY_KEY="same-key",
        )
        return response.status_code, response.json()

    results = run_together(20, post)
    assert not [r for r in results if isinstance(r, Exception)], results
    created = [body for status, body in results if status == 201]
    busy = [body for status, body in results if status == 409]
    assert len(created) + len(busy) == 20
    assert created and all(b == created[0] for b in created)
    assert all(b["code"] == "idempotency_in_progress" for b in busy)
    assert Transaction.objects.filter(kind=Kind.ACCRUAL).count() == 1
    assert balance_of(member) == 25


def test_mixed_accruals_redemptions_and_expiry_keep_the_ledger_exact(shop, member):
    import datetime as dt

    from django.utils import timezone

    long_ago = timezone.now() - dt.timedelta(days=400)
    actions.accrue_points(
        merchant=shop.merchant,
        customer=member.customer,
        amount=Decimal(30),
        branch=shop.branch,
        now=long_ago,
    )  # expired already, not yet swept
    actions.accrue_points(
        merchant=shop.merchant, customer=member.customer, amount=Decimal(50), branch=shop.branch
    )
    reward = testing.make_reward(shop, cost=3)

    def work(i):
        if i % 3 == 0:
            return actions.accrue_points(
                merchant=shop.merchant,
                customer=member.customer,
                amount=Decimal(2),
                branch=shop.branch,
            )
        if i % 3 == 1:
            membership = customers.get_membership_for(shop.merchant, member.customer_id)
            return actions.redeem_reward(
                membership=membership, reward_id=reward.pk, branch=shop.branch
            )
        return actions.expire_points()

    results = run_together(30, work)
    unexpected = [
        r
        for r in results
        if isinstance(r, Exception) and not isinstance(r, errors.InsufficientPoints)
    ]
    assert unexpected == []
    accrued = 50 + 2 * sum(
        isinstance(r, actions.Movement) and r.transaction.kind == "accrual" for r in results
    )
    redeemed = 3 * Transaction.objects.filter(kind=Kind.REDEMPTION).count()
    assert balance_of(member) == accrued - redeemed
    assert Transaction.objects.filter(kind=Kind.EXPIRY).count() == 1
    assert check_ledger() == []


def test_two_reversals_of_one_transaction_make_one(shop, member):
    txn = actions.accrue_points(
        merchant=shop.merchant, customer=member.customer, amount=Decimal(40), branch=shop.branch
    ).transaction

    def reverse(_i):
        return actions.reverse_transaction(
            merchant=shop.merchant, transaction_id=txn.pk, reason="double scan"
        )

    results = run_together(8, reverse)
    assert sum(isinstance(r, Transaction) for r in results) == 1
    assert sum(isinstance(r, errors.AlreadyReversed) for r in results) == 7
    assert balance_of(member) == 0
    assert check_ledger() == []


def test_simultaneous_registrations_of_one_document_make_one_customer(shop):
    from lealtad.customers.models import Customer

    def register(i):
        return customers.register_customer(
            merchant=shop.merchant,
            branch=shop.branch,
            staff=None,
            document_type="CC",
            document_number="79555111",
            country="CO",
            profile={"email": f"r{i}@example.com"},
        )

    results = run_together(10, register)
    assert sum(isinstance(r, customers.Registration) for r in results) == 1
    assert sum(isinstance(r, errors.CustomerExists) for r in results) == 9
    assert Customer.objects.filter(document_number="79555111").count() == 1


def test_concurrent_approvals_release_a_held_accrual_once(shop, member):
    from lealtad.program.models import Category

    audited = Category.objects.create(merchant=shop.merchant, name="Audit", audit_mode="manual")
    type(member).objects.filter(pk=member.pk).update(category=audited)
    txn = actions.accrue_points(
        merchant=shop.merchant, customer=member.customer, amount=Decimal(60), branch=shop.branch
    ).transaction

    def approve(_i):
        return actions.approve_accrual(merchant=shop.merchant, transaction_id=txn.pk)

    results = run_together(6, approve)
    assert sum(isinstance(r, actions.Movement) for r in results) == 1
    assert sum(isinstance(r, errors.TransactionNotPending) for r in results) == 5
    account = Account.objects.get(pk=member.account_id)
    assert (account.balance, account.pending) == (60, 0)
    assert check_ledger() == []


def test_a_daily_limit_holds_under_simultaneous_accruals(shop, member):
    from lealtad.program.models import FraudRule

    FraudRule.objects.create(
        merchant=shop.merchant, kind="max_accruals_per_day", limit=3, action="refuse"
    )

    def accrue(_i):
        return actions.accrue_points(
            merchant=shop.merchant, customer=member.customer, amount=Decimal(5), branch=shop.branch
        )

    results = run_together(10, accrue)
    assert sum(isinstance(r, actions.Movement) for r in results) == 3
    assert sum(isinstance(r, errors.FraudRuleRefused) for r in results) == 7
    assert balance_of(member) == 15
