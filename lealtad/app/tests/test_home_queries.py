"""The app's read side on known data: balances per membership and wallet, running balances,
points still missing, what a favourite receives — and that another customer sees none of it."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from lealtad.app import queries
from lealtad.coins import actions as coins
from lealtad.core import testing
from lealtad.core.errors import NotFound
from lealtad.customers.actions import join_merchant
from lealtad.favourites import actions as favourites
from lealtad.ledger import actions as ledger
from lealtad.ledger import ledger as primitives
from lealtad.ledger.models import Account, Lot
from lealtad.offers.actions import offer_gift
from lealtad.offers.models import Target

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice():
    """Alice is a member of two shops (point value 1000: 1 point per 1,000) and has coins."""
    aroma = testing.make_merchant("Aroma")
    brasa = testing.make_merchant("Brasa", point_value="500")
    reg = testing.make_customer(aroma)
    join_merchant(reg.customer, brasa.merchant, brasa.branch)
    return reg, aroma, brasa


def accrue(shop, customer, amount, n, now=None):
    return ledger.accrue_points(
        merchant=shop.merchant,
        customer=customer,
        amount=Decimal(amount),
        branch=shop.branch,
        invoice_number=f"F-{n}",
        now=now,
    )


def test_home_lists_every_membership_with_its_balances(alice):
    reg, aroma, brasa = alice
    accrue(aroma, reg.customer, 25_000, 1)  # 25 points
    accrue(brasa, reg.customer, 5_000, 2)  # 10 points
    # 10 of Aroma's 25 points expire in 10 days.
    Lot.objects.filter(account=reg.membership.account).update(
        expires_at=timezone.now() + dt.timedelta(days=10)
    )
    accrue(aroma, reg.customer, 10_000, 3)  # 10 more, a year away

    found = queries.home(reg.customer)

    assert [c.merchant.pk for c in found.memberships] == [aroma.merchant.pk, brasa.merchant.pk]
    aroma_card, brasa_card = found.memberships
    assert (aroma_card.points.available, aroma_card.points.pending) == (35, 0)
    assert aroma_card.points.expiring == 25
    assert aroma_card.points.expires_at.date() == (timezone.now() + dt.timedelta(days=10)).date()
    assert (brasa_card.points.available, brasa_card.points.expiring) == (10, 0)
    assert brasa_card.points.expires_at is None
    assert found.coins == queries.Balance(0, 0, 0, None)


def test_bulk_balances_agree_with_the_ledgers_own(alice):
    reg, aroma, _brasa = alice
    accrue(aroma, reg.customer, 25_000, 1)
    Lot.objects.filter(account=reg.membership.account).update(
        expires_at=timezone.now() - dt.timedelta(minutes=1)  # due, not yet swept
    )
    accrue(aroma, reg.customer, 7_000, 2)
    now = timezone.now()
    horizon = now + dt.timedelta(days=30)
    one = primitives.balances(reg.membership.account_id, now, horizon)
    fresh = Account.objects.get(pk=reg.membership.account_id)
    many = primitives.balances_many([fresh], now, horizon)
    account_id = reg.membership.account_id
    assert (
        {k: many[account_id][k] for k in one}
        == one
        == {
            "available": 7,
            "pending": 0,
            "expiring": 0,
        }
    )


def test_wallet_shows_available_held_and_expiring_coins(alice):
    reg, _aroma, _brasa = alice
    issuer = testing.make_merchant("Emisor", coin_issuer=True, cashback_rate="0.1")
    coins.earn_coins(merchant=issuer.merchant, customer=reg.customer, amount=Decimal(5000))

    found = queries.home(reg.customer)

    assert (found.coins.available, found.coins.pending, found.coins.expiring) == (500, 0, 0)
    assert coins.wallet_of(reg.customer) == {"available": 500, "held": 0, "expiring_30d": 0}


def test_points_history_pages_newest_first_with_the_running_balance(alice):
    reg, aroma, _brasa = alice
    start = timezone.now() - dt.timedelta(days=5)
    for n in range(30):
        accrue(aroma, reg.customer, 2_000, n, now=start + dt.timedelta(minutes=n))
    reward = testing.make_reward(aroma, cost=15)
    ledger.redeem_reward(membership=reg.membership, reward_id=reward.pk, branch=aroma.branch)

    with translation.override("en"):
        lines, page = queries.points_history(reg.membership, page=1, size=10)

    assert page.paginator.count == 31
    assert lines[0].points == -15 and lines[0].balance == 45
    assert lines[0].label == f"Prize: {reward.name}"
    assert [line.balance for line in lines[1:4]] == [60, 58, 56]
    last, _page = queries.points_history(reg.membership, page=4, size=10)
    assert [(line.points, line.balance) for line in last] == [(2, 2)]


def test_coin_history_has_the_running_balance_and_pages(alice):
    reg, _aroma, _brasa = alice
    issuer = testing.make_merchant("Emisor", coin_issuer=True, cashback_rate="0.1")
    for n in range(3):
        coins.earn_coins(
            merchant=issuer.merchant,
            customer=reg.customer,
            amount=Decimal(1000 * (n + 1)),
            invoice_number=f"C-{n}",
        )
    lines, page = queries.coins_history(reg.customer, page=1, size=2)
    assert [(line.points, line.balance) for line in lines] == [(300, 600), (200, 300)]
    assert page.has_next() and not page.has_previous()
    assert lines[0].place == issuer.merchant.name
    lines, page = queries.coins_history(reg.customer, page=2, size=2)
    assert [(line.points, line.balance) for line in lines] == [(100, 100)]
    assert not page.has_next()


def test_prizes_say_how_many_points_are_missing(alice):
    reg, aroma, _brasa = alice
    accrue(aroma, reg.customer, 30_000, 1)  # 30 points
    cheap = testing.make_reward(aroma, cost=20)
    dear = testing.make_reward(aroma, cost=120)
    testing.make_reward(aroma, cost=10, stock=0)

    found = queries.prizes_for(aroma.merchant, 30)

    by_id = {p.reward.pk: p for p in found}
    assert (by_id[cheap.pk].points_missing, by_id[cheap.pk].percent) == (0, 100)
    assert by_id[cheap.pk].affordable
    assert (by_id[dear.pk].points_missing, by_id[dear.pk].percent) == (90, 25)
    out_of_stock = next(p for p in found if p.reward.stock == 0)
    assert not out_of_stock.affordable


def test_claimed_prizes_are_the_standing_redemptions(alice):
    reg, aroma, _brasa = alice
    accrue(aroma, reg.customer, 50_000, 1)
    reward = testing.make_reward(aroma, cost=10)
    kept = ledger.redeem_reward(membership=reg.membership, reward_id=reward.pk, branch=aroma.branch)
    undone = ledger.redeem_reward(
        membership=reg.membership, reward_id=reward.pk, branch=aroma.branch
    )
    ledger.reverse_transaction(
        merchant=aroma.merchant, transaction_id=undone.transaction.pk, reason="error"
    )
    assert [t.pk for t in queries.claimed_prizes(reg.membership)] == [kept.transaction.pk]


def test_a_favourite_receives_the_merchants_favourites_promotions(alice):
    reg, aroma, _brasa = alice
    other = testing.make_customer(aroma)
    promo = testing.make_promotion(aroma, "bonus", bonus_points=5, target=Target.FAVOURITES)

    assert promo not in queries.promotions_for(reg.customer, aroma.merchant, reg.membership)
    favourites.mark_favourite(reg.customer, aroma.merchant)
    assert promo in queries.promotions_for(reg.customer, aroma.merchant, reg.membership)
    assert promo not in queries.promotions_for(other.customer, aroma.merchant, other.membership)
    # …and the till applies it to the purchase.
    movement = accrue(aroma, reg.customer, 10_000, 1)
    assert movement.transaction.points == 10 + 5


def test_a_favourite_not_yet_member_sees_the_offers_and_gets_them_on_joining():
    aroma = testing.make_merchant("Aroma")
    brasa = testing.make_merchant("Brasa")
    reg = testing.make_customer(brasa)
    for_favourites = testing.make_promotion(aroma, "bonus", bonus_points=7, target="favourites")
    for_all = testing.make_promotion(aroma, "bonus", bonus_points=1)
    assert queries.promotions_for(reg.customer, aroma.merchant, None) == [for_all]
    favourites.mark_favourite(reg.customer, aroma.merchant)
    assert set(queries.promotions_for(reg.customer, aroma.merchant, None)) == {
        for_favourites,
        for_all,
    }
    movement = accrue(aroma, reg.customer, 10_000, 9)  # the first purchase makes a member
    assert movement.transaction.points == 10 + 7 + 1


def test_marking_twice_keeps_one_favourite_and_unmarking_is_idempotent(alice):
    reg, aroma, _brasa = alice
    favourites.mark_favourite(reg.customer, aroma.merchant)
    favourites.mark_favourite(reg.customer, aroma.merchant)
    assert favourites.favourite_ids(reg.customer) == {aroma.merchant.pk}
    assert favourites.unmark_favourite(reg.customer, aroma.merchant) is True
    assert favourites.unmark_favourite(reg.customer, aroma.merchant) is False
    assert favourites.favourite_ids(reg.customer) == set()


def test_merchants_by_city_and_zone_with_the_customers_balance(alice):
    reg, aroma, brasa = alice
    aroma.branch.city, aroma.branch.zone = "Bogotá", "Chapinero"
    aroma.branch.save()
    brasa.branch.city, brasa.branch.zone = "Medellín", "El Poblado"
    brasa.branch.save()
    stranger = testing.make_merchant("Zeta")
    stranger.branch.city = "Bogotá"
    stranger.branch.save()
    accrue(aroma, reg.customer, 12_000, 1)
    favourites.mark_favourite(reg.customer, brasa.merchant)

    everything = queries.merchants(reg.customer)
    assert [p.merchant.pk for p in everything][:1] == [brasa.merchant.pk]  # favourites first
    bogota = queries.merchants(reg.customer, city="bogotá")
    assert [(p.merchant.pk, p.member, p.points) for p in bogota] == [
        (aroma.merchant.pk, True, 12),
        (stranger.merchant.pk, False, None),
    ]
    assert [p.merchant.pk for p in queries.merchants(reg.customer, zone="Chapinero")] == [
        aroma.merchant.pk
    ]
    choices = queries.places_filter()
    assert choices["Bogotá"] == ["Chapinero"] and choices["Medellín"] == ["El Poblado"]


def test_another_customers_membership_and_gift_are_not_found(alice):
    reg, aroma, brasa = alice
    bob = testing.make_customer(brasa)
    gift = testing.make_gift(aroma, "points", points=30)
    offer = offer_gift(gift=gift, membership=reg.membership)
    with pytest.raises(NotFound):
        queries.membership_for(bob.customer, aroma.merchant.pk)
    with pytest.raises(NotFound):
        queries.gift_offer_for(bob.customer, offer.pk)
    with pytest.raises(NotFound):
        queries.membership_for(bob.customer, "not-a-uuid")
    assert queries.gift_offer_for(reg.customer, offer.pk) == offer
    assert queries.gifts_for(reg.membership) == [offer]


def test_the_home_costs_a_fixed_number_of_queries(alice, django_assert_max_num_queries):
    reg, _aroma, _brasa = alice
    for n in range(5):
        shop = testing.make_merchant(f"Tienda {n}")
        join_merchant(reg.customer, shop.merchant, shop.branch)
        accrue(shop, reg.customer, 9_000, n)
    with django_assert_max_num_queries(4):  # memberships, wallet, lots, holds
        found = queries.home(reg.customer)
    assert len(found.memberships) == 7
