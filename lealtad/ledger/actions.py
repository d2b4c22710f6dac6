"""Operations that move value. Each is atomic, takes the account's row lock, and is safe to run
concurrently; duplicates are stopped by database constraints, not by looking first.
"""

import datetime as dt
import zoneinfo

from django.db import IntegrityError, transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from lealtad.audit import actions as audit
from lealtad.audit.models import Action
from lealtad.core.errors import (
    AlreadyReversed,
    DocumentCheckRequired,
    InsufficientPoints,
    NotFound,
    NotReversible,
    OutOfStock,
    PromotionUnavailable,
    PromotionUsedUp,
    RewardUnavailable,
    TransactionNotPending,
    ValidationFailed,
)
from lealtad.core.ids import parse_id
from lealtad.core.numbers import format_points
from lealtad.customers import gate
from lealtad.customers.models import Membership
from lealtad.ledger import ledger
from lealtad.ledger.accrual import (  # noqa: F401 (the callers' one home for value moves)
    Movement,
    accrue_points,
    minimum_amount,
    points_expiry,
    quote_accrual,
)
from lealtad.ledger.bonus import credit_bonus, grant_welcome_bonus  # noqa: F401
from lealtad.ledger.models import Kind, Lot, LotStatus, Status, Transaction
from lealtad.network.models import Branch, Merchant, User
from lealtad.notifications import actions as mail
from lealtad.offers import promotions
from lealtad.offers.models import Promotion, PromotionKind, PromotionUse
from lealtad.program.models import Reward
from lealtad.ratings import actions as ratings
from lealtad.webhooks import events, payloads


def check_can_redeem(membership: Membership) -> None:
    """P6 / C4 / C8 / C11: who may redeem at all, whatever the prize (the one exit gate)."""
    gate.check_exit(membership, gate.Exit.REWARD)


def reward_available(reward: Reward, now) -> bool:
    today = timezone.localdate(now)
    return (
        reward.active
        and (reward.valid_from is None or reward.valid_from <= today)
        and (reward.valid_until is None or today <= reward.valid_until)
    )


def redeem_reward(
    *,
    membership: Membership,
    reward_id,
    branch: Branch,
    staff: User | None = None,
    promotion_id=None,
    document_checked: bool = False,
    now=None,
) -> Movement:
    """P6: points deducted at once (soonest-expiring first), stock reduced. With a promotion
    (R1), the prize costs the promotion's special price. A merchant that asks for the physical
    document gets no redemption without the cashier's `document_checked`, whichever way it comes
    (till, API)."""
    now = now or timezone.now()
    merchant = membership.merchant
    check_can_redeem(membership)
    if merchant.redemption_requires_document_check and document_checked is not True:
        raise DocumentCheckRequired(_("Check the customer's document first."))
    try:
        reward = Reward.objects.get(pk=parse_id(reward_id), merchant=merchant)
    except Reward.DoesNotExist:
        raise NotFound(_("Reward not found.")) from None
    if not reward_available(reward, now):
        raise RewardUnavailable()
    cost, promo = reward.points_cost, None
    with transaction.atomic():
        account = ledger.lock_account(membership.spending_account_id)
        if promotion_id is not None:
            promo = _special_price(membership, reward, promotion_id, now)
            cost = promo.special_price
        lots = ledger.expire_due_lots(
            account, ledger.open_lots(account.id), membership.customer_id, now
        )
        if account.balance < cost:
            missing = cost - account.balance
            raise InsufficientPoints(
                ngettext(
                    "%(missing)s more point is needed.",
                    "%(missing)s more points are needed.",
                    missing,
                )
                % {"missing": format_points(missing)},
                points_missing=missing,
                available=account.balance,
            )
        if reward.stock is not None:
            taken = Reward.objects.filter(pk=reward.pk, stock__gt=0).update(stock=F("stock") - 1)
            if not taken:
                raise OutOfStock()
        txn = Transaction.objects.create(
            account_id=account.id,
            kind=Kind.REDEMPTION,
            points=-cost,
            balance_after=account.balance - cost,
            merchant=merchant,
            branch=branch,
            staff=staff,
            customer_id=membership.customer_id,
            reward=reward,
            reason=f"{reward.name} · {promo.name}"[:300] if promo else reward.name,
            created_at=now,
            posted_at=now,
        )
        ledger.debit(account, txn, cost, lots, now)
        _audit(
            Action.POINTS_REDEEM,
            merchant,
            txn,
            staff,
            now,
            branch=branch,
            label=reward.name,
            before={"balance": txn.balance_after + cost},
            after={"balance": txn.balance_after, "points": -cost, "reward": reward.name},
        )
        mail.queue(
            mail.Event.REDEMPTION,
            merchant,
            membership.customer,
            now=now,
            reward=reward.name,
            points=cost,
            balance=account.balance,
        )
        ratings.invite_after_visit(txn, now)
        if promo is not None:
            PromotionUse.objects.create(
                promotion=promo,
                membership=membership,
                transaction=txn,
                branch=branch,
                staff=staff,
                at=now,
            )
        events.emit(
            merchant,
            "redemption.created",
            payloads.reward_redemption(txn, promo, account.balance, account.pending),
            now=now,
        )
    return Movement(txn, account.balance, account.pending)


def _special_price(membership: Membership, reward: Reward, promotion_id, now):
    """The special-price promotion for this prize, if this customer may take it now (called
    under the account's lock, so its use limit holds under concurrency)."""
    promo_pk = parse_id(promotion_id)
    found = promotions.applicable(
        membership.merchant,
        membership,
        now,
        kinds=[PromotionKind.SPECIAL_PRICE],
        reward=reward,
    )
    promo = next((p for p in found if p.pk == promo_pk), None)
    if promo is not None:
        return promo
    exists = Promotion.objects.filter(pk=promo_pk, merchant=membership.merchant).exists()
    if not exists:
        raise NotFound(_("Promotion not found."))
    if promotions.used_up(Promotion.objects.get(pk=promo_pk), membership):
        raise PromotionUsedUp()
    raise PromotionUnavailable()


def get_transaction_for(merchant: Merchant, transaction_id) -> Transaction:
    try:
        return Transaction.objects.get(pk=parse_id(transaction_id), merchant=merchant)
    except Transaction.DoesNotExist:
        raise NotFound(_("Transaction not found.")) from None


REVERSIBLE = {
    Kind.ACCRUAL,
    Kind.REDEMPTION,
    Kind.BONUS,
    Kind.ADJUSTMENT,
    Kind.COIN_EARN,
    Kind.COIN_PAYMENT,
    Kind.POINT_PAYMENT,
}


def reverse_transaction(
    *, merchant: Merchant, transaction_id, reason: str, staff: User | None = None, now=None
) -> Transaction:
    """P8: void a movement by a compensating one; nothing is deleted."""
    now = now or timezone.now()
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed([{"field": "reason", "message": _("Say why.")}])
    original = get_transaction_for(merchant, transaction_id)
    if original.kind not in REVERSIBLE:
        raise NotReversible(_("Expiries and reversals cannot be reversed."))
    if original.status != Status.POSTED:
        raise NotReversible(_("Only posted movements can be reversed; use the approval queue."))
    if Transaction.objects.filter(reverses=original).exists():
        raise AlreadyReversed()
    try:
        with transaction.atomic():
            account = ledger.lock_account(original.account_id)
            # Checked again under the lock: a reversal that won the race has changed the balance,
            # and "already reversed" is the truthful answer, not "insufficient points".
            if Transaction.objects.filter(reverses=original).exists():
                raise AlreadyReversed()
            reversal = Transaction(
                account_id=account.id,
                kind=Kind.REVERSAL,
                points=-original.points,
                merchant=merchant,
                branch=original.branch,
                staff=staff,
                customer_id=original.customer_id,
                reverses=original,
                reason=reason[:300],
                invoice_number=original.invoice_number,
                amount=original.amount,
                currency=original.currency,
                created_at=now,
                posted_at=now,
            )
            if original.points > 0:
                lots = ledger.expire_due_lots(
                    account,
                    ledger.open_lots(account.id, first_lot_id=_first_lot(original)),
                    original.customer_id,
                    now,
                )
                if account.balance < original.points:
                    raise InsufficientPoints(
                        _(
                            "Reversing it would take the balance below zero: %(balance)s "
                            "available, %(points)s to take back."
                        )
                        % {
                            "balance": format_points(account.balance),
                            "points": format_points(original.points),
                        },
                        available=account.balance,
                    )
                reversal.balance_after = account.balance - original.points
                reversal.save(force_insert=True)
                ledger.debit(account, reversal, original.points, lots, now)
            else:
                reversal.balance_after = account.balance - original.points
                reversal.save(force_insert=True)
                ledger.restore(account, reversal, original, now)
                if original.reward_id:
                    Reward.objects.filter(pk=original.reward_id, stock__isnull=False).update(
                        stock=F("stock") + 1
                    )
            _audit(
                Action.POINTS_REVERSE,
                merchant,
                reversal,
                staff,
                now,
                label=reason[:200],
                before={
                    "transaction": str(original.pk),
                    "points": original.points,
                    "balance": reversal.balance_after + original.points,
                },
                after={"points": reversal.points, "balance": reversal.balance_after},
            )
            events.emit(
                merchant, "transaction.reversed", payloads.reversal(reversal, original), now=now
            )
    except IntegrityError:
        # The one-to-one on `reverses` lost a race with a simultaneous reversal.
        raise AlreadyReversed() from None
    return reversal


def _audit(action, merchant, txn: Transaction, staff, now, branch=None, **fields) -> None:
    """The movement's audit entry (issue 16), in the movement's transaction."""
    audit.record(
        action,
        merchant=merchant,
        target=txn,
        customer_id=txn.customer_id,
        staff=staff,
        branch=branch if branch is not None else txn.branch_id,
        now=now,
        **fields,
    )


def _first_lot(txn: Transaction) -> int | None:
    return Lot.objects.filter(transaction=txn).values_list("pk", flat=True).first()


def adjust_points(
    *, membership: Membership, points: int, reason: str, staff: User | None = None, now=None
) -> Movement:
    """A manual correction with a reason: a credit opens a lot, a debit spends oldest first."""
    now = now or timezone.now()
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed([{"field": "reason", "message": _("Say why.")}])
    if not isinstance(points, int) or points == 0 or abs(points) > 10**9:
        raise ValidationFailed([{"field": "points", "message": _("A whole number, not zero.")}])
    merchant = membership.merchant
    with transaction.atomic():
        account = ledger.lock_account(membership.account_id)
        lots = ledger.expire_due_lots(
            account, ledger.open_lots(account.id), membership.customer_id, now
        )
        if points < 0 and account.balance < -points:
            raise InsufficientPoints(available=account.balance)
        txn = Transaction.objects.create(
            account_id=account.id,
            kind=Kind.ADJUSTMENT,
            points=points,
            balance_after=account.balance + points,
            merchant=merchant,
            staff=staff,
            customer_id=membership.customer_id,
            reason=reason[:300],
            created_at=now,
            posted_at=now,
        )
        if points > 0:
            ledger.credit(account, txn, points, points_expiry(membership, merchant, now), now)
        else:
            ledger.debit(account, txn, -points, lots, now)
        _audit(
            Action.POINTS_ADJUST,
            merchant,
            txn,
            staff,
            now,
            label=reason[:200],
            before={"balance": txn.balance_after - points},
            after={"balance": txn.balance_after, "points": points},
        )
    return Movement(txn, account.balance, account.pending)


def approve_accrual(*, merchant: Merchant, transaction_id, staff: User | None = None, now=None):
    """P9: a held accrual becomes spendable; its lots keep the accrual's dates."""
    now = now or timezone.now()
    with transaction.atomic():
        txn = _lock_pending(merchant, transaction_id)
        account = ledger.lock_account(txn.account_id)
        ledger.release(account, txn, now)
        Transaction.objects.filter(pk=txn.pk).update(
            status=Status.POSTED,
            balance_after=account.balance,
            posted_at=now,
            decided_at=now,
            decided_by=staff,
        )
        # The customer hears of the points when they become spendable.
        mail.queue(
            mail.Event.ACCRUAL,
            merchant,
            txn.customer,
            now=now,
            points=txn.points,
            balance=account.balance,
        )
        txn.status, txn.balance_after, txn.posted_at = Status.POSTED, account.balance, now
        txn.decided_at = now
        _audit(
            Action.POINTS_APPROVE,
            merchant,
            txn,
            staff,
            now,
            before={"status": Status.PENDING},
            after={"status": Status.POSTED, "points": txn.points},
        )
        events.emit(
            merchant,
            "accrual.approved",
            payloads.accrual(txn, account.balance, account.pending),
            now=now,
        )
        ratings.invite_after_visit(txn, now)
    txn.refresh_from_db()
    return Movement(txn, account.balance, account.pending)


def reject_accrual(
    *, merchant: Merchant, transaction_id, reason: str, staff: User | None = None, now=None
):
    now = now or timezone.now()
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed([{"field": "reason", "message": _("Say why.")}])
    with transaction.atomic():
        txn = _lock_pending(merchant, transaction_id)
        account = ledger.lock_account(txn.account_id)
        ledger.void_held(account, txn, now)
        Transaction.objects.filter(pk=txn.pk).update(
            status=Status.REJECTED, reason=reason[:300], decided_at=now, decided_by=staff
        )
        txn.status, txn.reason, txn.decided_at = Status.REJECTED, reason[:300], now
        _audit(
            Action.POINTS_REJECT,
            merchant,
            txn,
            staff,
            now,
            label=reason[:200],
            before={"status": Status.PENDING},
            after={"status": Status.REJECTED, "points": txn.points},
        )
        events.emit(
            merchant,
            "accrual.rejected",
            payloads.accrual(txn, account.balance, account.pending),
            now=now,
        )
    txn.refresh_from_db()
    return Movement(txn, account.balance, account.pending)


def _lock_pending(merchant: Merchant, transaction_id) -> Transaction:
    txn = get_transaction_for(merchant, transaction_id)
    # Lock the header too: two admins approving at once must not both release the lots.
    txn = Transaction.objects.select_for_update().get(pk=txn.pk)
    if txn.status != Status.PENDING:
        raise TransactionNotPending()
    return txn


# --- expiry -------------------------------------------------------------------------------------


def expire_points(now=None, batch: int = 500) -> int:
    """P3 / K6: move out the open remainder of every lot past its date; returns how many points.

    Reads only lots falling due (a partial index on expires_at), one account per short transaction.
    """
    now = now or timezone.now()
    total = 0
    # Wallets whose due coins a pending payment holds (K3): left for after the hold resolves.
    reserved: set[int] = set()
    while True:
        due = list(
            Lot.objects.filter(status=LotStatus.ACTIVE, remaining__gt=0, expires_at__lte=now)
            .exclude(account_id__in=reserved)
            .order_by("expires_at")
            .values_list("account_id", "account__customer_id")[:batch]
        )
        if not due:
            return total
        for account_id, customer_id in dict.fromkeys(due):
            with transaction.atomic():
                account = ledger.lock_account(account_id)
                lots = list(
                    Lot.objects.filter(
                        account_id=account_id,
                        status=LotStatus.ACTIVE,
                        remaining__gt=0,
                        expires_at__lte=now,
                    ).only("id", "remaining", "expires_at")
                )
                before = account.balance
                ledger.expire_due_lots(account, lots, customer_id, now)
                total += before - account.balance
                if account.pending:
                    reserved.add(account_id)


def statement(membership: Membership, date_from=None, date_to=None) -> list[Transaction]:
    """C10: posted movements of the membership's account at this merchant, oldest first, each
    with the balance right after it. Days are the merchant's days."""
    tz = zoneinfo.ZoneInfo(membership.merchant.timezone)
    account_id = membership.spending_account_id
    rows = Transaction.objects.filter(account_id=account_id, status=Status.POSTED)
    if date_from:
        rows = rows.filter(posted_at__gte=dt.datetime.combine(date_from, dt.time.min, tz))
    if date_to:
        end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min, tz)
        rows = rows.filter(posted_at__lt=end)
    # An operation expires due lots before it spends, at the same instant: expiry comes first.
    expiry_first = Case(When(kind=Kind.EXPIRY, then=Value(0)), default=Value(1))
    return list(rows.order_by("posted_at", expiry_first, "created_at")[:5000])
