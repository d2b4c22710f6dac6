"""At the till: the promotions this customer may take and their gifts, in one request each."""

from decimal import Decimal

import pytest
from django.test import Client

from lealtad.core import testing
from lealtad.ledger.models import Account, Transaction
from lealtad.offers import actions as offers
from lealtad.offers.models import GiftOffer, GiftStatus, PromotionUse, Target

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    return testing.make_merchant()


@pytest.fixture
def till(shop):
    client = Client()
    client.force_login(testing.make_cashier(shop))
    return client


@pytest.fixture
def member(shop):
    return testing.make_customer(shop).membership


def page_of(till, member):
    return till.get(f"/cashier/c/{member.customer_id}/").content.decode()


def test_the_cashier_sees_only_this_customers_promotions(till, shop, member):
    testing.make_promotion(shop, "bonus", bonus_points=5, name="Cinco más")
    testing.make_promotion(shop, "free_item", item="Galleta", name="Galleta gratis")
    someone = testing.make_customer(shop).membership
    testing.make_promotion(
        shop,
        "bonus",
        bonus_points=9,
        name="Solo para otro",
        target=Target.CUSTOMERS,
        members=[someone],
    )
    page = page_of(till, member)
    assert "Cinco más" in page and "Galleta gratis" in page
    assert "Solo para otro" not in page


def test_accrual_shows_the_bonus(till, shop, member):
    testing.make_promotion(shop, "multiplier", multiplier=Decimal("2"), name="Doble")
    page = till.post(
        f"/cashier/c/{member.customer_id}/accrue/", {"amount": "10.000"}
    ).content.decode()
    assert "+20" in page and "Doble" in page


def test_special_price_in_the_prize_list_and_redeemed_at_it(till, shop, member):
    reward = testing.make_reward(shop, cost=100, name="Torta")
    promo = testing.make_promotion(
        shop, "special_price", reward=reward, special_price=30, name="Torta a mitad"
    )
    till.post(f"/cashier/c/{member.customer_id}/accrue/", {"amount": "50.000"})
    page = page_of(till, member)
    assert '<s class="was">100</s> 30 pts' in page
    confirm = till.get(f"/cashier/c/{member.customer_id}/redeem/{reward.pk}/").content.decode()
    assert f'name="promotion" value="{promo.pk}"' in confirm
    done = till.post(
        f"/cashier/c/{member.customer_id}/redeem/{reward.pk}/",
        {"token": "t1", "promotion": str(promo.pk)},
    ).content.decode()
    assert "Nuevo saldo: 20 puntos" in done
    assert Transaction.objects.get(kind="redemption").points == -30


def test_free_item_handed_over_once_per_token(till, shop, member):
    promo = testing.make_promotion(shop, "free_item", item="Galleta", uses_per_customer=1)
    url = f"/cashier/c/{member.customer_id}/promotion/{promo.pk}/"
    first = till.post(url, {"token": "abc"}).content.decode()
    again = till.post(url, {"token": "abc"}).content.decode()  # a double click
    assert "Entregado" in first and "Entregado" in again
    assert PromotionUse.objects.count() == 1
    refused = till.post(url, {"token": "other"}).content.decode()
    assert 'id="notice"' in refused
    assert till.get(url).status_code == 405


def test_gift_redeemed_at_the_till(till, shop, member):
    offer = offers.offer_gift(
        gift=testing.make_gift(shop, "points", points=40, name="Bono 40"), membership=member
    )
    page = page_of(till, member)
    assert "Bono 40" in page
    done = till.post(
        f"/cashier/c/{member.customer_id}/gift/{offer.pk}/", {"token": "g1"}
    ).content.decode()
    assert "Bono 40" in done and "Nuevo saldo: 40 puntos" in done
    assert Account.objects.get(pk=member.account_id).balance == 40
    offer.refresh_from_db()
    assert offer.status == GiftStatus.REDEEMED
    again = till.post(
        f"/cashier/c/{member.customer_id}/gift/{offer.pk}/", {"token": "g2"}
    ).content.decode()
    assert "ya fue canjeado" in again
    assert Account.objects.get(pk=member.account_id).balance == 40


def test_another_merchants_gift_is_404(till, shop, member):
    elsewhere = testing.make_merchant("Otra")
    stranger = testing.make_customer(elsewhere).membership
    offer = offers.offer_gift(gift=testing.make_gift(elsewhere), membership=stranger)
    response = till.post(f"/cashier/c/{member.customer_id}/gift/{offer.pk}/", {"token": "x"})
    assert 'id="notice"' in response.content.decode() or response.status_code == 404
    assert GiftOffer.objects.get().status == GiftStatus.OFFERED
