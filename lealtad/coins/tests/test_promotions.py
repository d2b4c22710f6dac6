"""R3: coin promotions — the model's rules, the console (CRUD, tenancy, a non-acceptor), and the
till's "Promociones con monedas" list (affordable ones highlighted, the others with the coins
missing)."""

import datetime as dt
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from lealtad.coins import promotions
from lealtad.coins.models import CoinPromotion
from lealtad.coins.tests.promo_helpers import (
    PNG,
    acceptor,
    client_for,
    customer_with_coins,
    promotion,
)
from lealtad.core import testing
from lealtad.core.errors import NotFound, OutOfStock, PromotionUnavailable, ValidationFailed

pytestmark = pytest.mark.django_db


# --- the model ------------------------------------------------------------------------------


def test_the_database_refuses_a_free_one_a_negative_stock_and_a_backwards_window():
    shop = acceptor()
    now = timezone.now()
    base = {"merchant": shop.merchant, "name": "X", "starts_at": now}
    for bad in (
        {"coins_price": 0, "ends_at": now + dt.timedelta(days=1)},
        {"coins_price": 5, "stock": -1, "ends_at": now + dt.timedelta(days=1)},
        {"coins_price": 5, "ends_at": now - dt.timedelta(days=1)},
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            CoinPromotion.objects.create(**base, **bad)


def test_on_sale_is_active_in_its_window_with_stock():
    shop = acceptor()
    running = promotion(shop, name="Corre")
    promotion(shop, name="Futura", days=(1, 5))
    promotion(shop, name="Pasada", days=(-5, -1))
    promotion(shop, name="Inactiva", active=False)
    promotion(shop, name="Agotada", stock=0)
    promotion(testing.make_merchant("Otra", coin_acceptor=True), name="Ajena")
    assert [p.name for p in promotions.on_sale(shop.merchant)] == ["Corre"]
    assert running.on_sale(timezone.now())
    assert not running.on_sale(running.ends_at)


def test_only_an_acceptor_in_the_networks_currency_can_have_them():
    assert promotions.can_have(acceptor().merchant) is None
    assert "acepta las monedas de la red" in promotions.can_have(testing.make_merchant().merchant)
    # A Brazilian merchant works in BRL: the network is in COP.
    brazil = testing.make_merchant("Loja", country="BR", coin_acceptor=False)
    assert "BRL" in promotions.can_have(brazil.merchant)


def test_reserve_takes_a_unit_under_the_lock_and_release_gives_it_back():
    shop = acceptor()
    last = promotion(shop, stock=1)
    with transaction.atomic():
        assert promotions.reserve(last.pk, merchant=shop.merchant).stock == 0
    last.refresh_from_db()
    assert last.stock == 0
    with pytest.raises(OutOfStock), transaction.atomic():
        promotions.reserve(last.pk, merchant=shop.merchant)
    promotions.release(last.pk)
    last.refresh_from_db()
    assert last.stock == 1
    unlimited = promotion(shop)
    with transaction.atomic():
        assert promotions.reserve(unlimited.pk, merchant=shop.merchant).stock is None
    with pytest.raises(ValidationFailed), transaction.atomic():
        promotions.reserve(unlimited.pk, merchant=shop.merchant, coins=99)
    promotions.release(unlimited.pk)
    assert CoinPromotion.objects.get(pk=unlimited.pk).stock is None
    ended = promotion(shop, days=(-5, -1))
    with pytest.raises(PromotionUnavailable), transaction.atomic():
        promotions.reserve(ended.pk, merchant=shop.merchant)
    other = acceptor()
    with pytest.raises(NotFound), transaction.atomic():
        promotions.reserve(last.pk, merchant=other.merchant)


# --- the console ----------------------------------------------------------------------------


def _form(**fields):
    data = {
        "name": "Cien años de soledad",
        "description": "Edición de bolsillo",
        "coins_price": "450",
        "stock": "3",
        "starts_at": "2026-01-01T09:00",
        "ends_at": "2036-01-01T09:00",
        "active": "on",
    }
    data.update(fields)
    return data


def test_the_console_creates_lists_edits_and_deactivates(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    shop = acceptor()
    console = client_for(shop.admin)
    page = console.get("/console/coin-promotions/").text
    assert "Promociones con monedas" in page and "Nueva promoción con monedas" in page
    picture = SimpleUploadedFile("libro.png", PNG, content_type="image/png")
    response = console.post("/console/coin-promotions/new/", _form(picture=picture))
    assert response.status_code == 302
    made = CoinPromotion.objects.get(merchant=shop.merchant)
    assert (made.coins_price, made.stock, made.active) == (450, 3, True)
    assert made.picture.name.startswith("coin-promotions/coin-promotion")
    assert (tmp_path / made.picture.name).exists()
    # The window is read in the merchant's time zone (Bogotá, UTC-5).
    assert made.starts_at == dt.datetime(2026, 1, 1, 14, 0, tzinfo=dt.UTC)
    listed = console.get("/console/coin-promotions/").text
    assert "Cien años de soledad" in listed and made.picture.url in listed
    edit = console.get(f"/console/coin-promotions/{made.pk}/").text
    assert 'value="2026-01-01T09:00"' in edit
    console.post(f"/console/coin-promotions/{made.pk}/", _form(coins_price="500", stock=""))
    made.refresh_from_db()
    assert (made.coins_price, made.stock) == (500, None)
    assert made.picture  # kept when no new one is sent
    console.post(f"/console/coin-promotions/{made.pk}/deactivate/")
    made.refresh_from_db()
    assert not made.active
    assert "Inactiva" in console.get("/console/coin-promotions/").text


@pytest.mark.parametrize(
    ("fields", "field", "text"),
    [
        ({"coins_price": "0"}, "coins_price", "mayor o igual a 1"),
        ({"coins_price": "abc"}, "coins_price", "número entero"),
        ({"coins_price": ""}, "coins_price", "obligatorio"),
        ({"stock": "-2"}, "stock", "mayor o igual a 0"),
        ({"ends_at": "2025-01-01T09:00"}, "ends_at", "La fecha final es anterior a la inicial"),
        ({"starts_at": "mañana"}, "starts_at", "fecha/hora válida"),
        ({"name": ""}, "name", "obligatorio"),
        ({"picture": "virus"}, "picture", "PNG, JPEG o WebP"),
    ],
)
def test_bad_input_is_a_message_next_to_its_field_in_spanish(fields, field, text):
    shop = acceptor()
    if fields.get("picture") == "virus":
        fields["picture"] = SimpleUploadedFile("virus.png", b"MZ not a picture")
    response = client_for(shop.admin).post("/console/coin-promotions/new/", _form(**fields))
    assert response.status_code == 200
    page = response.text
    error = re.search(rf'id="{field}-error">([^<]*)<', page)
    assert error and text in error.group(1), page[:0]
    assert not CoinPromotion.objects.exists()


def test_a_duplicate_name_is_refused_next_to_the_name():
    shop = acceptor()
    promotion(shop, name="Cien años de soledad")
    page = client_for(shop.admin).post("/console/coin-promotions/new/", _form()).text
    assert 'id="name-error"' in page
    assert CoinPromotion.objects.count() == 1


def test_another_merchants_promotion_is_404_in_the_console():
    shop, other = acceptor(), acceptor()
    theirs = promotion(other)
    console = client_for(shop.admin)
    assert console.get(f"/console/coin-promotions/{theirs.pk}/").status_code == 404
    assert console.post(f"/console/coin-promotions/{theirs.pk}/", _form()).status_code == 404
    assert console.post(f"/console/coin-promotions/{theirs.pk}/deactivate/").status_code == 404
    assert console.get("/console/coin-promotions/nonsense/").status_code == 404
    assert theirs.name not in console.get("/console/coin-promotions/").text
    theirs.refresh_from_db()
    assert theirs.active and theirs.coins_price == 100
    cashier = client_for(testing.make_cashier(shop))
    assert cashier.get("/console/coin-promotions/").status_code == 404


def test_a_merchant_that_does_not_accept_coins_sees_why_and_cannot_save_one():
    shop = testing.make_merchant()
    console = client_for(shop.admin)
    page = console.get("/console/coin-promotions/").text
    assert 'id="coin-promotions-problem"' in page and "Nueva promoción con monedas" not in page
    assert "acepta las monedas de la red" in page
    response = console.post("/console/coin-promotions/new/", _form(), follow=True)
    assert "acepta las monedas de la red" in response.text
    assert not CoinPromotion.objects.exists()


# --- the till -------------------------------------------------------------------------------


def test_the_till_lists_those_on_sale_affordable_ones_highlighted():
    shop = acceptor()
    customer = customer_with_coins(shop, amount=500)
    cheap = promotion(shop, price=450, name="Cien años de soledad", stock=2)
    exact = promotion(shop, price=500, name="El amor en los tiempos del cólera")
    dear = promotion(shop, price=800, name="Obra completa")
    promotion(shop, price=10, name="Ya terminó", days=(-5, -1))
    promotion(shop, price=10, name="Agotada", stock=0)
    page = client_for(testing.make_cashier(shop)).get(f"/cashier/c/{customer.pk}/").text
    assert "Promociones con monedas" in page
    found = re.findall(r'<li class="(ok|off)" data-coin-promotion="([^"]+)"', page)
    rows = {pk: kind for kind, pk in found}
    assert rows == {str(cheap.pk): "ok", str(exact.pk): "ok", str(dear.pk): "off"}
    assert "Ya terminó" not in page and "Agotada" not in page
    assert "faltan 300 monedas" in page
    assert f'href="/cashier/c/{customer.pk}/coin-promotions/{cheap.pk}/"' in page
    assert f'href="/cashier/c/{customer.pk}/coin-promotions/{dear.pk}/"' not in page
    assert "quedan 2" in page


def test_a_till_that_does_not_accept_coins_shows_no_coin_promotions():
    shop = testing.make_merchant()
    promotion(shop)  # made by other means: still nothing at a non-acceptor's till
    customer = customer_with_coins(shop)
    page = client_for(testing.make_cashier(shop)).get(f"/cashier/c/{customer.pk}/").text
    assert 'id="coin-promotions"' not in page


def test_an_incomplete_profile_sees_the_list_but_cannot_take_one():
    shop = acceptor()
    customer = customer_with_coins(shop, amount=500, complete=False)
    affordable = promotion(shop, price=100)
    till = client_for(testing.make_cashier(shop))
    page = till.get(f"/cashier/c/{customer.pk}/").text
    assert 'id="coin-promotions-block"' in page
    assert f'data-coin-promotion="{affordable.pk}"' in page
    assert f'/coin-promotions/{affordable.pk}/"' not in page


def test_the_confirm_step_is_only_for_this_merchants_promotions_on_sale():
    shop = acceptor()
    customer = customer_with_coins(shop, amount=500)
    mine = promotion(shop, price=100, name="Cuentos")
    theirs = promotion(acceptor(), price=100)
    ended = promotion(shop, price=100, days=(-5, -1))
    till = client_for(testing.make_cashier(shop))
    page = till.get(f"/cashier/c/{customer.pk}/coin-promotions/{mine.pk}/").text
    assert 'id="confirm"' in page and "¿Tomar Cuentos por 100 monedas?" in page
    for other in (theirs, ended):
        url = f"/cashier/c/{customer.pk}/coin-promotions/{other.pk}/"
        assert till.get(url).status_code == 404
    assert till.get(f"/cashier/c/{customer.pk}/coin-promotions/x/").status_code == 404


# --- the API --------------------------------------------------------------------------------


def test_the_api_lists_those_on_sale_with_what_a_customer_affords():
    from lealtad.api.tests.conftest import Api

    shop = acceptor()
    customer = customer_with_coins(shop, amount=500)
    cheap = promotion(shop, price=450, stock=2)
    dear = promotion(shop, price=800)
    promotion(shop, price=10, days=(-5, -1))
    promotion(acceptor(), price=10)
    api = Api(shop.api_key)
    plain = api.get("/coin-promotions").json()
    assert [p["id"] for p in plain] == [str(cheap.pk), str(dear.pk)]
    assert plain[0]["stock"] == 2 and plain[0]["affordable"] is None
    rows = api.get("/coin-promotions", {"customer_id": str(customer.pk)}).json()
    assert [(p["affordable"], p["coins_missing"]) for p in rows] == [(True, 0), (False, 300)]
    assert api.get("/coin-promotions", {"customer_id": "nobody"}).status_code == 404
    assert Api(testing.make_merchant().api_key).get("/coin-promotions").json() == []
