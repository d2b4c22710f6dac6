"""R3: coin promotions — an acceptor's products sold only for coins.

Taking one is a coin payment like any invoice (`lealtad.coins.payments.start_payment` with
`coins = invoice_amount = price` and the promotion): the customer confirms it with the same code.

Stock is reserved when the payment's hold is made and given back when the payment is cancelled
or expires, so a unit waiting for its code is never sold twice and a cancelled one is never
lost. Both happen under the promotion's row lock, inside the payment's own transaction and after
the wallet's lock (wallet, then promotion: the order every path takes, so no deadlock), so the
last unit goes to exactly one of two customers taking it at once.
"""

from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from lealtad.coins.models import CoinPromotion
from lealtad.core.errors import (
    LealtadError,
    NotFound,
    OutOfStock,
    PromotionUnavailable,
    ValidationFailed,
)
from lealtad.customers import gate
from lealtad.network import coin_roles
from lealtad.network.models import Merchant


def can_have(merchant: Merchant) -> str | None:
    """Why this merchant cannot sell for coins, in words; None when it can (an acceptor in the
    network's currency)."""
    status = coin_roles.coin_status(merchant)
    if status.problem:
        return status.problem
    if not status.acceptor:
        return _(
            "Only a merchant that accepts the network's coins can sell products for coins; "
            "the network's operator decides which merchants accept them."
        )
    return None


def on_sale(merchant: Merchant, now=None):
    """The promotions a till offers now: active, in their window, with a unit left."""
    now = now or timezone.now()
    return CoinPromotion.objects.filter(
        Q(stock__isnull=True) | Q(stock__gt=0),
        merchant=merchant,
        active=True,
        starts_at__lte=now,
        ends_at__gt=now,
    ).order_by("coins_price", "name")


def listing(merchant: Merchant, available: int, now=None) -> list[dict]:
    """The till's "Promociones con monedas": every promotion on sale, affordable ones first
    marked, the others with the coins missing. Nothing for a merchant that cannot sell them."""
    # A non-acceptor's till reads no network row for this (the card's query count stays flat).
    if not merchant.coin_acceptor or can_have(merchant):
        return []
    rows = []
    for promotion in on_sale(merchant, now):
        missing = max(promotion.coins_price - available, 0)
        rows.append({"promotion": promotion, "affordable": missing == 0, "missing": missing})
    return rows


def get_promotion(promotion_id, *, merchant: Merchant) -> CoinPromotion:
    """This merchant's promotion; another merchant's (or none) → NotFound."""
    try:
        return CoinPromotion.objects.get(pk=promotion_id, merchant=merchant)
    except (CoinPromotion.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound(_("No such coin promotion.")) from exc


def reserve(promotion_id, *, merchant: Merchant, coins=None, now=None) -> CoinPromotion:
    """Take one unit for a payment being held: the promotion row locked, checked on sale, its
    stock (when counted) one less. Must run inside the payment's transaction (outside one,
    Django refuses the row lock)."""
    now = now or timezone.now()
    try:
        promotion = CoinPromotion.objects.select_for_update().get(
            pk=getattr(promotion_id, "pk", promotion_id), merchant=merchant
        )
    except (CoinPromotion.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound(_("No such coin promotion.")) from exc
    if not promotion.active or not (promotion.starts_at <= now < promotion.ends_at):
        raise PromotionUnavailable(_("This coin promotion is not on sale now."))
    if coins is not None and coins != promotion.coins_price:
        # The price changed since the till listed it: the customer agreed to another price.
        raise ValidationFailed(
            [
                {
                    "field": "coins",
                    "message": _("The price of this coin promotion is now %(coins)s coins.")
                    % {"coins": promotion.coins_price},
                }
            ]
        )
    if promotion.stock is not None:
        if promotion.stock <= 0:
            raise OutOfStock(_("This coin promotion is sold out."))
        CoinPromotion.objects.filter(pk=promotion.pk).update(stock=F("stock") - 1)
        promotion.stock -= 1
    return promotion


def release(promotion_id) -> None:
    """Give back the unit a cancelled or expired payment had reserved (unlimited stock: nothing
    to give back). Run it inside the transaction that cancels the payment, once per payment."""
    if promotion_id is None:
        return
    CoinPromotion.objects.filter(pk=promotion_id, stock__isnull=False).update(stock=F("stock") + 1)


def till_card(merchant: Merchant, customer, wallet: dict, now=None) -> dict:
    """What the till's customer card needs for "Promociones con monedas": the rows (empty for a
    merchant that does not accept coins) and, when the customer cannot pay with coins here
    (incomplete profile, suspended, blocked), why."""
    rows = listing(merchant, wallet["available"], now)
    block = None
    if rows:
        try:
            gate.check_coin_exit(customer, merchant)
        except LealtadError as exc:
            block = exc.detail
    return {"coin_promotions": rows, "coin_promotions_block": block}
