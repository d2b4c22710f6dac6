"""The customer's card at the till: what `cashier/customer.html` shows, read in as few queries
as the page allows, because every till action but a search ends on it (cashier/tests/
test_till_queries.py holds the count per action).

One query each: the points (the account row comes with the membership, so only the lots due
are summed), the prizes, the promotions running today, the wallet's row and its due lots, its
latest lines, the gifts offered, the coin promotions, the recent movements."""

import uuid

from django.utils import timezone

from lealtad.api.views import points_of, reward_rows
from lealtad.cashier import forms
from lealtad.coins import promotions as coin_promotions
from lealtad.coins.actions import EXPIRING_WINDOW as COIN_WINDOW
from lealtad.coins.statement import coin_statement
from lealtad.coins.words import rate_in_words
from lealtad.core import money
from lealtad.core.errors import LealtadError
from lealtad.customers import actions as customers
from lealtad.customers.models import Membership
from lealtad.ledger import actions as ledger
from lealtad.ledger import point_payments
from lealtad.ledger.ledger import balances
from lealtad.ledger.models import Account, AccountKind, Status, Transaction
from lealtad.network import coin_roles
from lealtad.offers import promotions
from lealtad.offers.models import GiftOffer, GiftStatus, PromotionKind


def member(merchant, customer_id) -> Membership:
    """The membership with its account row, for a page that writes nothing before it draws
    the card: the points then cost one query (the lots due), not two. A view that moves points
    first reads the membership without it (`get_membership_for`), and the card reads the
    balance after the movement."""
    membership = customers.get_membership_for(merchant, customer_id, related=("account",))
    membership.read_account = membership.account
    return membership


def _points(membership, now) -> dict:
    return points_of(membership, now, fresh_account=getattr(membership, "read_account", None))


def priced_rewards(merchant, membership, now) -> tuple[dict, list, list[dict]]:
    """The points, today's promotions and the prizes at the price this customer pays today
    (a special-price promotion's, when one runs): what a redemption checks its prize against."""
    points = _points(membership, now)
    promos = promotions.applicable(merchant, membership, now)
    rewards = reward_rows(merchant, membership, available=points["available"], now=now)
    special = {}
    for promo in promos:
        if promo.kind == PromotionKind.SPECIAL_PRICE:
            best = special.get(promo.reward_id)
            if best is None or promo.special_price < best.special_price:
                special[promo.reward_id] = promo
    for row in rewards:
        promo = special.get(uuid.UUID(row["id"]))
        if promo is not None:
            missing = max(promo.special_price - points["available"], 0)
            row.update(
                regular_cost=row["points_cost"],
                points_cost=promo.special_price,
                promotion_id=str(promo.pk),
                promotion=promo.name,
                points_missing=missing,
                affordable=missing == 0 and row["stock"] != 0,
            )
    return points, promos, rewards


def wallet_card(customer, merchant, now, limit=5) -> tuple[dict, list]:
    """K1: the wallet as `coins.actions.wallet_of` reads it and its latest lines, the wallet's
    row read once (its id, balance and held coins in one query, not an id and then a row)."""
    account = (
        Account.objects.filter(customer=customer, kind=AccountKind.COINS, merchant=None)
        .only("pk", "balance", "pending")
        .first()
    )
    if account is None:
        return {"available": 0, "held": 0, "expiring_30d": 0}, []
    b = balances(account.pk, now, now + COIN_WINDOW, account)
    wallet = {"available": b["available"], "held": b["pending"], "expiring_30d": b["expiring"]}
    return wallet, coin_statement(customer, merchant, limit)


def coin_context(merchant) -> dict:
    """K2: an issuer's till shows "Acumular monedas" with its rate in words."""
    status = (
        coin_roles.coin_status(merchant) if merchant.coin_issuer or merchant.coin_acceptor else None
    )
    issuer = merchant.coin_issuer and status.issuer
    return {
        "coin_issuer": issuer,
        "coin_rate_words": rate_in_words(merchant) if issuer else "",
        "earn_form": forms.EarnCoinsForm(prefix="coins"),
        # K3: an acceptor's till has "Pagar factura con monedas" (cashier/coin_payments.py).
        "coin_acceptor": merchant.coin_acceptor and status.acceptor,
        "coin_pay_form": forms.PayWithCoinsForm(prefix="cp"),
    }


def customer_context(request, membership, priced=None) -> dict:
    """The card's context; `priced`: what `priced_rewards` just answered for this request."""
    customer = membership.customer
    merchant, currency = request.merchant, request.merchant.currency
    movements = (
        Transaction.objects.filter(account_id=membership.spending_account_id)
        .exclude(status=Status.REJECTED)
        .order_by("-created_at")[:10]
    )
    try:
        ledger.check_can_redeem(membership)
        redeem_block = None
    except LealtadError as exc:
        redeem_block = exc
    now = timezone.now()
    points, promos, rewards = priced or priced_rewards(merchant, membership, now)
    # K1: the wallet and its latest lines (the whole statement behind "see all").
    wallet, coin_lines = wallet_card(customer, merchant, now)
    offers = [
        o
        for o in GiftOffer.objects.filter(membership=membership, status=GiftStatus.OFFERED)
        .select_related("gift")
        .order_by("expires_at")
        if o.status_at(now) == GiftStatus.OFFERED
    ]
    return {
        "membership": membership,
        "customer": customer,
        "points": points,
        "coins": wallet,
        "coin_lines": coin_lines,
        **coin_promotions.till_card(merchant, customer, wallet, now),
        "movements": movements,
        "redeem_block": redeem_block,
        "rewards": rewards,
        "promotions": promos,
        "gift_offers": offers,
        "token": uuid.uuid4().hex,
        "accrue_form": forms.AccrueForm(),
        # P7: "Pay with points" where the merchant takes points as money.
        "points_money": point_payments.terms(merchant, points["available"]),
        "pay_form": forms.PayWithPointsForm(prefix="pp"),
        **coin_context(merchant),
        # Amounts as people write them in the merchant's country, like the amount field reads them.
        "point_value": money.display_amount(merchant.point_value, merchant.country, currency),
        "minimum": money.display_amount(
            ledger.minimum_amount(merchant, membership), merchant.country, currency, up=True
        ),
    }
