"""The one gate for every way out of the program: prizes, free items, gifts and coin payments
refuse a blocked, suspended or incomplete customer alike, and move nothing when they do."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import translation

from lealtad.coins import actions as coins
from lealtad.core import errors, testing
from lealtad.customers import actions as customers
from lealtad.customers import gate
from lealtad.customers.models import Customer, Membership
from lealtad.ledger import actions as ledger
from lealtad.ledger.models import Account, Transaction
from lealtad.offers import actions as offers
from lealtad.offers.models import GiftOffer, GiftStatus, PromotionUse

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    return testing.make_merchant(coin_issuer=True, coin_acceptor=True, cashback_rate=Decimal("0.1"))


def _member(shop, complete=True):
    membership = testing.make_customer(shop, complete=complete).membership
    ledger.credit_bonus(membership, 500, "start", shop.branch, None, dt.datetime.now(dt.UTC))
    coins.earn_coins(merchant=shop.merchant, customer=membership.customer, amount=Decimal(1000))
    return Membership.objects.select_related("customer", "merchant", "holder").get(pk=membership.pk)


def _every_exit(shop, membership):
    """Each way out, as a callable that takes something out for this customer."""
    reward = testing.make_reward(shop, cost=10)
    free = testing.make_promotion(shop, "free_item", item="Galleta")
    offer = offers.offer_gift(gift=testing.make_gift(shop, points=5), membership=membership)
    product = offers.offer_gift(gift=testing.make_gift(shop, "product"), membership=membership)
    branch = shop.branch
    return {
        "reward": lambda: ledger.redeem_reward(
            membership=membership, reward_id=reward.pk, branch=branch
        ),
        "free_item": lambda: offers.give_free_item(
            membership=membership, promotion_id=free.pk, branch=branch
        ),
        "points_gift": lambda: offers.redeem_gift(
            membership=membership, offer_id=offer.pk, branch=branch
        ),
        "product_gift": lambda: offers.redeem_gift(
            membership=membership, offer_id=product.pk, branch=branch
        ),
        "coin_payment": lambda: coins.pay_with_coins(
            merchant=shop.merchant, customer=membership.customer, coins=5, branch=branch
        ),
    }


def _nothing_moved(membership, before):
    assert _state(membership) == before


def _state(membership):
    return (
        sorted(Account.objects.filter(customer=membership.customer).values_list("balance")),
        Transaction.objects.filter(customer=membership.customer).count(),
        PromotionUse.objects.filter(membership=membership).count(),
        GiftOffer.objects.filter(membership=membership, status=GiftStatus.REDEEMED).count(),
    )


EXITS = ["reward", "free_item", "points_gift", "product_gift", "coin_payment"]


@pytest.mark.parametrize("exit", EXITS)
def test_every_exit_is_refused_to_a_customer_blocked_here(shop, exit):
    membership = _member(shop)
    take = _every_exit(shop, membership)[exit]
    customers.block_membership(membership, "Reclamo en revisión")
    before = _state(membership)
    with pytest.raises(errors.CustomerBlocked) as refused:
        take()
    assert refused.value.code == "customer_blocked"
    assert refused.value.detail == "Reclamo en revisión"
    _nothing_moved(membership, before)


@pytest.mark.parametrize("exit", EXITS)
def test_every_exit_is_refused_to_an_incomplete_profile(shop, exit):
    membership = _member(shop, complete=False)
    take = _every_exit(shop, membership)[exit]
    before = _state(membership)
    with translation.override("es"), pytest.raises(errors.ProfileIncomplete) as refused:
        take()
    extra = refused.value.extra
    assert extra["missing_fields"] == ["first_name", "last_name", "gender", "birth_date", "mobile"]
    assert extra["missing_labels"] == [
        "nombres",
        "apellidos",
        "género",
        "fecha de nacimiento",
        "celular",
    ]
    assert "first_name" not in str(refused.value.detail)
    assert "nombres, apellidos" in str(refused.value.detail)
    _nothing_moved(membership, before)


@pytest.mark.parametrize("exit", EXITS)
def test_every_exit_is_refused_to_a_suspended_customer(shop, exit):
    membership = _member(shop)
    take = _every_exit(shop, membership)[exit]
    customers.suspend_customer(membership.customer, "Línea de servicio (+57) 3502118702")
    membership.customer.refresh_from_db()
    before = _state(membership)
    with pytest.raises(errors.CustomerSuspended):
        take()
    _nothing_moved(membership, before)


@pytest.mark.parametrize("exit", EXITS)
def test_every_exit_is_open_to_a_complete_unblocked_customer(shop, exit):
    membership = _member(shop)
    _every_exit(shop, membership)[exit]()
    assert _state(membership) != _state(_member(shop))


@pytest.mark.parametrize("exit", ["reward", "free_item", "points_gift", "coin_payment"])
def test_a_dependent_takes_nothing_when_the_holder_is_blocked(shop, exit):
    holder = _member(shop)
    Membership.objects.filter(pk=holder.pk).update(redeem_policy="all")
    holder.refresh_from_db()
    dependent = testing.make_customer(shop).membership
    customers.set_card(dependent, holder=holder)
    coins.earn_coins(merchant=shop.merchant, customer=dependent.customer, amount=Decimal(1000))
    customers.block_membership(holder, "Deuda")
    dependent = Membership.objects.select_related("customer", "merchant", "holder").get(
        pk=dependent.pk
    )
    take = _every_exit(shop, dependent)[exit]
    with pytest.raises(errors.CustomerBlocked):
        take()


def test_a_coin_payment_at_a_merchant_the_customer_never_joined_checks_that_merchants_rule(
    shop,
):
    """Coins are the network's: a stranger to this acceptor may pay, if the profile is complete
    by this merchant's rule (a Brazilian acceptor asks CEP and address)."""
    membership = _member(shop)
    # Brazil's registration rule, in the network's currency (N5: no acceptor in another one).
    acceptor = testing.make_merchant("Loja", country="BR", currency="COP", coin_acceptor=True)
    assert acceptor.merchant.asks_postal_code and acceptor.merchant.asks_address
    customer = Customer.objects.get(pk=membership.customer_id)
    with pytest.raises(errors.ProfileIncomplete) as refused:
        coins.pay_with_coins(merchant=acceptor.merchant, customer=customer, coins=5)
    assert refused.value.extra["missing_fields"] == ["postal_code", "address"]
    customers.update_profile(customer, {"postal_code": "01310-100", "address": "Av. Paulista 1"})
    paid = coins.pay_with_coins(merchant=acceptor.merchant, customer=customer, coins=5)
    assert paid.points == 5


def test_the_gate_names_the_exit_it_refused(shop):
    membership = _member(shop, complete=False)
    with pytest.raises(errors.ProfileIncomplete) as refused:
        gate.check_exit(membership, gate.Exit.GIFT)
    assert refused.value.extra["exit"] == "gift"
