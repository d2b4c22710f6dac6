"""The customer's own API for ratings, donations, coin vouchers and privacy: shapes and codes,
another customer's objects 404, a staff token refused."""

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from lealtad.app.models import CustomerSession
from lealtad.app.testing import bearer
from lealtad.coins import causes, vouchers
from lealtad.coins.models import CoinVoucher
from lealtad.coins.tests.promo_helpers import acceptor, customer_with_coins, promotion
from lealtad.core import testing
from lealtad.customers.models import ConsentRecord, Customer
from lealtad.ledger import actions as ledger
from lealtad.ratings import actions as ratings

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    return acceptor()


@pytest.fixture
def ana(shop):
    return customer_with_coins(shop, amount=300)


@pytest.fixture
def api(ana):
    client = Client(headers=bearer(ana))
    return client


def visit(shop, customer):
    return ledger.accrue_points(
        merchant=shop.merchant,
        customer=customer,
        amount=Decimal(20_000),
        branch=shop.branch,
        invoice_number=f"F-{timezone.now().timestamp()}",
        now=timezone.now() - dt.timedelta(hours=1),
    ).transaction


def post(client, url, body):
    return client.post(url, body, content_type="application/json")


def test_rating_201_again_409_and_anothers_404(api, shop, ana):
    txn = visit(shop, ana)
    listed = api.get("/api/v1/me/ratings/visits").json()
    assert [v["transaction_id"] for v in listed] == [str(txn.pk)]
    body = {"transaction_id": str(txn.pk), "score": 8, "comment": "Bien"}
    created = post(api, "/api/v1/me/ratings", body)
    assert created.status_code == 201
    data = created.json()
    assert (data["score"], data["comment"], data["messages"]) == (8, "Bien", [])
    again = post(api, "/api/v1/me/ratings", body)
    assert again.status_code == 409 and again.json()["code"] == "already_rated"
    bea = testing.make_customer(shop).customer
    theirs = post(
        api, "/api/v1/me/ratings", {"transaction_id": str(visit(shop, bea).pk), "score": 5}
    )
    assert theirs.status_code == 404 and theirs["Content-Type"] == "application/problem+json"
    bad = post(api, "/api/v1/me/ratings", {"transaction_id": str(txn.pk), "score": "7"})
    assert bad.status_code == 422


def test_ratings_list_has_the_replies_and_the_customer_answers(api, shop, ana):
    rating = ratings.rate_visit(visit(shop, ana), score=3, customer=ana)
    ratings.reply(rating, body="¿Qué pasó?", staff=shop.admin)
    rows = api.get("/api/v1/me/ratings").json()
    assert rows[0]["unread"] == 1 and rows[0]["messages"][0]["author"] == "merchant"
    opened = api.get(f"/api/v1/me/ratings/{rating.pk}").json()
    assert opened["messages"][0]["body"] == "¿Qué pasó?"
    assert api.get("/api/v1/me/ratings").json()[0]["unread"] == 0
    answered = post(api, f"/api/v1/me/ratings/{rating.pk}/messages", {"body": "Tardaron"})
    assert answered.status_code == 201 and answered.json()["messages"][-1]["author"] == "customer"
    other = Client(headers=bearer(testing.make_customer(shop).customer))
    assert other.get(f"/api/v1/me/ratings/{rating.pk}").status_code == 404
    assert post(other, f"/api/v1/me/ratings/{rating.pk}/messages", {"body": "x"}).status_code == 404
    assert other.get("/api/v1/me/ratings").json() == []


def test_donation_201_and_insufficient_422(api, ana):
    trees = causes.create_cause("Árboles")
    assert [c["name"] for c in api.get("/api/v1/me/causes").json()] == ["Árboles"]
    given = post(api, "/api/v1/me/donations", {"cause_id": trees.pk, "coins": 100})
    assert given.status_code == 201
    assert given.json()["coins"] == 100 and given.json()["balance"]["available"] == 200
    short = post(api, "/api/v1/me/donations", {"cause_id": trees.pk, "coins": 1000})
    assert short.status_code == 422 and short.json()["code"] == "insufficient_coins"
    for unknown in (999, 10**30, -1, "abc"):
        assert (
            post(api, "/api/v1/me/donations", {"cause_id": unknown, "coins": 1}).status_code == 404
        )
    huge = post(api, "/api/v1/me/donations", {"cause_id": trees.pk, "coins": 10**30})
    assert huge.status_code == 422
    assert post(api, "/api/v1/me/donations", {"cause_id": trees.pk, "coins": 0}).status_code == 422


def test_coin_products_and_vouchers(api, shop, ana):
    book = promotion(shop, price=100, name="Libro")
    assert [p["name"] for p in api.get("/api/v1/me/coin-products").json()] == ["Libro"]
    bought = post(api, "/api/v1/me/coin-vouchers", {"promotion_id": str(book.pk)})
    assert bought.status_code == 201
    data = bought.json()
    voucher = CoinVoucher.objects.get()
    assert data["code"] == vouchers.display(voucher.code) and "<svg" in data["qr_svg"]
    assert data["coins"] == 100 and data["handed_over_at"] is None
    assert api.get("/api/v1/me/coin-vouchers").json()[0]["id"] == str(voucher.pk)
    dear = promotion(shop, price=10_000)
    refused = post(api, "/api/v1/me/coin-vouchers", {"promotion_id": str(dear.pk)})
    assert refused.status_code == 422 and refused.json()["code"] == "insufficient_coins"
    other = Client(headers=bearer(customer_with_coins(shop, amount=0)))
    assert other.get(f"/api/v1/me/coin-vouchers/{voucher.pk}").status_code == 404


def test_consent_export_and_close(api, shop, ana):
    rows = api.get("/api/v1/me/consents").json()
    assert shop.merchant.name in [r["merchant"]["name"] for r in rows]
    url = f"/api/v1/me/consents/{shop.merchant.pk}"
    set_on = api.put(url, {"given": True}, content_type="application/json")
    assert set_on.status_code == 200 and set_on.json()["marketing_consent"] is True
    assert ConsentRecord.objects.filter(channel="app", given=True).exists()
    stranger = testing.make_merchant("Ajena")
    assert (
        api.put(
            f"/api/v1/me/consents/{stranger.merchant.pk}",
            {"given": True},
            content_type="application/json",
        ).status_code
        == 404
    )
    export = api.get("/api/v1/me/export").json()
    assert export["customer"]["id"] == str(ana.pk) and len(export["memberships"]) == 2
    wrong = post(api, "/api/v1/me/close", {"confirm": "nope"})
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "confirm"
    closed = post(api, "/api/v1/me/close", {"confirm": "CLOSE"})
    assert closed.status_code == 200
    assert Customer.objects.get(pk=ana.pk).anonymised_at is not None
    assert not CustomerSession.objects.filter(customer=ana, revoked_at__isnull=True).exists()
    assert api.get("/api/v1/me/ratings").status_code == 401


def test_a_staff_token_does_not_reach_them(shop):
    staff = Client(headers={"Authorization": f"Bearer {testing.token_for(shop.admin)}"})
    for url in ("/api/v1/me/ratings", "/api/v1/me/coin-vouchers", "/api/v1/me/export"):
        assert staff.get(url).status_code in (401, 403)
    assert Client().get("/api/v1/me/ratings").status_code == 401


NASTY = ["\x00", "a\x00b", "x" * 100_000, "", " ", "-1", "9" * 400, 0, -1, 2**63, 10**40, 1.5]
NASTY += [True, None, [], {}, "🎉" * 50, "00000000-0000-0000-0000-000000000000"]


def test_nasty_values_in_every_field_never_5xx(api, shop, ana):
    txn = visit(shop, ana)
    rating = ratings.rate_visit(visit(shop, ana), score=5, customer=ana)
    cause = causes.create_cause("Árboles")
    book = promotion(shop, price=10)
    calls = [
        ("post", "/api/v1/me/ratings", {"transaction_id": str(txn.pk), "score": 5, "comment": ""}),
        ("post", f"/api/v1/me/ratings/{rating.pk}/messages", {"body": "hola"}),
        ("post", "/api/v1/me/donations", {"cause_id": cause.pk, "coins": 1}),
        ("post", "/api/v1/me/coin-vouchers", {"promotion_id": str(book.pk)}),
        ("put", f"/api/v1/me/consents/{shop.merchant.pk}", {"given": True}),
        ("post", "/api/v1/me/close", {"confirm": "no"}),
    ]
    for method, url, good in calls:
        for field in good:
            for value in NASTY:
                body = {**good, field: value}
                response = getattr(api, method)(url, body, content_type="application/json")
                assert response.status_code < 500, (url, field, value)
                if response.status_code >= 400:
                    assert response["Content-Type"] == "application/problem+json", (url, value)
    for bad in ("\x00", "9" * 400, "..", "00000000-0000-0000-0000-000000000000"):
        for url in ("/api/v1/me/ratings/{}", "/api/v1/me/coin-vouchers/{}"):
            assert api.get(url.format(bad)).status_code in (404, 422)
        response = api.put(f"/api/v1/me/consents/{bad}", {"given": True}, "application/json")
        assert response.status_code in (404, 422)
    assert Customer.objects.get(pk=ana.pk).anonymised_at is None
