"""R1: which promotions a customer may take now, and what they add to an accrual.

Only models are imported here: the ledger's accrual calls in, so this stays below it.
"""

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import DEFAULT_DB_ALIAS
from django.db.models import Count, Q

from lealtad.core import money, sharedcache
from lealtad.customers.models import Membership
from lealtad.ledger.models import Status
from lealtad.network.models import Merchant
from lealtad.offers.models import Promotion, PromotionKind, PromotionUse, Target

ACCRUAL_KINDS = (PromotionKind.MULTIPLIER, PromotionKind.BONUS)


def local_date(merchant: Merchant, now) -> dt.date:
    return now.astimezone(zoneinfo.ZoneInfo(merchant.timezone)).date()


def applicable(merchant: Merchant, membership: Membership, now, kinds=None, **filters):
    """The active promotions whose window holds today (merchant time) and whose target includes
    this customer, each with `uses_left` (None: no limit)."""
    today = local_date(merchant, now)
    target = (
        Q(target=Target.EVERYONE)
        | Q(target=Target.CATEGORIES, categories=membership.category_id)
        | Q(target=Target.CUSTOMERS, members=membership.pk)
        | Q(target=Target.FAVOURITES, merchant__favoured_by__customer=membership.customer_id)
    )
    birth = membership.customer.birth_date
    if birth is not None and birth.month == today.month:
        target |= Q(target=Target.BIRTHDAY)
    rows = Promotion.objects.filter(
        target,
        merchant=merchant,
        active=True,
        starts_on__lte=today,
        ends_on__gte=today,
        **filters,
    )
    if kinds:
        rows = rows.filter(kind__in=kinds)
    promos = list(rows.distinct().select_related("reward"))
    used = _uses(membership, [p.pk for p in promos if p.uses_per_customer])
    for promo in promos:
        promo.uses_left = (
            None if not promo.uses_per_customer else promo.uses_per_customer - used.get(promo.pk, 0)
        )
    return [p for p in promos if p.uses_left is None or p.uses_left > 0]


def _uses(membership: Membership, promotion_ids) -> dict:
    if not promotion_ids:
        return {}
    return dict(
        PromotionUse.objects.filter(promotion__in=promotion_ids, membership=membership)
        # A use inside an accrual that was rejected at approval never happened.
        .exclude(transaction__status=Status.REJECTED)
        .values_list("promotion")
        .annotate(n=Count("id"))
    )


def used_up(promo: Promotion, membership: Membership) -> bool:
    if not promo.uses_per_customer:
        return False
    return _uses(membership, [promo.pk]).get(promo.pk, 0) >= promo.uses_per_customer


@dataclass
class AccrualPoints:
    points: int
    base: int
    applied: list[tuple[Promotion, int]] = field(default_factory=list)
    amount: Decimal | None = None

    @property
    def extra(self) -> int:
        return self.points - self.base


def accrual_points(
    merchant: Merchant, membership: Membership, amount: Decimal, now, promos=None
) -> AccrualPoints:
    """P2 with R1: the category's points, times the best active multiplier, plus every fixed
    bonus the purchase qualifies for. Multipliers do not stack; bonuses do."""
    category_multiplier = membership.category.multiplier
    base = money.points_for(amount, merchant.point_value, category_multiplier)
    if promos is None:
        promos = applicable(merchant, membership, now, kinds=ACCRUAL_KINDS)
    promos = [p for p in promos if p.min_amount is None or amount >= p.min_amount]
    result = AccrualPoints(points=base, base=base)
    multipliers = [p for p in promos if p.kind == PromotionKind.MULTIPLIER]
    if multipliers and base > 0:
        best = max(multipliers, key=lambda p: (p.multiplier, p.pk))
        boosted = money.points_for(
            amount, merchant.point_value, category_multiplier * best.multiplier
        )
        if boosted > base:
            result.applied.append((best, boosted - base))
            result.points = boosted
    for promo in promos:
        if promo.kind == PromotionKind.BONUS and amount > 0:
            result.applied.append((promo, promo.bonus_points))
            result.points += promo.bonus_points
    return result


# Whether any accrual promotion runs at a merchant on its date, in the shared cache (Redis with
# CACHE_URL): spares the accrual the targeting query on the days a merchant runs none. Under a
# per-merchant generation (core/sharedcache.py) that saving or deleting any of its promotions
# replaces, on any path (the signals in offers/apps.py): the next accrual on every process and
# node sees the change. CACHE_SECONDS only bounds what an invalidation lost to a cache outage
# leaves behind. A cache that is down: the query runs every time.
CACHE_SECONDS = 60


def _generation_key(merchant_id) -> str:
    return f"promos-gen:{merchant_id}"


def accrual_promotions_may_apply(merchant: Merchant, now) -> bool:
    today = local_date(merchant, now)
    key = f"promos-running:{merchant.pk}:{today.isoformat()}"
    hit, generation = sharedcache.get(key, _generation_key(merchant.pk))
    if hit is not None:
        return hit
    value = (
        Promotion.objects.using(DEFAULT_DB_ALIAS)  # the primary, as the cached flag must be
        .filter(
            merchant=merchant,
            active=True,
            kind__in=ACCRUAL_KINDS,
            starts_on__lte=today,
            ends_on__gte=today,
        )
        .exists()
    )
    sharedcache.remember(key, _generation_key(merchant.pk), generation, value, CACHE_SECONDS)
    return value


def forget_running(sender=None, instance=None, **_kwargs) -> None:
    """A promotion of this merchant was saved or deleted: every process reads the flag again."""
    if instance is not None and instance.merchant_id is not None:
        sharedcache.invalidate([_generation_key(instance.merchant_id)])
