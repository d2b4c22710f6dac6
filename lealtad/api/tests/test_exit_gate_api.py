"""Every way out through the API — prizes, free items, gifts — answers a blocked, suspended or
incomplete customer with the same problem+json, and moves nothing."""

import pytest

from lealtad.api.tests.test_api import problem_of
from lealtad.core import testing
from lealtad.customers import actions as customers
from lealtad.offers import actions as offers
from lealtad.offers.models import GiftOffer, GiftStatus, PromotionUse

pytestmark = pytest.mark.django_db


def _exits(shop, membership):
    reward = testing.make_reward(shop, cost=1)
    free = testing.make_promotion(shop, "free_item", item="Galleta")
    offer = offers.offer_gift(gift=testing.make_gift(shop, points=5), membership=membership)
    cid = str(membership.customer_id)
    return {
        "reward": ("/redemptions", {"customer_id": cid, "reward_id": str(reward.pk)}),
        "free_item": (f"/promotions/{free.pk}/uses", {"customer_id": cid}),
        "gift": (f"/gift-offers/{offer.pk}/redemption", {"customer_id": cid}),
    }


def _accrued(api, membership):
    body = {"customer_id": str(membership.customer_id), "amount": "50000"}
    assert api.post("/accruals", body).status_code == 201


def _nothing_taken(membership):
    assert not PromotionUse.objects.filter(membership=membership).exists()
    assert not GiftOffer.objects.filter(membership=membership, status=GiftStatus.REDEEMED).exists()


@pytest.mark.parametrize("exit", ["reward", "free_item", "gift"])
def test_an_incomplete_profile_is_refused_at_every_exit_with_the_missing_fields(
    cashier_api, alice_shop, exit
):
    membership = testing.make_customer(alice_shop, complete=False).membership
    _accrued(cashier_api, membership)
    path, body = _exits(alice_shop, membership)[exit]
    refused = problem_of(cashier_api.post(path, body), 422, "profile_incomplete")
    assert refused["missing_fields"] == [
        "first_name",
        "last_name",
        "gender",
        "birth_date",
        "mobile",
    ]
    assert refused["missing_labels"][0] == "nombres"
    _nothing_taken(membership)


@pytest.mark.parametrize("exit", ["reward", "free_item", "gift"])
def test_a_blocked_customer_is_refused_at_every_exit(cashier_api, alice_shop, exit):
    membership = testing.make_customer(alice_shop).membership
    _accrued(cashier_api, membership)
    path, body = _exits(alice_shop, membership)[exit]
    customers.block_membership(membership, "Reclamo en revisión")
    refused = problem_of(cashier_api.post(path, body), 403, "customer_blocked")
    assert refused["detail"] == "Reclamo en revisión"
    _nothing_taken(membership)


@pytest.mark.parametrize("exit", ["reward", "free_item", "gift"])
def test_a_suspended_customer_is_refused_at_every_exit(cashier_api, alice_shop, exit):
    membership = testing.make_customer(alice_shop).membership
    _accrued(cashier_api, membership)
    path, body = _exits(alice_shop, membership)[exit]
    customers.suspend_customer(membership.customer, "Llame al (+57) 3502118702")
    problem_of(cashier_api.post(path, body), 403, "customer_suspended")
    _nothing_taken(membership)


def test_free_item_and_gift_are_handed_over_once_per_idempotency_key(cashier_api, alice_shop):
    membership = testing.make_customer(alice_shop).membership
    exits = _exits(alice_shop, membership)
    path, body = exits["free_item"]
    first = cashier_api.post(path, body, **{"Idempotency-Key": "free-1"})
    assert first.status_code == 201 and first.json()["item"] == "Galleta"
    again = cashier_api.post(path, body, **{"Idempotency-Key": "free-1"})
    assert again.json() == first.json()
    assert PromotionUse.objects.filter(membership=membership).count() == 1
    path, body = exits["gift"]
    taken = cashier_api.post(path, body)
    assert taken.status_code == 201
    assert taken.json()["points"] == 5 and taken.json()["balance"]["available"] == 5
    problem_of(cashier_api.post(path, body), 409, "gift_unavailable")


def test_another_merchants_token_gets_404_for_free_items_and_gifts(
    cashier_api, other_api, alice_shop
):
    membership = testing.make_customer(alice_shop).membership
    for path, body in list(_exits(alice_shop, membership).values())[1:]:
        problem_of(other_api.post(path, body), 404, "not_found")
    _nothing_taken(membership)
