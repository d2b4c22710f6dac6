"""R1 free items and R2 gifts at the till and in the console. Each is atomic and safe to repeat:
the rows that count (a promotion's uses, a gift's status) change under a row lock or by a
conditional UPDATE, so two cashiers cannot hand the same thing out twice."""

import datetime as dt
import zoneinfo

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from lealtad.audit import actions as audit
from lealtad.audit.models import Action
from lealtad.core.errors import (
    GiftUnavailable,
    NotFound,
    PromotionUnavailable,
    PromotionUsedUp,
    ValidationFailed,
)
from lealtad.core.ids import parse_id
from lealtad.customers import gate
from lealtad.customers.models import Membership
from lealtad.ledger import ledger
from lealtad.ledger.actions import credit_bonus
from lealtad.network.models import Branch, Merchant, User
from lealtad.offers import promotions
from lealtad.offers.models import (
    Gift,
    GiftKind,
    GiftOffer,
    GiftStatus,
    Promotion,
    PromotionKind,
    PromotionUse,
)
from lealtad.webhooks import events, payloads


def give_free_item(
    *,
    membership: Membership,
    promotion_id,
    branch: Branch,
    staff: User | None = None,
    now=None,
) -> PromotionUse:
    """R1: the cashier hands over a promotion's free item; its use is counted."""
    now = now or timezone.now()
    gate.check_exit(membership, gate.Exit.FREE_ITEM)
    promo_pk = parse_id(promotion_id)
    with transaction.atomic():
        # The account's lock serialises this customer's takes, as for the accrual bonuses.
        ledger.lock_account(membership.spending_account_id)
        found = promotions.applicable(
            membership.merchant, membership, now, kinds=[PromotionKind.FREE_ITEM]
        )
        promo = next((p for p in found if p.pk == promo_pk), None)
        if promo is None:
            try:
                promo = Promotion.objects.get(pk=promo_pk, merchant=membership.merchant)
            except Promotion.DoesNotExist:
                raise NotFound(_("Promotion not found.")) from None
            if promo.kind == PromotionKind.FREE_ITEM and promotions.used_up(promo, membership):
                raise PromotionUsedUp()
            raise PromotionUnavailable()
        use = PromotionUse.objects.create(
            promotion=promo, membership=membership, branch=branch, staff=staff, at=now
        )
        audit.record(
            Action.FREE_ITEM,
            merchant=membership.merchant,
            target=promo,
            label=promo.name,
            customer_id=membership.customer_id,
            after={"promotion": promo.name},
            staff=staff,
            branch=branch,
            now=now,
        )
        events.emit(
            membership.merchant,
            "redemption.created",
            payloads.free_item_redemption(use, membership, now),
            now=now,
        )
        return use


def get_gift(merchant: Merchant, gift_id) -> Gift:
    try:
        return Gift.objects.get(pk=parse_id(gift_id), merchant=merchant)
    except Gift.DoesNotExist:
        raise NotFound(_("Gift not found.")) from None


def create_gift(
    merchant: Merchant,
    *,
    kind: str,
    name: str = "",
    description: str = "",
    points=None,
    discount_percent=None,
    valid_days=30,
) -> Gift:
    """R2: a catalog gift, also made on the spot from the ratings inbox (F5). A points or
    discount gift without a name is named by what it gives; one of that name already in the
    catalog, giving the same, is used again instead of a second copy."""
    from django.core.exceptions import ValidationError

    gift = Gift(
        merchant=merchant,
        kind=kind,
        name=(name or "").strip(),
        description=(description or "").strip(),
        points=points if kind == GiftKind.POINTS else None,
        discount_percent=discount_percent if kind == GiftKind.DISCOUNT else None,
        valid_days=valid_days,
    )
    errors = []
    if kind not in GiftKind.values:
        errors.append({"field": "kind", "message": _("Choose product, points or discount.")})
    elif kind == GiftKind.POINTS and points is None:
        errors.append({"field": "points", "message": _("How many points?")})
    elif kind == GiftKind.DISCOUNT and discount_percent is None:
        errors.append({"field": "discount_percent", "message": _("How much off?")})
    elif kind == GiftKind.PRODUCT and not gift.name:
        errors.append({"field": "name", "message": _("Which product?")})
    if errors:
        raise ValidationFailed(errors)
    if not gift.name:
        gift.name = str(gift.summary)[:120]
    try:
        gift.full_clean(exclude=["merchant"], validate_unique=False)
    except ValidationError as exc:
        raise ValidationFailed(
            [
                {"field": field, "message": str(message)}
                for field, messages in exc.message_dict.items()
                for message in messages
            ]
        ) from None
    same = Gift.objects.filter(merchant=merchant, name=gift.name).first()
    if same is not None:
        if (same.kind, same.points, same.discount_percent, same.active) == (
            gift.kind,
            gift.points,
            gift.discount_percent,
            True,
        ):
            return same
        raise ValidationFailed(
            [{"field": "name", "message": _("There is already a gift with this name.")}]
        )
    gift.save()
    return gift


def offer_gift(
    *,
    gift: Gift,
    membership: Membership,
    staff: User | None = None,
    expires_on: dt.date | None = None,
    note: str = "",
    now=None,
) -> GiftOffer:
    """R2: offer a catalog gift to one customer, valid until the end of `expires_on` (merchant
    time), by default the gift's validity from today."""
    now = now or timezone.now()
    merchant = gift.merchant
    if membership.merchant_id != merchant.pk:
        raise NotFound(_("Customer not found."))
    if not gift.active:
        raise ValidationFailed([{"field": "gift", "message": _("This gift is not active.")}])
    tz = zoneinfo.ZoneInfo(merchant.timezone)
    today = now.astimezone(tz).date()
    expires_on = expires_on or today + dt.timedelta(days=gift.valid_days)
    if expires_on < today:
        raise ValidationFailed(
            [{"field": "expires_on", "message": _("The date has already passed.")}]
        )
    expires_at = dt.datetime.combine(expires_on + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    with transaction.atomic():
        offer = GiftOffer.objects.create(
            gift=gift,
            membership=membership,
            note=(note or "").strip()[:300],
            offered_at=now,
            offered_by=staff,
            expires_at=expires_at,
        )
        audit.record(
            Action.GIFT_GIVE,
            merchant=merchant,
            target=offer,
            label=gift.name,
            customer_id=membership.customer_id,
            after={"gift": gift.name, "kind": gift.kind, "expires_on": expires_on},
            staff=staff,
            now=now,
        )
    return offer


def redeem_gift(
    *,
    membership: Membership,
    offer_id,
    branch: Branch,
    staff: User | None = None,
    now=None,
) -> GiftOffer:
    """R2: the customer takes their gift. A points gift is credited through the ledger in the
    same transaction; a second redemption of the same offer is refused, never doubled."""
    now = now or timezone.now()
    gate.check_exit(membership, gate.Exit.GIFT)
    try:
        offer = GiftOffer.objects.select_related("gift").get(
            pk=parse_id(offer_id), membership=membership
        )
    except GiftOffer.DoesNotExist:
        raise NotFound(_("Gift not found.")) from None
    with transaction.atomic():
        taken = GiftOffer.objects.filter(
            pk=offer.pk, status=GiftStatus.OFFERED, expires_at__gt=now
        ).update(status=GiftStatus.REDEEMED, redeemed_at=now, redeemed_by=staff, branch=branch)
        if not taken:
            offer.refresh_from_db()
            if offer.status_at(now) == GiftStatus.REDEEMED:
                raise GiftUnavailable(_("This gift was already redeemed."))
            raise GiftUnavailable(_("This gift has expired."))
        offer.status, offer.redeemed_at, offer.redeemed_by, offer.branch = (
            GiftStatus.REDEEMED,
            now,
            staff,
            branch,
        )
        gift = offer.gift
        if gift.kind == GiftKind.POINTS:
            txn = credit_bonus(
                membership,
                gift.points,
                _("Gift: %(name)s") % {"name": gift.name},
                branch,
                staff,
                now,
            )
            GiftOffer.objects.filter(pk=offer.pk).update(transaction=txn)
            offer.transaction = txn
        audit.record(
            Action.GIFT_REDEEM,
            merchant=membership.merchant,
            target=offer,
            label=gift.name,
            customer_id=membership.customer_id,
            before={"status": GiftStatus.OFFERED},
            after={"status": GiftStatus.REDEEMED, "points": gift.points or None},
            staff=staff,
            branch=branch,
            now=now,
        )
        events.emit(
            membership.merchant,
            "redemption.created",
            payloads.gift_redemption(offer, membership, offer.transaction, now),
            now=now,
        )
    return offer


def expire_gifts(now=None) -> int:
    """Write down the offers past their date (the screens already show them as expired)."""
    now = now or timezone.now()
    return GiftOffer.objects.filter(status=GiftStatus.OFFERED, expires_at__lte=now).update(
        status=GiftStatus.EXPIRED
    )
