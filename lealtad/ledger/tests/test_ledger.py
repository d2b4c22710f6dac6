"""The ledger's rules, one by one, against the real database."""

import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from lealtad.coins import actions as coins
from lealtad.core import errors, testing
from lealtad.customers.models import Membership, RedeemPolicy
from lealtad.ledger import actions
from lealtad.ledger.check import check_ledger
from lealtad.ledger.models import Account, Entry, Kind, Lot, Transaction
from lealtad.program.models import Category

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 3, 1, 15, tzinfo=dt.UTC)


@pytest.fixture
def shop():
    return testing.make_merchant(point_value="1000", points_validity_days=30)


@pytest.fixture
def member(shop):
    return testing.make_customer(shop).membership


def accrue(shop, member, amount, now=NOW, **kw):
    return actions.accrue_points(
        merchant=shop.merchant,
        customer=member.customer,
        amount=Decimal(amount),
        branch=shop.branch,
        now=now,
        **kw,
    )


def account(member):
    return Account.objects.get(pk=member.account_id)


def test_points_expire_after_the_category_validity_else_the_merchants(shop, member):
    accrue(shop, member, 5000)
    assert Lot.objects.get().expires_at == NOW + dt.timedelta(days=30)
    Category.objects.filter(pk=member.category_id).update(validity_days=7)
    member.refresh_from_db()
    accrue(shop, member, 5000)
    assert Lot.objects.latest("id").expires_at == NOW + dt.timedelta(days=7)


def test_redeem_consumes_soonest_expiring_lots_first(shop, member):
    reward = testing.make_reward(shop, cost=7)
    old = accrue(shop, member, 5000, now=NOW - dt.timedelta(days=20)).transaction
    new = accrue(shop, member, 5000).transaction
    actions.redeem_reward(membership=member, reward_id=reward.pk, branch=shop.branch, now=NOW)
    assert Lot.objects.get(transaction=old).remaining == 0
    assert Lot.objects.get(transaction=new).remaining == 3
    assert check_ledger() == []


def test_expiry_moves_out_exactly_the_open_remainder(shop, member):
    reward = testing.make_reward(shop, cost=4)
    accrue(shop, member, 10000, now=NOW - dt.timedelta(days=40))
    accrue(shop, member, 3000, now=NOW)
    actions.redeem_reward(
        membership=member,
        reward_id=reward.pk,
        branch=shop.branch,
        now=NOW - dt.timedelta(days=35) + dt.timedelta(hours=1),
    )
    assert actions.expire_points(now=NOW) == 6
    expiry = Transaction.objects.get(kind=Kind.EXPIRY)
    assert (expiry.points, expiry.balance_after) == (-6, 3)
    assert account(member).balance == 3
    assert actions.expire_points(now=NOW) == 0  # nothing twice
    assert check_ledger() == []


def test_expiry_reads_only_lots_falling_due(shop, django_assert_max_num_queries):
    for _ in range(30):
        accrue(shop, testing.make_customer(shop).membership, 9000)
    with django_assert_max_num_queries(1):
        assert actions.expire_points(now=NOW + dt.timedelta(days=1)) == 0


def test_balance_shown_leaves_out_points_due_but_not_yet_swept(shop, member):
    from lealtad.api.views import points_of

    accrue(shop, member, 4000, now=NOW - dt.timedelta(days=31))
    accrue(shop, member, 6000, now=NOW - dt.timedelta(days=10))
    points = points_of(member, now=NOW)
    assert points == {"available": 6, "pending": 0, "expiring_30d": 6}


def test_held_accrual_is_not_spendable_until_approved(shop, member):
    audited = Category.objects.create(merchant=shop.merchant, name="Audit", audit_mode="manual")
    Membership.objects.filter(pk=member.pk).update(category=audited)
    member.refresh_from_db()
    held = accrue(shop, member, 50000, now=NOW - dt.timedelta(days=5))
    assert (held.transaction.status, held.available, held.pending) == ("pending", 0, 50)
    assert not Entry.objects.exists()
    reward = testing.make_reward(shop, cost=10)
    member.customer.__class__.objects.filter(pk=member.customer_id).update(profile_complete=True)
    with pytest.raises(errors.InsufficientPoints):
        actions.redeem_reward(membership=member, reward_id=reward.pk, branch=shop.branch, now=NOW)
    approved = actions.approve_accrual(
        merchant=shop.merchant, transaction_id=held.transaction.pk, now=NOW
    )
    assert (approved.available, approved.pending) == (50, 0)
    lot = Lot.objects.get(transaction=held.transaction)
    assert lot.earned_at == NOW - dt.timedelta(days=5)  # dated from the accrual
    assert check_ledger() == []


def test_rejected_accrual_never_creates_anything_spendable(shop, member):
    audited = Category.objects.create(merchant=shop.merchant, name="Audit", audit_mode="manual")
    Membership.objects.filter(pk=member.pk).update(category=audited)
    member.refresh_from_db()
    held = accrue(shop, member, 20000).transaction
    with pytest.raises(errors.ValidationFailed):
        actions.reject_accrual(merchant=shop.merchant, transaction_id=held.pk, reason="")
    actions.reject_accrual(merchant=shop.merchant, transaction_id=held.pk, reason="fake invoice")
    assert (account(member).balance, account(member).pending) == (0, 0)
    assert Transaction.objects.get(pk=held.pk).status == "rejected"
    assert not Entry.objects.exists()
    with pytest.raises(errors.TransactionNotPending):
        actions.approve_accrual(merchant=shop.merchant, transaction_id=held.pk)
    assert check_ledger() == []


def test_adjustments_need_a_reason_and_cannot_overdraw(shop, member):
    with pytest.raises(errors.ValidationFailed):
        actions.adjust_points(membership=member, points=5, reason=" ")
    actions.adjust_points(membership=member, points=5, reason="goodwill", now=NOW)
    with pytest.raises(errors.InsufficientPoints):
        actions.adjust_points(membership=member, points=-6, reason="fix", now=NOW)
    actions.adjust_points(membership=member, points=-5, reason="fix", now=NOW)
    assert account(member).balance == 0
    assert check_ledger() == []


def test_welcome_bonus_is_granted_once(db):
    shop = testing.make_merchant(welcome_bonus_points=25)
    reg = testing.make_customer(shop, welcome_bonus=True)
    assert reg.bonus_points == 25
    assert Transaction.objects.filter(kind=Kind.BONUS).count() == 1
    assert account(reg.membership).balance == 25


def test_dependents_accrue_into_the_holder_and_redeem_only_with_all_cards(shop, member):
    dependent = testing.make_customer(shop).membership
    Membership.objects.filter(pk=dependent.pk).update(holder=member)
    dependent = Membership.objects.select_related("customer", "holder", "category").get(
        pk=dependent.pk
    )
    actions.accrue_points(
        merchant=shop.merchant,
        customer=dependent.customer,
        amount=Decimal(30000),
        branch=shop.branch,
        now=NOW,
    )
    assert (account(member).balance, account(dependent).balance) == (30, 0)
    reward = testing.make_reward(shop, cost=10)
    with pytest.raises(errors.Forbidden):
        actions.redeem_reward(
            membership=dependent, reward_id=reward.pk, branch=shop.branch, now=NOW
        )
    Membership.objects.filter(pk=member.pk).update(redeem_policy=RedeemPolicy.ALL_CARDS)
    dependent.holder.refresh_from_db()
    actions.redeem_reward(membership=dependent, reward_id=reward.pk, branch=shop.branch, now=NOW)
    assert account(member).balance == 20


def test_coins_earned_at_an_issuer_spent_at_an_acceptor(db):
    issuer = testing.make_merchant(coin_issuer=True, cashback_rate=Decimal("0.02"))
    acceptor = testing.make_merchant("Farmacia", coin_acceptor=True)
    customer = testing.make_customer(issuer).customer
    earned = coins.earn_coins(
        merchant=issuer.merchant, customer=customer, amount=Decimal("2549.99"), now=NOW
    )
    assert earned.transaction.points == 50  # 2% of 2549.99 = 50.9998 → 50
    lot = Lot.objects.get(transaction=earned.transaction)
    assert lot.expires_at == dt.datetime(2028, 3, 1, 15, tzinfo=dt.UTC)
    assert coins.add_months(dt.datetime(2026, 8, 31, tzinfo=dt.UTC), 6).day == 28
    with pytest.raises(errors.Forbidden):
        coins.pay_with_coins(merchant=issuer.merchant, customer=customer, coins=1, now=NOW)
    with pytest.raises(errors.InsufficientPoints):
        coins.pay_with_coins(merchant=acceptor.merchant, customer=customer, coins=51, now=NOW)
    paid = coins.pay_with_coins(merchant=acceptor.merchant, customer=customer, coins=20, now=NOW)
    assert paid.available == 30
    wallet = Account.objects.get(customer=customer, kind="coins")
    assert wallet.merchant_id is None and wallet.balance == 30
    assert check_ledger() == []


def test_coins_expire_after_24_months_oldest_first(db):
    issuer = testing.make_merchant(
        coin_issuer=True, coin_acceptor=True, cashback_rate=Decimal("0.1")
    )
    customer = testing.make_customer(issuer).customer
    coins.earn_coins(
        merchant=issuer.merchant,
        customer=customer,
        amount=Decimal(100),
        now=NOW - dt.timedelta(days=800),
    )
    coins.earn_coins(merchant=issuer.merchant, customer=customer, amount=Decimal(50), now=NOW)
    assert actions.expire_points(now=NOW) == 10
    assert Account.objects.get(customer=customer, kind="coins").balance == 5


def test_entries_are_append_only_in_the_database(shop, member):
    accrue(shop, member, 5000)
    for change in (lambda q: q.update(points=99), lambda q: q.delete()):
        with pytest.raises(Exception, match="append-only"), transaction.atomic():
            change(Entry.objects.all())
    assert Entry.objects.get().points == 5


def test_the_database_refuses_a_negative_balance(member):
    from django.db import IntegrityError

    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.filter(pk=member.account_id).update(balance=-1)


def test_ledger_check_command_names_the_account_that_disagrees(shop, member):
    accrue(shop, member, 5000)
    out = StringIO()
    call_command("ledger_check", stdout=out)
    assert "every account agrees" in out.getvalue()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE ledger_account SET balance = 7 WHERE id = %s", [member.account_id])
    err = StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("ledger_check", stdout=out, stderr=err)
    assert exit_.value.code == 1
    assert f"account {member.account_id}: balance 7, entries 5" in err.getvalue()


def test_expire_points_command(shop, member):
    accrue(shop, member, 5000, now=timezone.now() - dt.timedelta(days=31))
    out = StringIO()
    call_command("expire_points", stdout=out)
    assert out.getvalue().startswith("expired 5 points")
    assert account(member).balance == 0
