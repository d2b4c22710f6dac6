"""The customer app's read side (A2, A4, A6): what the screens and `/api/v1/me*` show, always of
one customer (the signed-in one). Every query here is scoped to that customer; an object of
someone else is simply not found (404).

The home lists every membership: its balances come from `ledger.balances_many`, so the page costs
the same few queries for 1 membership or 50.
"""

import datetime as dt
from dataclasses import dataclass, field
from types import SimpleNamespace

from django.core.paginator import Paginator
from django.db.models import Case, IntegerField, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from lealtad.coins.statement import coin_statement
from lealtad.core.errors import NotFound
from lealtad.core.ids import parse_id
from lealtad.customers.models import Customer, Membership
from lealtad.favourites.models import Favourite
from lealtad.ledger import ledger
from lealtad.ledger.actions import reward_available
from lealtad.ledger.models import Account, AccountKind, Kind, Status, Transaction
from lealtad.network.models import Branch, Merchant
from lealtad.offers import promotions
from lealtad.offers.models import GiftKind, GiftOffer, GiftStatus, Promotion, Target
from lealtad.program.models import Reward

EXPIRING_WINDOW = dt.timedelta(days=30)
PAGE_SIZE = 25


@dataclass
class Balance:
    available: int = 0
    pending: int = 0
    expiring: int = 0  # within EXPIRING_WINDOW
    expires_at: dt.datetime | None = None  # when the soonest of `expiring` falls due


@dataclass
class MembershipCard:
    membership: Membership
    merchant: Merchant
    points: Balance


@dataclass
class Home:
    coins: Balance  # pending = held by a coin payment awaiting its code
    memberships: list[MembershipCard] = field(default_factory=list)


def _balance(row: dict | None) -> Balance:
    if row is None:
        return Balance()
    return Balance(row["available"], row["pending"], row["expiring"], row["expires_at"])


def home(customer: Customer, now=None) -> Home:
    """The wallet and every membership with its points: three queries, whatever their number."""
    now = now or timezone.now()
    memberships = list(
        Membership.objects.filter(customer=customer)
        .select_related("merchant", "account", "holder__account")
        .order_by("merchant__name", "merchant_id")
    )
    wallet = Account.objects.filter(
        customer=customer, kind=AccountKind.COINS, merchant=None
    ).first()
    # A dependent's points live in the holder's account (C8).
    accounts = [m.holder.account if m.holder_id else m.account for m in memberships]
    sums = ledger.balances_many(accounts + ([wallet] if wallet else []), now, now + EXPIRING_WINDOW)
    return Home(
        coins=_balance(sums.get(wallet.pk)) if wallet else Balance(),
        memberships=[
            MembershipCard(m, m.merchant, _balance(sums.get(a.pk)))
            for m, a in zip(memberships, accounts, strict=True)
        ],
    )


def membership_for(customer: Customer, merchant_id) -> Membership:
    """The customer's own membership at that merchant; NotFound for anything else."""
    try:
        return Membership.objects.select_related("merchant", "account", "holder__account").get(
            customer=customer, merchant_id=parse_id(merchant_id), merchant__active=True
        )
    except Membership.DoesNotExist:
        raise NotFound(_("Merchant not found.")) from None


def points_of(membership: Membership, now=None) -> Balance:
    now = now or timezone.now()
    account = membership.holder.account if membership.holder_id else membership.account
    return _balance(ledger.balances_many([account], now, now + EXPIRING_WINDOW)[account.pk])


@dataclass
class Line:
    id: str
    at: dt.datetime
    kind: str
    label: str
    points: int
    balance: int | None
    place: str = ""  # the merchant (coins) or the branch (points)


def _points_label(txn: Transaction) -> str:
    if txn.kind == Kind.REDEMPTION and txn.reward_id:
        return _("Prize: %(name)s") % {"name": txn.reward.name}
    if txn.kind in (Kind.BONUS, Kind.ADJUSTMENT) and txn.reason:
        return txn.reason
    return txn.get_kind_display()


def points_history(membership: Membership, page: int = 1, size: int = PAGE_SIZE):
    """The posted movements of the membership's points, newest first, each with the balance
    right after it (`Transaction.balance_after`), one page at a time: (lines, page object). A
    dependent sees only their own movements of the holder's account."""
    expiry_first = Case(
        When(kind=Kind.EXPIRY, then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    rows = Transaction.objects.filter(
        account_id=membership.spending_account_id, status=Status.POSTED
    )
    if membership.holder_id:
        rows = rows.filter(customer_id=membership.customer_id)
    rows = (
        rows.select_related("reward", "branch")
        .annotate(expiry_first=expiry_first)
        .order_by("-posted_at", "-expiry_first", "-created_at", "-id")
    )
    paged = Paginator(rows, size).get_page(page)
    lines = [
        Line(
            id=str(t.pk),
            at=t.posted_at or t.created_at,
            kind=t.kind,
            label=_points_label(t),
            points=t.points,
            balance=t.balance_after,
            place=t.branch.name if t.branch_id else "",
        )
        for t in paged.object_list
    ]
    return lines, paged


@dataclass
class Page:
    """Enough of a paginator for the templates: the number and its neighbours."""

    number: int
    previous: bool
    next: bool

    def has_previous(self) -> bool:
        return self.previous

    def has_next(self) -> bool:
        return self.next

    def previous_page_number(self) -> int:
        return self.number - 1

    def next_page_number(self) -> int:
        return self.number + 1


def coins_history(customer: Customer, page: int = 1, size: int = PAGE_SIZE):
    """The wallet's statement (`coins.statement.coin_statement`: the lines every merchant shows
    the customer, with the running balance), newest first, one page at a time."""
    page = max(1, min(int(page or 1), 5000 // size))
    # The customer is no merchant: no line is "own", so none shows a merchant's invoice details.
    nobody = SimpleNamespace(pk=None)
    found = coin_statement(customer, nobody, limit=page * size + 1)
    chunk = found[(page - 1) * size : page * size]
    lines = [
        Line(
            id=line.id,
            at=line.at,
            kind=line.kind,
            label=line.label,
            points=line.coins,
            balance=line.balance,
            place=line.merchant_name,
        )
        for line in chunk
    ]
    return lines, Page(page, page > 1, len(found) > page * size)


# --- prizes, promotions and gifts (A4) ---------------------------------------------------------


@dataclass
class Prize:
    reward: Reward
    points_missing: int
    percent: int  # how far the balance goes towards it, 0–100

    @property
    def affordable(self) -> bool:
        return self.points_missing == 0 and self.reward.stock != 0


def prizes_for(merchant: Merchant, available: int, now=None) -> list[Prize]:
    """The merchant's prizes on offer today, cheapest first, with the points still missing."""
    now = now or timezone.now()
    out = []
    for reward in Reward.objects.filter(merchant=merchant, active=True).order_by(
        "points_cost", "name"
    ):
        if not reward_available(reward, now):
            continue
        missing = max(reward.points_cost - available, 0)
        percent = min(100, max(available, 0) * 100 // reward.points_cost)
        out.append(Prize(reward, missing, percent))
    return out


def claimed_prizes(membership: Membership, limit: int = 20) -> list[Transaction]:
    """Prizes already taken (redemptions still standing), newest first; `cost` is what each
    took, as a positive number of points."""
    found = list(
        Transaction.objects.filter(
            account_id=membership.spending_account_id,
            customer_id=membership.customer_id,
            kind=Kind.REDEMPTION,
            status=Status.POSTED,
            reversed_by__isnull=True,
        )
        .select_related("reward")
        .order_by("-posted_at")[:limit]
    )
    for txn in found:
        txn.cost = -txn.points
    return found


def promotions_for(customer: Customer, merchant: Merchant, membership, now=None):
    """The promotions running today that reach this customer: a member's are the till's own
    (`offers.promotions.applicable`); someone not yet a member is reached by the promotions for
    everyone and, when they marked the merchant as favourite, those for favourites — the first
    purchase makes them a member, and the accrual then applies them."""
    now = now or timezone.now()
    if membership is not None:
        return promotions.applicable(merchant, membership, now)
    today = promotions.local_date(merchant, now)
    reach = Q(target=Target.EVERYONE)
    if Favourite.objects.filter(customer=customer, merchant=merchant).exists():
        reach |= Q(target=Target.FAVOURITES)
    return list(
        Promotion.objects.filter(
            reach, merchant=merchant, active=True, starts_on__lte=today, ends_on__gte=today
        ).select_related("reward")
    )


def gifts_for(membership: Membership, now=None) -> list[GiftOffer]:
    """Gifts offered and still valid, soonest to expire first."""
    now = now or timezone.now()
    return list(
        GiftOffer.objects.filter(
            membership=membership, status=GiftStatus.OFFERED, expires_at__gt=now
        )
        .select_related("gift")
        .order_by("expires_at")
    )


def acceptable(offer: GiftOffer) -> bool:
    """A points gift is taken in the app (its points are credited at once); a product or a
    discount is handed over at the till."""
    return offer.gift.kind == GiftKind.POINTS


def gift_offer_for(customer: Customer, offer_id) -> GiftOffer:
    try:
        return GiftOffer.objects.select_related(
            "gift", "membership__merchant", "membership__customer", "membership__holder"
        ).get(pk=parse_id(offer_id), membership__customer=customer)
    except GiftOffer.DoesNotExist:
        raise NotFound(_("Gift not found.")) from None


# --- merchants (A6) ----------------------------------------------------------------------------


@dataclass
class Place:
    merchant: Merchant
    branches: list[Branch]
    favourite: bool
    member: bool
    points: int | None  # available, when a member


def merchants(customer: Customer, city: str = "", zone: str = "", now=None) -> list[Place]:
    """The network's active merchants with their active branches (city, zone, address), the
    customer's balance at each, and whether it is a favourite; `city`/`zone` narrow the list to
    merchants with a branch there. Favourites first, then by name."""
    now = now or timezone.now()
    branches = Branch.objects.filter(active=True, merchant__active=True).select_related("merchant")
    if city:
        branches = branches.filter(city__iexact=city)
    if zone:
        branches = branches.filter(zone__iexact=zone)
    by_merchant: dict = {}
    for branch in branches.order_by("merchant__name", "city", "zone", "name"):
        by_merchant.setdefault(branch.merchant_id, (branch.merchant, []))[1].append(branch)
    data = home(customer, now)
    points = {card.merchant.pk: card.points.available for card in data.memberships}
    favourites = set(
        Favourite.objects.filter(customer=customer).values_list("merchant_id", flat=True)
    )
    places = [
        Place(
            merchant,
            found,
            merchant.pk in favourites,
            merchant.pk in points,
            points.get(merchant.pk),
        )
        for merchant, found in by_merchant.values()
    ]
    places.sort(key=lambda p: (not p.favourite, p.merchant.name.lower()))
    return places


def places_filter() -> dict:
    """The cities and, per city, the zones that have an active branch: the filter's choices."""
    rows = (
        Branch.objects.filter(active=True, merchant__active=True)
        .exclude(city="")
        .values_list("city", "zone")
        .distinct()
        .order_by("city", "zone")
    )
    out: dict[str, list[str]] = {}
    for city, zone in rows:
        zones = out.setdefault(city, [])
        if zone and zone not in zones:
            zones.append(zone)
    return out


# --- every membership's offers at once (the prizes page, GET /me/memberships) -------------------


@dataclass
class Offers:
    membership: Membership
    merchant: Merchant
    points: Balance
    prizes: list[Prize]
    claimed: list[Transaction]
    promotions: list[Promotion]
    gifts: list[GiftOffer]


def offers(customer: Customer, cards: list[MembershipCard], now=None, claimed_limit: int = 20):
    """`prizes_for`, `claimed_prizes`, `promotions_for` and `gifts_for` of every membership in a
    fixed number of queries (plus the till's own targeting, `promotions.applicable`, only at the
    merchants running a promotion today): the prizes page lists them all."""
    now = now or timezone.now()
    if not cards:
        return []
    merchant_ids = [c.merchant.pk for c in cards]
    rewards: dict = {}
    for reward in Reward.objects.filter(merchant_id__in=merchant_ids, active=True).order_by(
        "points_cost", "name"
    ):
        if reward_available(reward, now):
            rewards.setdefault(reward.merchant_id, []).append(reward)
    accounts = {c.membership.spending_account_id: c for c in cards}
    claimed: dict = {}
    for txn in (
        Transaction.objects.filter(
            account_id__in=list(accounts),
            customer_id=customer.pk,
            kind=Kind.REDEMPTION,
            status=Status.POSTED,
            reversed_by__isnull=True,
        )
        .select_related("reward")
        .order_by("-posted_at")
    ):
        found = claimed.setdefault(txn.account_id, [])
        if len(found) < claimed_limit:
            txn.cost = -txn.points
            found.append(txn)
    gifts: dict = {}
    for offer in (
        GiftOffer.objects.filter(
            membership__in=[c.membership.pk for c in cards],
            status=GiftStatus.OFFERED,
            expires_at__gt=now,
        )
        .select_related("gift")
        .order_by("expires_at")
    ):
        offer.acceptable_in_app = acceptable(offer)
        gifts.setdefault(offer.membership_id, []).append(offer)
    # Merchants' days differ by time zone: a day either side finds every candidate.
    today = now.date()
    running = set(
        Promotion.objects.filter(
            merchant_id__in=merchant_ids,
            active=True,
            starts_on__lte=today + dt.timedelta(days=1),
            ends_on__gte=today - dt.timedelta(days=1),
        ).values_list("merchant_id", flat=True)
    )
    out = []
    for card in cards:
        available = card.points.available
        out.append(
            Offers(
                membership=card.membership,
                merchant=card.merchant,
                points=card.points,
                prizes=[
                    Prize(
                        r,
                        max(r.points_cost - available, 0),
                        min(100, max(available, 0) * 100 // r.points_cost),
                    )
                    for r in rewards.get(card.merchant.pk, [])
                ],
                claimed=claimed.get(card.membership.spending_account_id, []),
                promotions=(
                    promotions.applicable(card.merchant, card.membership, now)
                    if card.merchant.pk in running
                    else []
                ),
                gifts=gifts.get(card.membership.pk, []),
            )
        )
    return out


def favourite_offers(customer: Customer, now=None) -> list[Offers]:
    """A6: the offers of the merchants the customer marked as favourite without being a member
    yet — the prizes (all their points still missing), and the promotions for everyone and for
    favourites (`promotions_for`). Gifts and claimed prizes need a membership."""
    now = now or timezone.now()
    merchants = Merchant.objects.filter(favoured_by__customer=customer, active=True).exclude(
        memberships__customer=customer
    )
    return [
        Offers(
            membership=None,
            merchant=merchant,
            points=Balance(),
            prizes=prizes_for(merchant, 0, now),
            claimed=[],
            promotions=promotions_for(customer, merchant, None, now),
            gifts=[],
        )
        for merchant in merchants.order_by("name")
    ]


def favourite_offers_at(customer: Customer, merchant_id, now=None) -> Offers:
    """`favourite_offers` of one merchant; NotFound unless it is a favourite of the customer's
    (a merchant the customer neither joined nor follows has no page in their app)."""
    try:
        merchant = Merchant.objects.get(
            pk=parse_id(merchant_id), active=True, favoured_by__customer=customer
        )
    except Merchant.DoesNotExist:
        raise NotFound(_("Merchant not found.")) from None
    now = now or timezone.now()
    return Offers(
        membership=None,
        merchant=merchant,
        points=Balance(),
        prizes=prizes_for(merchant, 0, now),
        claimed=[],
        promotions=promotions_for(customer, merchant, None, now),
        gifts=[],
    )
