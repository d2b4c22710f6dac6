"""A7 in the console: the queue with its photos, approve and reject, the photo streamed only to
this merchant's admins (Charlie, who runs another merchant, and a cashier see nothing)."""

import pytest
from django.test import Client, TestCase

from lealtad.claims import actions
from lealtad.claims import testing as pictures
from lealtad.claims.models import ClaimStatus
from lealtad.core import testing
from lealtad.ledger.accrual import accrue_points
from lealtad.ledger.models import Account
from lealtad.offers.promotions import local_date

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path


@pytest.fixture
def shop():
    return testing.make_merchant("Café Aroma", admin="alice")


@pytest.fixture
def console(shop):
    client = Client()
    client.force_login(shop.admin)
    return client


@pytest.fixture
def claim(shop):
    from django.utils import timezone

    customer = testing.make_customer(shop).customer
    return actions.submit_claim(
        customer=customer,
        merchant_id=shop.merchant.pk,
        branch_id=shop.branch.pk,
        invoice_number="F-77",
        amount="25000",
        purchased_on=local_date(shop.merchant, timezone.now()),
        photo=pictures.photo("JPEG"),
    )


def test_the_queue_shows_the_claim_with_its_photo(console, claim):
    page = console.get("/console/claims/").content.decode()
    assert "Reclamos de compra" in page
    assert "F-77" in page and str(claim.customer) in page and "25.000" in page
    assert f"/console/claims/{claim.pk}/photo/" in page
    assert "/media/" not in page
    nav = console.get("/console/").content.decode()
    assert 'href="/console/claims/"' in nav


def test_the_photo_is_streamed_to_the_merchants_admin_only(console, claim, shop):
    response = console.get(f"/console/claims/{claim.pk}/photo/")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/webp"
    assert "no-store" in response["Cache-Control"]
    body = b"".join(response.streaming_content)
    assert body[:4] == b"RIFF" and b"PhoneMaker" not in body

    charlie = Client()
    charlie.force_login(testing.make_merchant("Otra").admin)
    cashier = Client()
    cashier.force_login(testing.make_cashier(shop))
    for client in (charlie, cashier):
        for suffix in ("", "photo/"):
            assert client.get(f"/console/claims/{claim.pk}/{suffix}").status_code == 404
        assert client.post(f"/console/claims/{claim.pk}/approve/").status_code == 404
        assert (
            client.post(f"/console/claims/{claim.pk}/reject/", {"reason": "x"}).status_code == 404
        )
    assert Client().get(f"/console/claims/{claim.pk}/photo/").status_code == 302  # sign in first
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.WAITING


def test_garbage_ids_are_not_found(console):
    for url in ("/console/claims/nope/", "/console/claims/nope/photo/"):
        assert console.get(url).status_code == 404
    assert console.post("/console/claims/nope/approve/").status_code == 404


def test_approve_accrues_and_leaves_the_queue(console, claim, shop):
    response = console.post(f"/console/claims/{claim.pk}/approve/", follow=True)
    assert "Reclamo aprobado: 25 puntos." in response.content.decode()
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.APPROVED and claim.decided_by == shop.admin
    assert Account.objects.get(merchant=shop.merchant, customer=claim.customer).balance == 25
    assert "F-77" not in console.get("/console/claims/").content.decode()
    assert "F-77" in console.get("/console/claims/?status=decided").content.decode()
    again = console.post(f"/console/claims/{claim.pk}/approve/", follow=True).content.decode()
    assert "ya fue" in again
    assert Account.objects.get(merchant=shop.merchant, customer=claim.customer).balance == 25


def test_reject_needs_a_reason_shown_next_to_the_field(console, claim):
    response = console.post(f"/console/claims/{claim.pk}/reject/", {"reason": " "})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="reason-error"' in page and "Este campo es obligatorio." in page
    response = console.post(
        f"/console/claims/{claim.pk}/reject/", {"reason": "La foto no se lee"}, follow=True
    )
    assert "Reclamo rechazado." in response.content.decode()
    claim.refresh_from_db()
    assert (claim.status, claim.reason) == ("rejected", "La foto no se lee")


def test_a_number_used_meanwhile_is_flagged_and_approval_refused(console, claim, shop):
    accrue_points(
        merchant=shop.merchant, customer=claim.customer, amount=25000, branch=shop.branch,
        invoice_number="f-77",
    )  # fmt: skip
    assert "Duplicada" in console.get("/console/claims/").content.decode()
    page = console.get(f"/console/claims/{claim.pk}/").content.decode()
    assert "se acumuló después" in page
    response = console.post(f"/console/claims/{claim.pk}/approve/", follow=True)
    assert "ya acumuló puntos" in response.content.decode()
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.WAITING


def test_anonymising_the_customer_erases_the_photo_file(console, claim, settings):
    from lealtad.customers.privacy import anonymise

    path = settings.PRIVATE_MEDIA_ROOT / claim.photo
    assert path.exists()
    with TestCase.captureOnCommitCallbacks(execute=True):
        anonymise(claim.customer)
    assert not path.exists()
    claim.refresh_from_db()
    assert claim.photo == "" and claim.invoice_number == "F-77"
    assert console.get(f"/console/claims/{claim.pk}/photo/").status_code == 404
    assert "Foto borrada" in console.get("/console/claims/").content.decode()
    assert (
        "se borró a pedido del cliente"
        in console.get(f"/console/claims/{claim.pk}/").content.decode()
    )


def test_the_operator_reads_claims_in_the_admin_without_the_photo(claim, db):
    from lealtad.network.models import User

    operator = User.objects.create_superuser("operator", "op@example.com", testing.PASSWORD)
    client = Client()
    client.force_login(operator)
    assert "F-77" in client.get("/admin/claims/claim/").content.decode()
    page = client.get(f"/admin/claims/claim/{claim.pk}/change/").content.decode()
    assert claim.photo not in page
