"""At the till, a blocked or incomplete customer takes no prize, free item or gift: the buttons
are off, the reason is said in the cashier's language with the fields by their labels, and a
request sent anyway hands nothing over."""

import pytest
from django.test import Client

from lealtad.core import testing
from lealtad.customers import actions as customers
from lealtad.ledger import actions as ledger
from lealtad.ledger.models import Transaction
from lealtad.offers import actions as offers
from lealtad.offers.models import GiftOffer, GiftStatus, PromotionUse

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    return testing.make_merchant()


def _till(shop, language="es"):
    client = Client()
    client.cookies["django_language"] = language
    client.force_login(testing.make_cashier(shop))
    return client


def _with_offers(shop, membership):
    import datetime as dt

    ledger.credit_bonus(membership, 100, "start", shop.branch, None, dt.datetime.now(dt.UTC))
    reward = testing.make_reward(shop, cost=10, name="Café gratis")
    free = testing.make_promotion(shop, "free_item", item="Galleta", name="Galleta gratis")
    offer = offers.offer_gift(gift=testing.make_gift(shop, points=5), membership=membership)
    return reward, free, offer


def _taken(membership):
    return (
        PromotionUse.objects.filter(membership=membership).count(),
        GiftOffer.objects.filter(membership=membership, status=GiftStatus.REDEEMED).count(),
        Transaction.objects.filter(customer_id=membership.customer_id, kind="redemption").count(),
    )


def _post_every_exit(till, membership, reward, free, offer):
    cid = membership.customer_id
    return [
        till.post(f"/cashier/c/{cid}/promotion/{free.pk}/", {"token": "t1"}),
        till.post(f"/cashier/c/{cid}/gift/{offer.pk}/", {"token": "t2"}),
        till.post(f"/cashier/c/{cid}/redeem/{reward.pk}/", {"token": "t3"}),
    ]


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("es", "nombres, apellidos, género, fecha de nacimiento, celular"),
        ("pt-br", "nomes, sobrenomes, gênero, data de nascimento, celular"),
        ("en", "first names, last names, gender, birth date, mobile"),
    ],
)
def test_an_incomplete_profile_takes_nothing_and_the_till_names_the_missing_fields(
    shop, language, said
):
    membership = testing.make_customer(shop, complete=False).membership
    reward, free, offer = _with_offers(shop, membership)
    till = _till(shop, language)
    page = till.get(f"/cashier/c/{membership.customer_id}/").content.decode()
    assert said in page
    assert "first_name" not in page
    assert page.count("disabled>") >= 2  # the free item's and the gift's buttons
    for answer in _post_every_exit(till, membership, reward, free, offer):
        assert answer.status_code == 200
        assert said in answer.content.decode()
    assert _taken(membership) == (0, 0, 0)


def test_a_customer_blocked_here_takes_no_free_item_or_gift(shop):
    membership = testing.make_customer(shop).membership
    reward, free, offer = _with_offers(shop, membership)
    customers.block_membership(membership, "Reclamo en revisión")
    till = _till(shop)
    for answer in _post_every_exit(till, membership, reward, free, offer):
        assert "Reclamo en revisión" in answer.content.decode()
    assert _taken(membership) == (0, 0, 0)
    customers.unblock_membership(membership)
    cid = membership.customer_id
    till.post(f"/cashier/c/{cid}/promotion/{free.pk}/", {"token": "t4"})
    till.post(f"/cashier/c/{cid}/gift/{offer.pk}/", {"token": "t5"})
    assert _taken(membership) == (1, 1, 0)
