"""A7 through the customer's own API: POST /me/claims (multipart) → 201, or 422 problem+json
with a stable code; GET /me/claims with the answers; nobody else's claim (404), no staff token."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from lealtad.app.testing import bearer
from lealtad.claims import actions
from lealtad.claims import testing as pictures
from lealtad.claims.models import Claim
from lealtad.core import testing
from lealtad.offers.promotions import local_date

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path


@pytest.fixture
def shop():
    return testing.make_merchant("Café Aroma")


@pytest.fixture
def ana(shop):
    return testing.make_customer(shop).customer


def body(shop, **change):
    data = {
        "merchant_id": str(shop.merchant.pk),
        "branch_id": str(shop.branch.pk),
        "invoice_number": "F-1001",
        "amount": "25000.00",
        "purchased_on": local_date(shop.merchant, timezone.now()).isoformat(),
        "photo": SimpleUploadedFile("IMG_0001.HEIC", pictures.photo("HEIF"), "image/heic"),
    }
    data.update(change)
    return {k: v for k, v in data.items() if v is not None}


def post(customer, data, headers=None):
    return Client().post("/api/v1/me/claims", data, headers=headers or bearer(customer))


def test_a_claim_is_created_from_a_heic_photo(shop, ana):
    response = post(ana, body(shop))
    assert response.status_code == 201, response.content
    got = response.json()
    assert (got["status"], got["invoice_number"], got["amount"], got["currency"]) == (
        "waiting",
        "F-1001",
        "25000.00",
        "COP",
    )
    assert got["merchant_id"] == str(shop.merchant.pk) and got["points"] == 0
    claim = Claim.objects.get(pk=got["id"])
    assert claim.customer == ana and claim.photo.endswith(".webp")


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"photo": SimpleUploadedFile("a.jpg", pictures.text_file())}, "invalid_image", "photo"),
        ({"photo": SimpleUploadedFile("b.png", pictures.png_bomb())}, "invalid_image", "photo"),
        (
            {"photo": SimpleUploadedFile("c.jpg", pictures.nine_megabytes())},
            "image_too_large",
            "photo",
        ),
        ({"photo": None}, "invalid_image", "photo"),
        ({"amount": "25,5"}, "validation_error", "amount"),
        ({"purchased_on": "ayer"}, "validation_error", "purchased_on"),
        ({"purchased_on": "2999-01-01"}, "validation_error", "purchased_on"),
        ({"merchant_id": "nope"}, "validation_error", "merchant"),
        ({"invoice_number": "F\x00-1"}, "validation_error", "invoice_number"),
        ({"invoice_number": None}, "validation_error", "invoice_number"),
    ],
)
def test_refusals_are_422_problems_with_a_code(shop, ana, change, code, field):
    response = post(ana, body(shop, **change))
    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == code
    assert problem["errors"][0]["field"] == field
    assert not Claim.objects.exists()


def test_a_duplicate_invoice_is_422_duplicate_invoice(shop, ana):
    assert post(ana, body(shop)).status_code == 201
    again = post(ana, body(shop, invoice_number=" f-1001"))
    assert again.status_code == 422 and again.json()["code"] == "duplicate_invoice"
    assert Claim.objects.count() == 1


def test_the_list_shows_the_answers(shop, ana):
    first = post(ana, body(shop)).json()
    second = post(ana, body(shop, invoice_number="F-2")).json()
    actions.approve_claim(merchant=shop.merchant, claim_id=first["id"])
    actions.reject_claim(merchant=shop.merchant, claim_id=second["id"], reason="Ilegible")
    listed = Client().get("/api/v1/me/claims", headers=bearer(ana)).json()["results"]
    by_id = {c["id"]: c for c in listed}
    assert (by_id[first["id"]]["status"], by_id[first["id"]]["points"]) == ("approved", 25)
    assert by_id[first["id"]]["transaction_id"]
    assert (by_id[second["id"]]["status"], by_id[second["id"]]["reason"]) == (
        "rejected",
        "Ilegible",
    )


def test_another_customer_gets_404_and_an_empty_list(shop, ana):
    made = post(ana, body(shop)).json()
    bea = testing.make_customer(shop).customer
    assert Client().get(f"/api/v1/me/claims/{made['id']}", headers=bearer(bea)).status_code == 404
    assert Client().get("/api/v1/me/claims", headers=bearer(bea)).json() == {"results": []}
    mine = Client().get(f"/api/v1/me/claims/{made['id']}", headers=bearer(ana))
    assert mine.status_code == 200 and mine.json()["id"] == made["id"]


def test_no_customer_token_no_claim(shop, ana):
    staff = {"Authorization": f"Bearer {testing.token_for(shop.admin)}"}
    for headers in ({}, staff, {"Authorization": "Bearer nonsense"}):
        response = Client().post("/api/v1/me/claims", body(shop), headers=headers)
        assert response.status_code in (401, 403), response.content
        assert response["Content-Type"] == "application/problem+json"
        assert Client().get("/api/v1/me/claims", headers=headers).status_code in (401, 403)
    assert not Claim.objects.exists()


def test_a_body_over_the_multipart_limit_is_413(shop, ana):
    from lealtad.core.middleware import InputGuardMiddleware

    big = b"\0" * (InputGuardMiddleware.MULTIPART_MAX_BYTES + 1)
    response = post(ana, body(shop, photo=SimpleUploadedFile("x.jpg", big)))
    assert response.status_code == 413 and response.json()["code"] == "payload_too_large"
