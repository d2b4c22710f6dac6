"""K3's ledger side: a hold (pending transfer) moves coins from available to held with no entry
and no lot touched; its capture debits the lots soonest-first, its void gives them back; each
resolved once; the expiry never takes what a hold reserves; ledger-check counts the holds."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lealtad.coins import actions as coins
from lealtad.core import testing
from lealtad.ledger import ledger
from lealtad.ledger.actions import expire_points
from lealtad.ledger.check import check_ledger
from lealtad.ledger.models import Account, Entry, Hold, HoldStatus, Kind, Lot, Transaction

NOW = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)
TWO_YEARS_AGO = NOW - dt.timedelta(days=800)  # lots earned then are due at NOW


@pytest.fixture
def issuer(db):
    return testing.make_merchant(coin_issuer=True, cashback_rate="1")


@pytest.fixture
def customer(issuer):
    return testing.make_customer(issuer).customer


def earn(issuer, customer, coins, now=NOW):
    return coins_earn(issuer, customer, coins, now)


def coins_earn(issuer, customer, amount, now):
    return coins.earn_coins(
        merchant=issuer.merchant, customer=customer, amount=Decimal(amount), now=now
    )


def wallet(customer) -> Account:
    return Account.objects.get(customer=customer, kind="coins")


def payment_txn(account, points, customer):
    return Transaction.objects.create(
        account_id=account.id, kind=Kind.COIN_PAYMENT, points=-points, customer=customer,
        created_at=NOW, posted_at=NOW,
    )  # fmt: skip


def test_a_hold_moves_available_to_held_without_entries(issuer, customer):
    earn(issuer, customer, 100)
    entries = Entry.objects.count()
    with transaction.atomic():
        account = ledger.lock_account(wallet(customer).pk)
        hold = ledger.hold_coins(account, 60, NOW)
    row = wallet(customer)
    assert (row.balance, row.pending) == (40, 60)
    assert Entry.objects.count() == entries
    assert Lot.objects.get(account=row).remaining == 100
    assert hold.status == HoldStatus.PENDING
    assert check_ledger() == []
    assert coins.wallet_of(customer, NOW)["available"] == 40
    assert coins.wallet_of(customer, NOW)["held"] == 60


def test_a_hold_above_the_available_balance_holds_nothing(issuer, customer):
    earn(issuer, customer, 100)
    with transaction.atomic():
        account = ledger.lock_account(wallet(customer).pk)
        assert ledger.hold_coins(account, 70, NOW) is not None
        assert ledger.hold_coins(account, 31, NOW) is None  # 30 left: held coins are not spent
    row = wallet(customer)
    assert (row.balance, row.pending) == (30, 70)
    assert Hold.objects.count() == 1


def test_capture_debits_the_lots_soonest_first_and_is_done_once(issuer, customer):
    older = earn(issuer, customer, 30, now=NOW - dt.timedelta(days=10))
    earn(issuer, customer, 100)
    with transaction.atomic():
        account = ledger.lock_account(wallet(customer).pk)
        hold = ledger.hold_coins(account, 50, NOW)
        txn = payment_txn(account, 50, customer)
        ledger.capture_hold(account, hold.pk, txn, NOW)
    row = wallet(customer)
    assert (row.balance, row.pending) == (80, 0)
    takes = sorted(Entry.objects.filter(transaction=txn).values_list("lot__points", "points"))
    assert takes == [(30, -30), (100, -20)]
    assert Lot.objects.get(transaction=older.transaction).remaining == 0
    with pytest.raises(ledger.HoldResolved), transaction.atomic():
        ledger.capture_hold(
            ledger.lock_account(row.pk), hold.pk, payment_txn(row, 50, customer), NOW
        )
    with pytest.raises(ledger.HoldResolved), transaction.atomic():
        ledger.void_hold(ledger.lock_account(row.pk), hold.pk, NOW)
    assert (wallet(customer).balance, wallet(customer).pending) == (80, 0)
    assert check_ledger() == []


def test_void_gives_the_coins_back_once(issuer, customer):
    earn(issuer, customer, 100)
    with transaction.atomic():
        account = ledger.lock_account(wallet(customer).pk)
        hold = ledger.hold_coins(account, 60, NOW)
        ledger.void_hold(account, hold.pk, NOW)
    row = wallet(customer)
    assert (row.balance, row.pending) == (100, 0)
    with pytest.raises(ledger.HoldResolved), transaction.atomic():
        ledger.void_hold(ledger.lock_account(row.pk), hold.pk, NOW)
    assert wallet(customer).balance == 100
    assert check_ledger() == []


def test_ledger_check_catches_a_held_balance_without_its_hold(issuer, customer):
    earn(issuer, customer, 100)
    Account.objects.filter(pk=wallet(customer).pk).update(balance=40, pending=60)
    assert len(check_ledger()) == 1
    Hold.objects.create(account=wallet(customer), points=60, created_at=NOW)
    assert check_ledger() == []


def test_the_expiry_never_takes_held_coins(issuer, customer):
    """A due lot of 10 and a fresh one of 10; a hold of 15 reserves the oldest coins: the daily
    expiry takes nothing (it would take available below zero), the capture spends the due lot."""
    earn(issuer, customer, 10, now=TWO_YEARS_AGO)
    earn(issuer, customer, 10, now=NOW - dt.timedelta(days=1))
    with transaction.atomic():
        account = ledger.lock_account(wallet(customer).pk)
        hold = ledger.hold_coins(account, 15, NOW - dt.timedelta(minutes=1))
    assert coins.wallet_of(customer, NOW)["available"] == 5  # the due coins are held, not lost
    assert expire_points(now=NOW) == 0
    assert (wallet(customer).balance, wallet(customer).pending) == (5, 15)
    with transaction.atomic():
        account = ledger.lock_account(wallet(customer).pk)
        ledger.capture_hold(account, hold.pk, payment_txn(account, 15, customer), NOW)
    row = wallet(customer)
    assert (row.balance, row.pending) == (5, 0)
    assert sorted(Lot.objects.filter(account=row).values_list("remaining", flat=True)) == [0, 5]
    assert check_ledger() == []


def test_the_expiry_takes_the_due_coins_a_hold_does_not_reserve(issuer, customer):
    earn(issuer, customer, 10, now=TWO_YEARS_AGO)
    earn(issuer, customer, 10, now=NOW - dt.timedelta(days=1))
    with transaction.atomic():
        account = ledger.lock_account(wallet(customer).pk)
        hold = ledger.hold_coins(account, 4, NOW)
    assert coins.wallet_of(customer, NOW)["available"] == 10
    assert expire_points(now=NOW) == 6
    assert (wallet(customer).balance, wallet(customer).pending) == (10, 4)
    assert check_ledger() == []
    with transaction.atomic():
        ledger.void_hold(ledger.lock_account(wallet(customer).pk), hold.pk, NOW)
    # Released, the 4 due coins belong to the next expiry.
    assert coins.wallet_of(customer, NOW)["available"] == 10
    assert expire_points(now=NOW) == 4
    assert (wallet(customer).balance, wallet(customer).pending) == (10, 0)
    assert check_ledger() == []


OPS = st.lists(
    st.tuples(
        st.sampled_from(["earn", "earn_old", "hold", "capture", "void", "expire"]),
        st.integers(min_value=1, max_value=60),
    ),
    max_size=25,
)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(ops=OPS)
def test_any_sequence_keeps_available_plus_held_equal_to_the_open_lots(issuer, customer, ops):
    pending: list[int] = []
    account_id = coins.coin_wallet(customer).pk
    with transaction.atomic():
        for op, n in ops:
            if op == "earn":
                earn(issuer, customer, n)
            elif op == "earn_old":
                earn(issuer, customer, n, now=TWO_YEARS_AGO)
            elif op == "hold":
                hold = ledger.hold_coins(ledger.lock_account(account_id), n, NOW)
                if hold is not None:
                    pending.append(hold.pk)
            elif op in ("capture", "void") and pending:
                hold_id = pending.pop(n % len(pending))
                account = ledger.lock_account(account_id)
                if op == "capture":
                    points = Hold.objects.get(pk=hold_id).points
                    ledger.capture_hold(
                        account, hold_id, payment_txn(account, points, customer), NOW
                    )
                else:
                    ledger.void_hold(account, hold_id, NOW)
            elif op == "expire":
                expire_points(now=NOW)
            row = Account.objects.get(pk=account_id)
            assert row.balance >= 0 and row.pending >= 0
            assert check_ledger([account_id]) == [], (op, n)
        transaction.set_rollback(True)  # each example starts from the same wallet
