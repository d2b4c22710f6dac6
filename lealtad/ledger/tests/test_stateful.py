"""Random sequences of accrue / redeem / expire / reverse / adjust / advance the clock, checked
after every step against an independent model of the lots and against the ledger invariants."""

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from lealtad.core import errors, testing
from lealtad.ledger import actions
from lealtad.ledger.check import check_ledger
from lealtad.ledger.models import Account, Kind
from lealtad.ledger.models import Lot as LotRow

VALIDITY = 90
START = dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)
_order = itertools.count()


class Lot:
    def __init__(self, txn_id, points, expires_at):
        self.txn_id, self.remaining, self.expires_at = txn_id, points, expires_at
        self.order = next(_order)


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.shop = testing.make_merchant(point_value="1000", points_validity_days=VALIDITY)
        self.members = [testing.make_customer(self.shop).membership for _ in range(2)]
        self.rewards = [testing.make_reward(self.shop, cost=cost) for cost in (5, 40)]
        self.now = START
        self.lots = {m.pk: [] for m in self.members}
        self.takes = {}  # redemption txn id → [(lot, points)]
        self.movements = []  # (membership, txn id, kind, points)
        self.reversed = set()

    # --- the model ------------------------------------------------------------------------

    def sweep(self, member):
        for lot in self.lots[member.pk]:
            if lot.expires_at <= self.now:
                lot.remaining = 0

    def available(self, member):
        return sum(lot.remaining for lot in self.lots[member.pk])

    def spendable(self, member):
        """What an operation that sweeps first would find; a refused operation rolls its sweep
        back, so the model sweeps only when the operation succeeds."""
        return sum(lot.remaining for lot in self.lots[member.pk] if lot.expires_at > self.now)

    def take(self, member, points, first_txn=None):
        order = sorted(self.lots[member.pk], key=lambda lot: (lot.expires_at, lot.order))
        order.sort(key=lambda lot: lot.txn_id != first_txn)
        taken, left = [], points
        for lot in order:
            if not left:
                break
            piece = min(lot.remaining, left)
            if piece:
                lot.remaining -= piece
                taken.append((lot, piece))
                left -= piece
        assert left == 0
        return taken

    # --- rules ----------------------------------------------------------------------------

    @rule(who=st.integers(0, 1), amount=st.integers(1, 60_000))
    def accrue(self, who, amount):
        member = self.members[who]
        points = amount // 1000
        try:
            movement = actions.accrue_points(
                merchant=self.shop.merchant,
                customer=member.customer,
                amount=Decimal(amount),
                branch=self.shop.branch,
                now=self.now,
            )
        except errors.AmountBelowMinimum:
            assert points == 0  # nothing earned, nothing posted
            return
        assert movement.transaction.points == points > 0
        if points:
            txn_id = movement.transaction.pk
            self.lots[member.pk].append(Lot(txn_id, points, self.now + dt.timedelta(VALIDITY)))
            self.movements.append((member, txn_id, Kind.ACCRUAL, points))

    @rule(who=st.integers(0, 1), which=st.integers(0, 1))
    def redeem(self, who, which):
        member, reward = self.members[who], self.rewards[which]
        try:
            movement = actions.redeem_reward(
                membership=member, reward_id=reward.pk, branch=self.shop.branch, now=self.now
            )
        except errors.InsufficientPoints:
            assert self.spendable(member) < reward.points_cost
            return
        self.sweep(member)
        assert self.available(member) >= reward.points_cost
        txn_id = movement.transaction.pk
        self.takes[txn_id] = self.take(member, reward.points_cost)
        self.movements.append((member, txn_id, Kind.REDEMPTION, reward.points_cost))

    @rule()
    def expire(self):
        expected = 0
        for member in self.members:
            before = self.available(member)
            self.sweep(member)
            expected += before - self.available(member)
        # Other examples' merchants share the database: expire only counts ours.
        assert actions.expire_points(now=self.now) >= expected

    @rule(days=st.integers(1, 120))
    def advance_clock(self, days):
        self.now += dt.timedelta(days=days)

    @rule(pick=st.integers(0, 10_000))
    def reverse(self, pick):
        if not self.movements:
            return
        member, txn_id, kind, points = self.movements[pick % len(self.movements)]
        if txn_id in self.reversed:
            with pytest.raises(errors.AlreadyReversed):
                actions.reverse_transaction(
                    merchant=self.shop.merchant, transaction_id=txn_id, reason="test", now=self.now
                )
            return
        if kind == Kind.ACCRUAL:
            if self.spendable(member) < points:
                with pytest.raises(errors.InsufficientPoints):
                    actions.reverse_transaction(
                        merchant=self.shop.merchant,
                        transaction_id=txn_id,
                        reason="test",
                        now=self.now,
                    )
                return
            actions.reverse_transaction(
                merchant=self.shop.merchant, transaction_id=txn_id, reason="test", now=self.now
            )
            self.sweep(member)
            self.take(member, points, first_txn=txn_id)
        else:
            actions.reverse_transaction(
                merchant=self.shop.merchant, transaction_id=txn_id, reason="test", now=self.now
            )
            for lot, piece in self.takes[txn_id]:
                lot.remaining += piece
        self.reversed.add(txn_id)

    @rule(who=st.integers(0, 1), points=st.integers(-30, 30).filter(bool))
    def adjust(self, who, points):
        member = self.members[who]
        try:
            movement = actions.adjust_points(
                membership=member, points=points, reason="test", now=self.now
            )
        except errors.InsufficientPoints:
            assert self.spendable(member) < -points
            return
        self.sweep(member)
        if points > 0:
            self.lots[member.pk].append(
                Lot(movement.transaction.pk, points, self.now + dt.timedelta(VALIDITY))
            )
        else:
            self.take(member, -points)

    # --- invariants -----------------------------------------------------------------------

    @invariant()
    def balances_match_the_model(self):
        for member in self.members:
            account = Account.objects.get(pk=member.account_id)
            assert account.balance == self.available(member) >= 0
            assert account.pending == 0

    @invariant()
    def every_lot_matches_the_model(self):
        for member in self.members:
            db = dict(
                LotRow.objects.filter(account_id=member.account_id).values_list(
                    "transaction_id", "remaining"
                )
            )
            assert db == {lot.txn_id: lot.remaining for lot in self.lots[member.pk]}

    @invariant()
    def ledger_is_consistent(self):
        assert check_ledger([m.account_id for m in self.members]) == []


@pytest.mark.django_db
def test_ledger_state_machine():
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=40,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
