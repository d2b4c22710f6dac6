"""A8, A9 in the app: giving coins to a cause, the partner conversions, buying a coin product
(paid at once, the voucher with its QR and code), errors next to the field in Spanish; another
customer's voucher is 404."""

import pytest
from django.test import Client

from lealtad.app.testing import sign_in
from lealtad.coins import causes, partners, vouchers
from lealtad.coins.actions import wallet_of
from lealtad.coins.models import CoinVoucher, Donation
from lealtad.coins.tests.promo_helpers import acceptor, customer_with_coins, promotion

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    return acceptor()


@pytest.fixture
def ana(shop):
    return customer_with_coins(shop, amount=500)


@pytest.fixture
def app(ana):
    client = Client()
    client.cookies["django_language"] = "es"
    sign_in(client, ana)
    return client


def test_donating_gives_the_coins_once_per_form(app, ana):
    trees = causes.create_cause("Árboles")
    page = app.get("/app/coins/").content.decode()
    assert 'data-available="500"' in page and "Árboles" in page
    form = {"cause": str(trees.pk), "coins": "120", "token": "t1"}
    assert app.post("/app/coins/donate/", form)["Location"] == "/app/coins/?donated=1"
    app.post("/app/coins/donate/", form)  # the same form again (a double tap)
    assert Donation.objects.get().coins == 120
    assert wallet_of(ana)["available"] == 380


def test_donation_errors_are_next_to_the_fields_in_spanish(app, ana):
    trees = causes.create_cause("Árboles")
    none = app.post("/app/coins/donate/", {"cause": "", "coins": "abc"})
    assert none.status_code == 422
    page = none.content.decode()
    assert 'id="cause-error"' in page and "Elija una causa." in page
    assert 'id="coins-error"' in page and "Un número entero mayor que cero." in page
    much = app.post("/app/coins/donate/", {"cause": str(trees.pk), "coins": "9000"})
    assert much.status_code == 422 and "Monedas insuficientes" in much.content.decode()
    huge = app.post("/app/coins/donate/", {"cause": "9" * 40, "coins": "9" * 40})
    assert huge.status_code == 422 and 'id="cause-error"' in huge.content.decode()
    closed = causes.create_cause("Cerrada", active=False)
    gone = app.post("/app/coins/donate/", {"cause": str(closed.pk), "coins": "1"})
    assert gone.status_code == 422 and 'id="coins-error"' in gone.content.decode()
    assert not Donation.objects.exists() and wallet_of(ana)["available"] == 500


def test_buying_a_product_shows_the_voucher(app, shop, ana):
    book = promotion(shop, price=200, name="Libro rojo")
    assert "Libro rojo" in app.get("/app/coins/").content.decode()
    bought = app.post(f"/app/coins/buy/{book.pk}/", {"token": "b1"})
    voucher = CoinVoucher.objects.get()
    assert bought["Location"] == f"/app/coins/vouchers/{voucher.pk}/"
    app.post(f"/app/coins/buy/{book.pk}/", {"token": "b1"})  # a double tap buys once
    assert CoinVoucher.objects.count() == 1 and wallet_of(ana)["available"] == 300
    page = app.get(bought["Location"]).content.decode()
    assert vouchers.display(voucher.code) in page and "<svg" in page
    vouchers.hand_over(voucher.code, merchant=shop.merchant)
    assert "Entregado el" in app.get(bought["Location"]).content.decode()


def test_a_product_too_dear_is_refused_in_spanish(app, shop):
    dear = promotion(shop, price=5000)
    listing = app.get("/app/coins/").content.decode()
    assert 'data-missing="4500"' in listing and "le faltan 4500" in listing
    assert f'data-buy="{dear.pk}"' not in listing
    response = app.post(f"/app/coins/buy/{dear.pk}/", {"token": "x"})
    assert response.status_code == 422
    assert 'id="buy-error"' in response.content.decode()
    assert "Fondos insuficientes" in response.content.decode()
    assert app.post("/app/coins/buy/nope/").status_code == 404


def test_another_customers_voucher_is_not_found(app, shop):
    bea = customer_with_coins(shop, amount=300)
    theirs = vouchers.buy_in_app(promotion(shop, price=10).pk, customer=bea)
    assert app.get(f"/app/coins/vouchers/{theirs.pk}/").status_code == 404
    assert app.get("/app/coins/vouchers/zzz/").status_code == 404


def test_partner_conversions_are_listed(app, ana):
    bank = partners.create_partner("Banco Sol", "0.5")
    partners.convert(partner=bank, customer=ana, partner_points=100, reference="R-1")
    page = app.get("/app/coins/").content.decode()
    assert "Banco Sol" in page and "100 puntos → 50 monedas" in page
