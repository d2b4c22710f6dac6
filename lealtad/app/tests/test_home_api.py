"""/api/v1/me/memberships, /me/movements, /me/qr, /me/payment-qr: the shapes of API.md Part 2,
only with a customer token, and nothing of another customer's."""

from decimal import Decimal

import pytest

from lealtad.api.tests.conftest import Api
from lealtad.app.testing import customer_token
from lealtad.coins import actions as coins
from lealtad.coins.qr import verify_payment_qr
from lealtad.core import testing
from lealtad.customers.actions import customer_id_from_qr
from lealtad.ledger import actions as ledger
from lealtad.offers.actions import offer_gift

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    aroma = testing.make_merchant("Aroma")
    alice = testing.make_customer(aroma)
    for n in range(30):
        ledger.accrue_points(
            merchant=aroma.merchant,
            customer=alice.customer,
            amount=Decimal(2_000),
            branch=aroma.branch,
            invoice_number=f"F-{n}",
        )
    reward = testing.make_reward(aroma, cost=100, name="Café grande")
    offer = offer_gift(
        gift=testing.make_gift(aroma, "points", points=5), membership=alice.membership
    )
    promo = testing.make_promotion(aroma, "bonus", bonus_points=3, name="Doble")
    bob = testing.make_customer(testing.make_merchant("Zeta"))
    return aroma, alice, bob, reward, offer, promo


def test_memberships_shape(world):
    aroma, alice, _bob, reward, offer, promo = world
    body = Api(customer_token(alice.customer)).get("/me/memberships").json()
    assert body["coins"] == {"available": 0, "held": 0, "expiring_30d": 0, "expiring_from": None}
    (m,) = body["results"]
    assert m["merchant"] == {"id": str(aroma.merchant.pk), "name": aroma.merchant.name}
    assert m["points"]["available"] == 60 and m["points"]["pending"] == 0
    assert m["prizes"] == [
        {
            "id": str(reward.pk),
            "name": "Café grande",
            "description": "",
            "points_cost": 100,
            "stock": None,
            "affordable": False,
            "points_missing": 40,
        }
    ]
    assert [p["id"] for p in m["promotions"]] == [str(promo.pk)]
    assert m["gifts"][0]["id"] == str(offer.pk) and m["gifts"][0]["acceptable_in_app"] is True
    assert m["claimed"] == []


def test_movements_pages_with_the_running_balance(world):
    aroma, alice, _bob, *_ = world
    api = Api(customer_token(alice.customer))
    first = api.get("/me/movements", {"merchant_id": str(aroma.merchant.pk)}).json()
    assert len(first["results"]) == 25 and first["next_page"] == 2 and first["page"] == 1
    assert first["results"][0]["balance"] == 60 and first["results"][0]["points"] == 2
    assert set(first["results"][0]) == {"id", "at", "kind", "label", "points", "balance", "place"}
    second = api.get("/me/movements", {"merchant_id": str(aroma.merchant.pk), "page": 2}).json()
    assert [r["balance"] for r in second["results"]] == [10, 8, 6, 4, 2]
    assert second["next_page"] is None


def test_coin_movements(world):
    _aroma, alice, _bob, *_ = world
    issuer = testing.make_merchant("Emisor", coin_issuer=True, cashback_rate="0.1")
    coins.earn_coins(merchant=issuer.merchant, customer=alice.customer, amount=Decimal(5000))
    body = Api(customer_token(alice.customer)).get("/me/movements", {"coins": "true"}).json()
    assert [(r["points"], r["balance"], r["place"]) for r in body["results"]] == [
        (500, 500, issuer.merchant.name)
    ]


def test_another_customers_merchant_is_404_and_no_filter_is_404(world):
    aroma, _alice, bob, *_ = world
    api = Api(customer_token(bob.customer))
    response = api.get("/me/movements", {"merchant_id": str(aroma.merchant.pk)})
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert api.get("/me/movements", {"merchant_id": "x"}).status_code == 404
    assert api.get("/me/movements").status_code == 404
    assert api.get("/me/movements", {"coins": "true", "page": 0}).status_code == 422
    assert api.get("/me/memberships").json()["results"][0]["merchant"]["name"] != (
        aroma.merchant.name
    )


def test_qr_and_payment_qr(world):
    _aroma, alice, _bob, *_ = world
    api = Api(customer_token(alice.customer))
    qr = api.get("/me/qr").json()
    assert customer_id_from_qr(qr["payload"])[0] == alice.customer.pk.hex
    assert qr["svg"].startswith("<svg")
    none = api.get("/me/payment-qr")
    assert none.status_code == 422 and none.json()["code"] == "insufficient_coins"
    issuer = testing.make_merchant("Emisor", coin_issuer=True, cashback_rate="0.1")
    coins.earn_coins(merchant=issuer.merchant, customer=alice.customer, amount=Decimal(5000))
    pay = api.get("/me/payment-qr").json()
    assert set(pay) == {"payload", "svg", "expires_at"}
    assert verify_payment_qr(pay["payload"], alice.customer)


def test_me_endpoints_refuse_staff_and_anonymous(world):
    aroma, *_ = world
    staff = Api(testing.token_for(aroma.admin))
    anon = Api()
    for path in ("/me/memberships", "/me/movements?coins=true", "/me/qr", "/me/payment-qr"):
        assert staff.get(path).status_code in (401, 403), path
        assert anon.get(path).status_code == 401, path
