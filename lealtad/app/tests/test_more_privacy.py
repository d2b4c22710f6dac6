"""Privacy in the app: marketing consent per merchant with its history (channel "app"), the
download of everything the network holds, closing the account (the word typed; anonymised,
every session revoked, the ledger whole); another customer's membership is 404."""

import json

import pytest
from django.test import Client

from lealtad.app.models import CustomerSession
from lealtad.app.testing import customer_token, sign_in
from lealtad.coins.tests.promo_helpers import acceptor, customer_with_coins
from lealtad.core import testing
from lealtad.customers.models import ConsentRecord, Customer, Membership
from lealtad.ledger.check import check_ledger

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    return acceptor()


@pytest.fixture
def ana(shop):
    return customer_with_coins(shop, amount=50)


@pytest.fixture
def app(ana):
    client = Client()
    client.cookies["django_language"] = "es"
    sign_in(client, ana)
    return client


def test_consent_toggles_with_its_history(app, shop, ana):
    m = Membership.objects.get(customer=ana, merchant=shop.merchant)
    start = m.marketing_consent
    url = f"/app/privacy/consent/{shop.merchant.pk}/"
    assert app.post(url, {"given": "0" if start else "1"}).status_code == 302
    assert app.post(url, {"given": "1" if start else "0"}).status_code == 302
    rows = ConsentRecord.objects.filter(membership=m, channel="app").order_by("at", "pk")
    assert [r.given for r in rows] == [not start, start]
    page = app.get("/app/privacy/").content.decode()
    assert shop.merchant.name in page and "Historial" in page and "en la app" in page


def test_another_merchants_consent_is_not_found(app):
    other = testing.make_merchant("Ajena")
    assert app.post(f"/app/privacy/consent/{other.merchant.pk}/", {"given": "1"}).status_code == 404
    assert app.post("/app/privacy/consent/x/", {"given": "1"}).status_code == 404


def test_download_my_data_is_every_membership(app, ana):
    response = app.get("/app/privacy/export/")
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    data = json.loads(response.content)
    assert data["customer"]["id"] == str(ana.pk)
    assert len(data["memberships"]) == Membership.objects.filter(customer=ana).count() == 2


def test_closing_asks_for_the_word_in_spanish(app, ana):
    page = app.get("/app/privacy/close/").content.decode()
    assert "Escriba CERRAR para confirmar" in page
    wrong = app.post("/app/privacy/close/", {"confirm": "no"})
    assert wrong.status_code == 422 and 'id="confirm-error"' in wrong.content.decode()
    assert Customer.objects.get(pk=ana.pk).anonymised_at is None


def test_closing_anonymises_and_revokes_every_session(app, ana):
    customer_token(ana)
    done = app.post("/app/privacy/close/", {"confirm": "cerrar"})
    assert done.status_code == 200 and "Cuenta cerrada" in done.content.decode()
    gone = Customer.objects.get(pk=ana.pk)
    assert gone.anonymised_at is not None and gone.email is None
    assert not CustomerSession.objects.filter(customer=ana, revoked_at__isnull=True).exists()
    assert app.get("/app/privacy/").status_code == 302
    assert check_ledger() == []
