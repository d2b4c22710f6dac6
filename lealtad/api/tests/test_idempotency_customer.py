"""Idempotency-Key on the customer's own API (/api/v1/me*): the same rule and the same code path
as the merchant endpoints (lealtad/api/idempotency.py), the key owned by the customer."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.test import Client
from django.test.client import encode_multipart
from django.utils import timezone

from lealtad.api.models import IdempotencyRecord
from lealtad.app.testing import bearer, customer_token
from lealtad.claims import testing as pictures
from lealtad.claims.models import Claim
from lealtad.coins import causes
from lealtad.coins.actions import wallet_of
from lealtad.coins.models import CoinVoucher, Donation
from lealtad.coins.tests.promo_helpers import acceptor, customer_with_coins, promotion
from lealtad.core import testing
from lealtad.ledger import actions as ledger
from lealtad.offers.promotions import local_date

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    return acceptor()


@pytest.fixture
def ana(shop):
    return customer_with_coins(shop, amount=300)


@pytest.fixture
def trees():
    return causes.create_cause("Árboles")


def post(customer, url, body, key, token=None):
    headers = {"Authorization": f"Bearer {token or customer_token(customer)}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return Client(headers=headers).post(url, body, content_type="application/json")


def available(customer) -> int:
    return wallet_of(customer)["available"]


def test_a_repeated_donation_is_answered_from_the_first_and_moves_nothing(ana, trees):
    body = {"cause_id": trees.pk, "coins": 100}
    first = post(ana, "/api/v1/me/donations", body, "don-1")
    assert first.status_code == 201, first.content
    assert available(ana) == 200
    # Another token of the same customer (signed in again): the key is the customer's.
    again = post(ana, "/api/v1/me/donations", body, "don-1")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert available(ana) == 200 and Donation.objects.count() == 1
    # The same JSON spelt otherwise is the same request.
    raw = Client(headers={**bearer(ana), "Idempotency-Key": "don-1"}).post(
        "/api/v1/me/donations",
        f'{{ "coins": 100,   "cause_id": {trees.pk} }}',
        content_type="application/json",
    )
    assert raw.status_code == 201 and raw["Idempotent-Replayed"] == "true"
    # No key: a second, real donation.
    assert post(ana, "/api/v1/me/donations", body, None).status_code == 201
    assert available(ana) == 100 and Donation.objects.count() == 2


def test_the_same_key_with_another_body_is_422_and_moves_nothing(ana, trees):
    first = post(ana, "/api/v1/me/donations", {"cause_id": trees.pk, "coins": 100}, "k")
    assert first.status_code == 201
    other = post(ana, "/api/v1/me/donations", {"cause_id": trees.pk, "coins": 50}, "k")
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert other["Content-Type"] == "application/problem+json"
    # The same key on another endpoint is another request too.
    book = promotion(acceptor(), price=10)
    elsewhere = post(ana, "/api/v1/me/coin-vouchers", {"promotion_id": str(book.pk)}, "k")
    assert elsewhere.status_code == 422 and elsewhere.json()["code"] == "idempotency_key_reused"
    assert available(ana) == 200 and Donation.objects.count() == 1
    assert CoinVoucher.objects.count() == 0


def test_a_second_customer_with_the_same_key_is_independent(shop, ana, trees):
    bea = customer_with_coins(shop, amount=300)
    body = {"cause_id": trees.pk, "coins": 100}
    assert post(ana, "/api/v1/me/donations", body, "mine").status_code == 201
    theirs = post(bea, "/api/v1/me/donations", body, "mine")
    assert theirs.status_code == 201 and "Idempotent-Replayed" not in theirs
    assert (available(ana), available(bea)) == (200, 200)
    bigger = post(bea, "/api/v1/me/donations", {"cause_id": trees.pk, "coins": 30}, "other")
    assert bigger.status_code == 201
    # Ana's key with Bea's other body is still only Ana's request.
    assert post(ana, "/api/v1/me/donations", body, "other").status_code == 201
    assert (available(ana), available(bea)) == (100, 170)
    owners = IdempotencyRecord.objects.values_list("customer_id", "merchant_id", "key")
    assert sorted(owners, key=str) == sorted(
        [
            (ana.pk, None, "mine"),
            (bea.pk, None, "mine"),
            (bea.pk, None, "other"),
            (ana.pk, None, "other"),
        ],
        key=str,
    )


def test_buying_a_coin_product_twice_with_one_key_buys_one(shop, ana):
    book = promotion(shop, price=100, stock=5)
    first = post(ana, "/api/v1/me/coin-vouchers", {"promotion_id": str(book.pk)}, "buy-1")
    assert first.status_code == 201, first.content
    again = post(ana, "/api/v1/me/coin-vouchers", {"promotion_id": str(book.pk)}, "buy-1")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json()["code"] == first.json()["code"]
    assert CoinVoucher.objects.count() == 1 and available(ana) == 200


def test_a_refusal_is_replayed_too_and_moves_nothing(shop, ana):
    dear = promotion(shop, price=10_000)
    refused = post(ana, "/api/v1/me/coin-vouchers", {"promotion_id": str(dear.pk)}, "dear")
    assert refused.status_code == 422 and refused.json()["code"] == "insufficient_coins"
    again = post(ana, "/api/v1/me/coin-vouchers", {"promotion_id": str(dear.pk)}, "dear")
    assert again.status_code == 422 and again["Idempotent-Replayed"] == "true"
    assert available(ana) == 300


def test_a_rating_sent_twice_with_one_key_is_one_rating(shop, ana):
    from lealtad.ratings.models import Rating

    txn = ledger.accrue_points(
        merchant=shop.merchant,
        customer=ana,
        amount=Decimal(20_000),
        branch=shop.branch,
        invoice_number="F-1",
        now=timezone.now() - dt.timedelta(hours=1),
    ).transaction
    body = {"transaction_id": str(txn.pk), "score": 9, "comment": "Muy bien"}
    first = post(ana, "/api/v1/me/ratings", body, "rate-1")
    assert first.status_code == 201, first.content
    again = post(ana, "/api/v1/me/ratings", body, "rate-1")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    # Without the key the endpoint itself refuses a second rating.
    assert post(ana, "/api/v1/me/ratings", body, None).json()["code"] == "already_rated"
    assert Rating.objects.count() == 1


def claim_body(shop, photo: bytes) -> dict:
    return {
        "merchant_id": str(shop.merchant.pk),
        "branch_id": str(shop.branch.pk),
        "invoice_number": "F-1001",
        "amount": "25000.00",
        "purchased_on": local_date(shop.merchant, timezone.now()).isoformat(),
        "photo": SimpleUploadedFile("IMG_0001.JPG", photo, "image/jpeg"),
    }


def send_claim(customer, data, key, boundary):
    """A multipart POST with a boundary of our own: a client's retry has a new one."""
    return Client().post(
        "/api/v1/me/claims",
        encode_multipart(boundary, data),
        content_type=f"multipart/form-data; boundary={boundary}",
        headers={**bearer(customer), "Idempotency-Key": key},
    )


def test_a_claim_retried_with_a_new_boundary_is_one_claim(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    shop = testing.make_merchant("Café Aroma")
    ana = testing.make_customer(shop).customer
    photo = pictures.photo("JPEG")
    first = send_claim(ana, claim_body(shop, photo), "claim-1", "BoUnDaRy-one")
    assert first.status_code == 201, first.content
    again = send_claim(ana, claim_body(shop, photo), "claim-1", "another-BoUnDaRy-2")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Claim.objects.count() == 1
    # Another photo under the same key is another request.
    other = send_claim(ana, claim_body(shop, pictures.photo("PNG")), "claim-1", "b3")
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert Claim.objects.count() == 1


def test_the_wrong_credentials_are_left_to_the_endpoint_and_record_nothing(shop, ana, trees):
    body = {"cause_id": trees.pk, "coins": 10}
    staff = Client(headers={"Authorization": f"Bearer {shop.api_key}", "Idempotency-Key": "x"})
    assert staff.post("/api/v1/me/donations", body, "application/json").status_code == 401
    nobody = Client(headers={"Idempotency-Key": "x"})
    assert nobody.post("/api/v1/me/donations", body, "application/json").status_code == 401
    customer_on_merchant = Client(headers={**bearer(ana), "Idempotency-Key": "x"})
    refused = customer_on_merchant.post(
        "/api/v1/accruals", {"customer_id": str(ana.pk), "amount": "1000"}, "application/json"
    )
    assert refused.status_code == 403 and refused.json()["code"] == "customer_token"
    assert not IdempotencyRecord.objects.exists()
    too_long = post(ana, "/api/v1/me/donations", body, "x" * 256)
    assert too_long.status_code == 422 and too_long.json()["code"] == "validation_error"
    assert available(ana) == 300


def test_a_record_has_exactly_one_owner(shop, ana):
    fields = {
        "key": "k",
        "method": "POST",
        "path": "/api/v1/me/donations",
        "request_hash": "0" * 64,
        "created_at": timezone.now(),
    }
    for owners in ({}, {"merchant": shop.merchant, "customer": ana}):
        with pytest.raises(IntegrityError), transaction.atomic():
            IdempotencyRecord.objects.create(**owners, **fields)
    IdempotencyRecord.objects.create(customer=ana, credential=f"customer:{ana.pk}", **fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        IdempotencyRecord.objects.create(customer=ana, credential=f"customer:{ana.pk}", **fields)


def test_the_schema_documents_the_header_on_merchant_and_customer_posts():
    schema = Client().get("/api/v1/openapi.json").json()

    def headers(path):
        operation = schema["paths"][path]["post"]
        return [p["name"] for p in operation.get("parameters", []) if p["in"] == "header"]

    for path in (
        "/api/v1/me/donations",
        "/api/v1/me/coin-vouchers",
        "/api/v1/me/ratings",
        "/api/v1/me/claims",
        "/api/v1/accruals",
        "/api/v1/coin-payments",
        "/api/v1/redemptions",
    ):
        assert headers(path) == ["Idempotency-Key"], path
    assert headers("/api/v1/me/close") == []
    assert headers("/api/v1/auth/customer/token") == []
    described = schema["paths"]["/api/v1/me/donations"]["post"]["parameters"][-1]
    assert described["schema"]["maxLength"] == 255
    assert "idempotency_key_reused" in described["description"]


def test_anonymisation_deletes_the_customers_own_keys(shop, ana, trees):
    from lealtad.customers import privacy

    body = {"cause_id": trees.pk, "coins": 10}
    assert post(ana, "/api/v1/me/donations", body, "gone").status_code == 201
    bea = customer_with_coins(shop, amount=100)
    assert post(bea, "/api/v1/me/donations", body, "gone").status_code == 201
    report = privacy.anonymise(ana)
    assert report.api_replays_redacted == 1
    assert list(IdempotencyRecord.objects.values_list("customer_id", flat=True)) == [bea.pk]
