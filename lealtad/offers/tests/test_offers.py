"""R1 promotions and R2 gifts change accruals and redemptions exactly as configured."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from lealtad.core import testing
from lealtad.core.errors import (
    GiftUnavailable,
    InsufficientPoints,
    NotFound,
    PromotionUnavailable,
    PromotionUsedUp,
)
from lealtad.ledger import actions as ledger
from lealtad.ledger.check import check_ledger
from lealtad.ledger.models import Account, Kind, Transaction
from lealtad.offers import actions as offers
from lealtad.offers.models import GiftStatus, PromotionUse, Target
from lealtad.program.models import AuditMode, Category

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    return testing.make_merchant()  # 1 point per 1000


@pytest.fixture
def member(shop):
    return testing.make_customer(shop).membership


def accrue(shop, member, amount="10000", **kw):
    return ledger.accrue_points(
        merchant=shop.merchant,
        membership=member,
        branch=shop.branch,
        amount=Decimal(amount),
        **kw,
    )


def balance(member) -> int:
    return Account.objects.get(pk=member.account_id).balance


def test_no_promotion_plain_points(shop, member):
    assert accrue(shop, member).points == 10
    assert PromotionUse.objects.count() == 0


def test_multiplier_applies_and_the_best_one_wins(shop, member):
    testing.make_promotion(shop, "multiplier", multiplier=Decimal("2"))
    best = testing.make_promotion(shop, "multiplier", multiplier=Decimal("3"))
    movement = accrue(shop, member)
    assert movement.points == 30
    assert movement.available == 30
    use = PromotionUse.objects.get()
    assert (use.promotion, use.points, use.transaction) == (best, 20, movement.transaction)


def test_multiplier_stacks_with_the_category(shop, member):
    gold = Category.objects.create(merchant=shop.merchant, name="Oro", multiplier=Decimal("1.5"))
    member.category = gold
    member.save()
    testing.make_promotion(shop, "multiplier", multiplier=Decimal("2"))
    assert accrue(shop, member).points == 30  # 10 × 1.5 × 2


def test_fixed_bonuses_add_up_and_respect_the_minimum(shop, member):
    testing.make_promotion(shop, "bonus", bonus_points=5)
    testing.make_promotion(shop, "bonus", bonus_points=7, min_amount=Decimal("50000"))
    assert accrue(shop, member, "10000").points == 15
    assert accrue(shop, member, "50000").points == 62
    assert balance(member) == 77


def test_window_and_active_flag(shop, member):
    testing.make_promotion(shop, "bonus", bonus_points=5, days=(1, 5))  # starts tomorrow
    testing.make_promotion(shop, "bonus", bonus_points=5, days=(-5, -1))  # ended yesterday
    testing.make_promotion(shop, "bonus", bonus_points=5, active=False)
    assert accrue(shop, member).points == 10


def test_targets(shop, member):
    other = testing.make_customer(shop).membership
    gold = Category.objects.create(merchant=shop.merchant, name="Oro")
    other.category = gold
    other.save()
    testing.make_promotion(
        shop, "bonus", bonus_points=1, target=Target.CATEGORIES, categories=[gold]
    )
    testing.make_promotion(shop, "bonus", bonus_points=2, target=Target.CUSTOMERS, members=[member])
    assert accrue(shop, member).points == 12
    assert accrue(shop, other).points == 11


def test_birthday_month(shop):
    today = timezone.localdate()
    born = dt.date(1990, today.month, 1)
    other_month = dt.date(1990, today.month % 12 + 1, 1)
    birthday = testing.make_customer(shop, birth_date=born.isoformat()).membership
    not_birthday = testing.make_customer(shop, birth_date=other_month.isoformat()).membership
    testing.make_promotion(shop, "bonus", bonus_points=100, target=Target.BIRTHDAY)
    assert accrue(shop, birthday).points == 110
    assert accrue(shop, not_birthday).points == 10


def test_use_limit_counts_and_a_rejected_accrual_gives_the_use_back(shop, member):
    testing.make_promotion(shop, "bonus", bonus_points=5, uses_per_customer=1)
    manual = Category.objects.create(
        merchant=shop.merchant, name="Revisión", audit_mode=AuditMode.MANUAL
    )
    member.category = manual
    member.save()
    held = accrue(shop, member)
    assert held.transaction.points == 15 and held.pending == 15
    assert accrue(shop, member).transaction.points == 10  # used up while the first is held
    ledger.reject_accrual(
        merchant=shop.merchant, transaction_id=held.transaction.pk, reason="Factura dudosa"
    )
    assert accrue(shop, member).transaction.points == 15


def test_a_bonus_on_a_held_accrual_is_held_too(shop, member):
    testing.make_promotion(shop, "bonus", bonus_points=5)
    Category.objects.filter(pk=member.category_id).update(audit_mode=AuditMode.MANUAL)
    member.refresh_from_db()
    movement = accrue(shop, member)
    assert (movement.available, movement.pending) == (0, 15)
    ledger.approve_accrual(merchant=shop.merchant, transaction_id=movement.transaction.pk)
    assert balance(member) == 15


def test_reversing_an_accrual_takes_the_bonus_back(shop, member):
    testing.make_promotion(shop, "bonus", bonus_points=5)
    movement = accrue(shop, member)
    ledger.reverse_transaction(
        merchant=shop.merchant, transaction_id=movement.transaction.pk, reason="Error de caja"
    )
    assert balance(member) == 0
    assert check_ledger() == []


def test_special_price_redemption(shop, member):
    reward = testing.make_reward(shop, cost=100)
    promo = testing.make_promotion(
        shop, "special_price", reward=reward, special_price=40, uses_per_customer=1
    )
    accrue(shop, member, "90000")
    movement = ledger.redeem_reward(
        membership=member, reward_id=reward.pk, branch=shop.branch, promotion_id=promo.pk
    )
    assert movement.points == 40 and movement.available == 50
    assert PromotionUse.objects.get().transaction == movement.transaction
    with pytest.raises(PromotionUsedUp):
        ledger.redeem_reward(
            membership=member, reward_id=reward.pk, branch=shop.branch, promotion_id=promo.pk
        )
    with pytest.raises(InsufficientPoints):  # the regular price is still there
        ledger.redeem_reward(membership=member, reward_id=reward.pk, branch=shop.branch)
    assert balance(member) == 50


def test_special_price_of_another_prize_or_merchant_is_refused(shop, member):
    reward, other_reward = testing.make_reward(shop, cost=100), testing.make_reward(shop, cost=80)
    promo = testing.make_promotion(shop, "special_price", reward=reward, special_price=40)
    elsewhere = testing.make_merchant("Otra")
    foreign = testing.make_promotion(
        elsewhere, "special_price", reward=testing.make_reward(elsewhere), special_price=1
    )
    accrue(shop, member, "90000")
    with pytest.raises(PromotionUnavailable):
        ledger.redeem_reward(
            membership=member, reward_id=other_reward.pk, branch=shop.branch, promotion_id=promo.pk
        )
    with pytest.raises(NotFound):
        ledger.redeem_reward(
            membership=member, reward_id=reward.pk, branch=shop.branch, promotion_id=foreign.pk
        )
    assert balance(member) == 90


def test_free_item_counted_and_limited(shop, member):
    promo = testing.make_promotion(shop, "free_item", item="Café americano", uses_per_customer=2)
    for _ in range(2):
        offers.give_free_item(membership=member, promotion_id=promo.pk, branch=shop.branch)
    with pytest.raises(PromotionUsedUp):
        offers.give_free_item(membership=member, promotion_id=promo.pk, branch=shop.branch)
    assert PromotionUse.objects.filter(promotion=promo).count() == 2
    bonus = testing.make_promotion(shop, "bonus", bonus_points=3)
    with pytest.raises(PromotionUnavailable):  # not a free item
        offers.give_free_item(membership=member, promotion_id=bonus.pk, branch=shop.branch)


def test_points_gift_is_credited_once_through_the_ledger(shop, member):
    gift = testing.make_gift(shop, "points", points=50)
    offer = offers.offer_gift(gift=gift, membership=member, note="Gracias por su opinión")
    assert offer.status == GiftStatus.OFFERED
    done = offers.redeem_gift(membership=member, offer_id=offer.pk, branch=shop.branch)
    assert done.status == GiftStatus.REDEEMED
    assert done.transaction.kind == Kind.BONUS and done.transaction.points == 50
    assert balance(member) == 50
    with pytest.raises(GiftUnavailable):
        offers.redeem_gift(membership=member, offer_id=offer.pk, branch=shop.branch)
    assert balance(member) == 50
    assert check_ledger() == []


def test_product_and_discount_gifts_move_no_points(shop, member):
    for kind in ("product", "discount"):
        offer = offers.offer_gift(gift=testing.make_gift(shop, kind), membership=member)
        offers.redeem_gift(membership=member, offer_id=offer.pk, branch=shop.branch)
    assert balance(member) == 0
    assert not Transaction.objects.filter(kind=Kind.BONUS).exists()


def test_gift_expiry(shop, member):
    gift = testing.make_gift(shop, "points", valid_days=3)
    now = timezone.now()
    offer = offers.offer_gift(gift=gift, membership=member, now=now)
    later = now + dt.timedelta(days=5)
    assert offer.status_at(later) == GiftStatus.EXPIRED
    with pytest.raises(GiftUnavailable):
        offers.redeem_gift(membership=member, offer_id=offer.pk, branch=shop.branch, now=later)
    assert offers.expire_gifts(later) == 1
    offer.refresh_from_db()
    assert offer.status == GiftStatus.EXPIRED
    assert balance(member) == 0


def test_gift_of_another_merchant_cannot_be_offered_or_redeemed(shop, member):
    elsewhere = testing.make_merchant("Otra")
    stranger = testing.make_customer(elsewhere).membership
    gift = testing.make_gift(shop)
    with pytest.raises(NotFound):
        offers.offer_gift(gift=gift, membership=stranger)
    offer = offers.offer_gift(gift=gift, membership=member)
    with pytest.raises(NotFound):
        offers.redeem_gift(membership=stranger, offer_id=offer.pk, branch=elsewhere.branch)


def test_a_promotion_saved_applies_at_once(shop, member):
    assert accrue(shop, member).points == 10  # learns "nothing runs today"
    testing.make_promotion(shop, "bonus", bonus_points=5)  # saving forgets that
    assert accrue(shop, member).points == 15
