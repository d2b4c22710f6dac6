"""A7 in the customer's app: the form's errors next to their field, in Spanish; a claim sent
lands in the queue; the customer reads its answer; nobody else's claims are shown."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from lealtad.app.testing import sign_in
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


@pytest.fixture
def app(ana):
    client = Client()
    sign_in(client, ana)
    return client


def form(shop, **change):
    data = {
        "merchant": str(shop.merchant.pk),
        "branch": str(shop.branch.pk),
        "invoice_number": "F-1001",
        "amount": "25.000",  # as typed in Colombia
        "purchased_on": local_date(shop.merchant, timezone.now()).isoformat(),
        "photo": SimpleUploadedFile("factura.jpg", pictures.photo("JPEG"), "image/jpeg"),
    }
    data.update(change)
    return data


def error_of(page: str, field: str) -> str:
    import re

    match = re.search(rf'id="id_{field}_error"[^>]*>([^<]*)<', page)
    return match.group(1) if match else ""


def test_signing_in_is_needed(db):
    response = Client().get("/app/claims/new/")
    assert response.status_code == 302 and "/app/signin/" in response["Location"]


def test_the_form_lists_the_network_and_the_branches(app, shop):
    other = testing.make_merchant("Librería")
    page = app.get("/app/claims/new/").content.decode()
    assert "Reclamar una compra" in page
    assert shop.merchant.name in page and other.merchant.name in page
    assert page.index(shop.merchant.name) < page.index(other.merchant.name)  # hers first
    assert 'accept="image/jpeg,image/png,image/webp,image/heic' in page
    assert 'enctype="multipart/form-data"' in page
    for label in ("Comercio", "Sucursal", "Número de factura", "Valor", "Fecha de compra"):
        assert f">{label}</label>" in page


def test_a_claim_sent_lands_in_the_queue_and_the_list(app, shop, ana):
    response = app.post("/app/claims/new/", form(shop))
    assert response.status_code == 302 and response["Location"] == "/app/claims/"
    claim = Claim.objects.get()
    assert (claim.customer, claim.merchant, claim.amount) == (ana, shop.merchant, 25000)
    page = app.get("/app/claims/").content.decode()
    assert "Reclamo enviado." in page and "F-1001" in page and "En revisión" in page


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"invoice_number": ""}, "invoice_number", "Este campo es obligatorio."),
        ({"amount": "25,5"}, "amount", "25.000"),
        ({"purchased_on": "2999-01-01"}, "purchased_on", "futuro"),
        ({"purchased_on": "mañana"}, "purchased_on", "fecha válida"),
        (
            {"photo": SimpleUploadedFile("f.jpg", pictures.text_file(), "image/jpeg")},
            "photo",
            "no es una imagen",
        ),
        (
            {"photo": SimpleUploadedFile("f.png", pictures.png_bomb(), "image/png")},
            "photo",
            "megapíxeles",
        ),
        (
            {"photo": SimpleUploadedFile("f.jpg", pictures.nine_megabytes(), "image/jpeg")},
            "photo",
            "más de 8 MB",
        ),
        ({"merchant": "x"}, "merchant", "Escoja una opción válida."),
    ],
)
def test_errors_are_shown_next_to_their_field_in_spanish(app, shop, change, field, words):
    response = app.post("/app/claims/new/", form(shop, **change))
    assert response.status_code == 422
    page = response.content.decode()
    assert words in error_of(page, field), page[page.find("error") - 300 : page.find("error") + 300]
    assert not Claim.objects.exists()


def test_a_branch_of_another_merchant_is_refused(app, shop):
    other = testing.make_merchant("Otra")
    response = app.post("/app/claims/new/", form(shop, branch=str(other.branch.pk)))
    assert "Elija una sucursal de este comercio." in error_of(response.content.decode(), "branch")


def test_a_duplicate_invoice_is_refused_next_to_the_number(app, shop, ana):
    assert app.post("/app/claims/new/", form(shop)).status_code == 302
    response = app.post("/app/claims/new/", form(shop, invoice_number="f-1001"))
    assert "ya fue reclamada" in error_of(response.content.decode(), "invoice_number")
    assert Claim.objects.count() == 1


def test_the_answer_is_shown_approved_or_rejected_with_its_reason(app, shop, ana):
    app.post("/app/claims/new/", form(shop))
    app.post("/app/claims/new/", form(shop, invoice_number="F-2"))
    first, second = Claim.objects.order_by("invoice_number")
    actions.approve_claim(merchant=shop.merchant, claim_id=first.pk)
    actions.reject_claim(merchant=shop.merchant, claim_id=second.pk, reason="La foto no se lee")
    page = app.get("/app/claims/").content.decode()
    assert "Aprobado" in page and "+25 puntos" in page
    assert "Rechazado" in page and "Motivo: La foto no se lee" in page


def test_another_customer_sees_none_of_them(app, shop, ana):
    app.post("/app/claims/new/", form(shop))
    bea = Client()
    sign_in(bea, testing.make_customer(shop).customer)
    page = bea.get("/app/claims/").content.decode()
    assert "F-1001" not in page and "Aún no ha enviado ningún reclamo." in page


def test_a_staff_session_is_not_a_customer(shop):
    staff = Client()
    staff.force_login(shop.admin)
    assert staff.get("/app/claims/").status_code == 302


def test_old_purchases_are_refused(app, shop):
    old = local_date(shop.merchant, timezone.now()) - dt.timedelta(days=45)
    response = app.post("/app/claims/new/", form(shop, purchased_on=old.isoformat()))
    assert "30 días" in error_of(response.content.decode(), "purchased_on")


def test_the_customers_export_lists_the_claims_without_the_photo(app, shop, ana):
    """The app's "download my data" holds each claim with its answer; not the photo's bytes."""
    import json

    app.post("/app/claims/new/", form(shop))
    app.post("/app/claims/new/", form(shop, invoice_number="F-2"))
    first, second = Claim.objects.order_by("invoice_number")
    actions.approve_claim(merchant=shop.merchant, claim_id=first.pk)
    actions.reject_claim(merchant=shop.merchant, claim_id=second.pk, reason="La foto no se lee")
    other = testing.make_customer(shop).customer  # another customer's claim is not in it
    actions.submit_claim(
        customer=other,
        merchant_id=shop.merchant.pk,
        branch_id=shop.branch.pk,
        invoice_number="F-OTRA",
        amount="10000",
        purchased_on=local_date(shop.merchant, timezone.now()),
        photo=pictures.photo("PNG"),
    )
    response = app.get("/app/privacy/export/")
    claims = json.loads(response.content)["claims"]
    assert [(c["invoice_number"], c["status"]) for c in claims] == [
        ("F-1001", "approved"),
        ("F-2", "rejected"),
    ]
    approved, rejected = claims
    assert approved["amount"] == "25000.00" and approved["points"] == 25
    assert approved["merchant"] == shop.merchant.name and approved["branch"] == shop.branch.name
    assert approved["purchased_on"] == first.purchased_on.isoformat()
    assert approved["sent_at"] and approved["decided_at"] and approved["reason"] is None
    assert rejected["reason"] == "La foto no se lee"
    text = response.content.decode()
    assert "photo" not in text and first.photo not in text and "F-OTRA" not in text
