"""Operations that move value. Each is atomic, takes the account's row lock, and is safe to run
concurrently; duplicates are stopped by database constraints, not by looking first.
"""

import datetime as dt
import zoneinfo
from calendar import monthrange
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from lealtad.core import money
from lealtad.core.errors import (
    AlreadyReversed,
    CustomerBlocked,
    CustomerSuspended,
    DuplicateInvoice,
    Forbidden,
    FraudRuleRefused,
    InsufficientPoints,
    NotFound,
    NotReversible,
    OutOfStock,
    ProfileIncomplete,
    PromotionUnavailable,
    PromotionUsedUp,
    RewardUnavailable,
    TransactionNotPending,
    ValidationFailed,
)
from lealtad.core.ids import parse_id
from lealtad.core.numbers import format_limit, format_points
from lealtad.customers.actions import join_merchant
from lealtad.customers.models import Customer, Membership, RedeemPolicy
from lealtad.ledger import ledger
from lealtad.ledger.models import Account, AccountKind, Kind, Lot, LotStatus, Status, Transaction
from lealtad.network.models import Branch, Merchant, User
from lealtad.notifications import actions as mail
from lealtad.offers import promotions
from lealtad.offers.models import Promotion, PromotionKind, PromotionUse
from lealtad.program import fraud
from lealtad.program.models import AuditMode, Reward


@dataclass
class Movement:
    transaction: Transaction
    available: int
    pending: int

    @property
    def points(self) -> int:
        return abs(self.transaction.points)


def _points_expiry(membership: Membership, merchant: Merchant, now) -> dt.datetime:
    days = membership.category.validity_days or merchant.points_validity_days
    return now + dt.timedelta(days=days)


def _is_duplicate_invoice(exc: IntegrityError) -> bool:
    text = str(exc)
    return "transaction_unique_invoice" in text or "invoice_number" in text


def accrue_points(
    *,
    merchant: Merchant,
    amount: Decimal,
    branch: Branch,
    customer: Customer | None = None,
    membership: Membership | None = None,
    staff: User | None = None,
    invoice_number: str | None = None,
    now=None,
) -> Movement:
    """P2: points = floor(amount / point value) × category multiplier, posted or held (P9).

    Pass the customer, or their membership here when the caller already has it (one query less).
    """
    now = now or timezone.now()
    customer = membership.customer if membership is not None else customer
    if customer.suspended:
        raise CustomerSuspended(customer.suspension_message or None)
    amount = money.parse_amount(amount, merchant.currency)
    if membership is None:
        membership = join_merchant(customer, merchant, branch, now=now)
    category = membership.category
    manual = category.audit_mode == AuditMode.MANUAL
    rules = [] if manual else fraud.rules_for(category)
    account_id = membership.spending_account_id
    promos = []
    if promotions.accrual_promotions_may_apply(merchant, now):
        promos = promotions.applicable(merchant, membership, now, kinds=promotions.ACCRUAL_KINDS)
    try:
        with transaction.atomic():
            verdict = fraud.Verdict()
            if rules or any(p.uses_per_customer for p in promos):
                # Judged under the account's lock: simultaneous accruals cannot both slip under
                # a daily limit, nor both take a promotion's last use.
                ledger.lock_account(account_id)
                if promos:
                    promos = promotions.applicable(
                        merchant, membership, now, kinds=promotions.ACCRUAL_KINDS
                    )
            earned = promotions.accrual_points(merchant, membership, amount, now, promos)
            points = earned.points
            if rules:
                verdict = fraud.judge(
                    rules,
                    merchant=merchant,
                    account_id=account_id,
                    amount=amount,
                    points=points,
                    now=now,
                )
                if verdict.refuse:
                    raise FraudRuleRefused(
                        _("Refused: %(rule)s (%(limit)s).")
                        % {
                            "rule": verdict.rule.get_kind_display(),
                            "limit": format_limit(verdict.rule.kind, verdict.rule.limit),
                        },
                        rule=verdict.rule.kind,
                    )
            held = (manual or verdict.hold) and points > 0
            hold_rule = (
                "category_manual_approval"
                if manual
                else (verdict.rule.kind if verdict.rule else "")
            )
            account = ledger.lock_and_add(
                account_id,
                now,
                available=0 if held else points,
                pending=points if held else 0,
            )
            txn = Transaction.objects.create(
                account_id=account.id,
                kind=Kind.ACCRUAL,
                status=Status.PENDING if held else Status.POSTED,
                points=points,
                balance_after=None if held else account.balance,
                merchant=merchant,
                branch=branch,
                staff=staff,
                customer=customer,
                amount=amount,
                currency=merchant.currency,
                invoice_number=invoice_number or None,
                hold_rule=hold_rule if held else "",
                created_at=now,
                posted_at=None if held else now,
            )
            if points:
                expires_at = _points_expiry(membership, merchant, now)
                ledger.open_lot(account, txn, points, expires_at, now, held=held)
            if earned.applied:
                PromotionUse.objects.bulk_create(
                    PromotionUse(
                        promotion=promo,
                        membership=membership,
                        transaction=txn,
                        points=extra,
                        branch=branch,
                        staff=staff,
                        at=now,
                    )
                    for promo, extra in earned.applied
                )
            txn.promotions_applied = earned.applied
            if not held and points > 0:
                mail.queue(
                    mail.Event.ACCRUAL,
                    merchant,
                    customer,
                    now=now,
                    points=points,
                    balance=account.balance,
                )
    except IntegrityError as exc:
        if invoice_number and _is_duplicate_invoice(exc):
            raise DuplicateInvoice(
                _("Invoice %(invoice)s was already accrued at this merchant.")
                % {"invoice": invoice_number}
            ) from None
        raise
    return Movement(txn, account.balance, account.pending)


def grant_welcome_bonus(membership: Membership, branch, staff, now=None) -> int:
    """C9: the merchant's welcome bonus, once per membership (inside the registration)."""
    now = now or timezone.now()
    merchant = membership.merchant
    points = merchant.welcome_bonus_points
    if points <= 0:
        return 0
    credit_bonus(
        membership, points, _("Welcome bonus"), branch, staff, now, account_id=membership.account_id
    )
    return points


def credit_bonus(
    membership: Membership, points: int, reason: str, branch, staff, now, account_id=None
) -> Transaction:
    """A posted bonus (welcome bonus, points gift): a new lot with the membership's validity.
    By default into the account that spends for this membership (the holder's, C8)."""
    account = ledger.lock_account(account_id or membership.spending_account_id)
    txn = Transaction.objects.create(
        account_id=account.id,
        kind=Kind.BONUS,
        points=points,
        balance_after=account.balance + points,
        merchant=membership.merchant,
        branch=branch,
        staff=staff,
        customer_id=membership.customer_id,
        reason=reason[:300],
        created_at=now,
        posted_at=now,
    )
    ledger.credit(account, txn, points, _points_expiry(membership, membership.merchant, now), now)
    return txn


def check_can_redeem(membership: Membership) -> None:
    """P6 / C4 / C8 / C11: who may redeem at all, whatever the prize."""
    customer = membership.customer
    if customer.suspended:
        raise CustomerSuspended(customer.suspension_message or None)
    if membership.blocked:
        raise CustomerBlocked(membership.blocked_reason or None)
    if membership.holder_id:
        if membership.holder.blocked:
            raise CustomerBlocked(membership.holder.blocked_reason or None)
        if membership.holder.redeem_policy != RedeemPolicy.ALL_CARDS:
            raise Forbidden(_("Only the card holder may redeem these points."))
    if not customer.profile_complete:
        raise ProfileIncomplete(
            _("Missing: %(fields)s.") % {"fields": missing_labels(customer)},
            missing_fields=customer.missing_fields,
        )


def missing_labels(customer: Customer) -> str:
    """The missing profile fields as the screens call them ("nombres, apellidos"), not as the
    code does ("first_name, last_name")."""
    return ", ".join(
        str(Customer._meta.get_field(name).verbose_name) for name in customer.missing_fields
    )


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
    now=None,
) -> Movement:
    """P6: points deducted at once (soonest-expiring first), stock reduced. With a promotion
    (R1), the prize costs the promotion's special price."""
    now = now or timezone.now()
    merchant = membership.merchant
    check_can_redeem(membership)
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
        mail.queue(
            mail.Event.REDEMPTION,
            merchant,
            membership.customer,
            now=now,
            reward=reward.name,
            points=cost,
            balance=account.balance,
        )
        if promo is not None:
            PromotionUse.objects.create(
                promotion=promo,
                membership=membership,
                transaction=txn,
                branch=branch,
                staff=staff,
                at=now,
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
    except IntegrityError:
        # The one-to-one on `reverses` lost a race with a simultaneous reversal.
        raise AlreadyReversed() from None
    return reversal


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
            ledger.credit(account, txn, points, _points_expiry(membership, merchant, now), now)
        else:
            ledger.debit(account, txn, -points, lots, now)
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
    while True:
        due = list(
            Lot.objects.filter(status=LotStatus.ACTIVE, remaining__gt=0, expires_at__lte=now)
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


# --- coins (K1, K2, K3, K6): the network wallet ------------------------------------------------


def add_months(moment: dt.datetime, months: int) -> dt.datetime:
    """Calendar months (N4: coins are valid 24 months from the day earned); the 31st of a
    shorter month becomes its last day."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, monthrange(year, month)[1]))


def coin_wallet(customer: Customer) -> Account:
    account, _created = Account.objects.get_or_create(
        kind=AccountKind.COINS, customer=customer, merchant=None
    )
    return account


def earn_coins(
    *, merchant: Merchant, customer: Customer, amount: Decimal, branch=None, staff=None, now=None
) -> Movement:
    """K2: amount × the issuer's cashback rate, rounded down; valid for the network's months."""
    now = now or timezone.now()
    if customer.suspended:
        raise CustomerSuspended(customer.suspension_message or None)
    if not merchant.coin_issuer:
        raise Forbidden(_("This merchant does not issue coins."))
    amount = money.parse_amount(amount, merchant.currency)
    coins = money.coins_for(amount, merchant.cashback_rate)
    wallet = coin_wallet(customer)
    months = merchant.network.coin_validity_months
    with transaction.atomic():
        account = ledger.lock_account(wallet.pk)
        txn = Transaction.objects.create(
            account_id=account.id,
            kind=Kind.COIN_EARN,
            points=coins,
            balance_after=account.balance + coins,
            merchant=merchant,
            branch=branch,
            staff=staff,
            customer=customer,
            amount=amount,
            currency=merchant.currency,
            created_at=now,
            posted_at=now,
        )
        if coins:
            ledger.credit(account, txn, coins, add_months(now, months), now)
    return Movement(txn, account.balance, account.pending)


def pay_with_coins(
    *, merchant: Merchant, customer: Customer, coins: int, branch=None, staff=None, now=None
) -> Movement:
    """K3 (the ledger side): debit coins at an acceptor merchant, oldest first."""
    now = now or timezone.now()
    if customer.suspended:
        raise CustomerSuspended(customer.suspension_message or None)
    if not merchant.coin_acceptor:
        raise Forbidden(_("This merchant does not accept coins."))
    if not isinstance(coins, int) or coins <= 0:
        raise ValidationFailed([{"field": "coins", "message": _("A whole number above zero.")}])
    wallet = coin_wallet(customer)
    with transaction.atomic():
        account = ledger.lock_account(wallet.pk)
        lots = ledger.expire_due_lots(account, ledger.open_lots(account.id), customer.pk, now)
        if account.balance < coins:
            raise InsufficientPoints(_("Insufficient funds."), available=account.balance)
        txn = Transaction.objects.create(
            account_id=account.id,
            kind=Kind.COIN_PAYMENT,
            points=-coins,
            balance_after=account.balance - coins,
            merchant=merchant,
            branch=branch,
            staff=staff,
            customer=customer,
            created_at=now,
            posted_at=now,
        )
        ledger.debit(account, txn, coins, lots, now)
    return Movement(txn, account.balance, account.pending)


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
