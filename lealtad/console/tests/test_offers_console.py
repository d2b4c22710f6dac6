"""Console screens for promotions (R1) and gifts (R2): forms, errors next to fields, tenancy."""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from lealtad.core import testing
from lealtad.offers.models import Gift, GiftOffer, Promotion

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    return testing.make_merchant(admin="alice")


@pytest.fixture
def console(shop):
    client = Client()
    client.force_login(shop.admin)
    return client


def window(days=10):
    today = timezone.localdate()
    return {"starts_on": today.isoformat(), "ends_on": (today + dt.timedelta(days)).isoformat()}


def test_bonus_promotion_created(console, shop):
    response = console.post(
        "/console/promotions/new/",
        {
            "name": "Doble café",
            "kind": "bonus",
            "bonus_points": "25",
            "target": "everyone",
            "active": "on",
            "multiplier": "3",
            **window(),
        },
    )
    assert response.status_code == 302
    promo = Promotion.objects.get(merchant=shop.merchant)
    assert (promo.bonus_points, promo.multiplier) == (25, None)  # the other kind's field dropped
    assert "Doble café" in console.get("/console/promotions/").content.decode()


def test_each_kind_asks_for_its_own_fields(console, shop):
    for kind, field in [
        ("special_price", "reward"),
        ("multiplier", "multiplier"),
        ("bonus", "bonus_points"),
        ("free_item", "item"),
    ]:
        page = console.post(
            "/console/promotions/new/",
            {"name": "X", "kind": kind, "target": "everyone", **window()},
        ).content.decode()
        assert f'id="{field}-error"' in page, kind
    assert not Promotion.objects.exists()


def test_invalid_promotion_errors_next_to_the_fields(console, shop):
    reward = testing.make_reward(shop, cost=100)
    today = timezone.localdate()
    page = console.post(
        "/console/promotions/new/",
        {
            "name": "",
            "kind": "special_price",
            "reward": str(reward.pk),
            "special_price": "150",
            "target": "categories",
            "starts_on": today.isoformat(),
            "ends_on": (today - dt.timedelta(days=1)).isoformat(),
        },
    ).content.decode()
    for field in ("name", "special_price", "categories", "ends_on"):
        assert f'id="{field}-error"' in page, field
    assert "100" in page  # the prize's regular price is named
    assert not Promotion.objects.exists()


def test_chosen_customers_by_document_or_card(console, shop):
    member = testing.make_customer(shop).membership
    stranger = testing.make_customer(testing.make_merchant("Otra")).membership
    data = {"name": "VIP", "kind": "free_item", "item": "Postre", "target": "customers", **window()}
    page = console.post(
        "/console/promotions/new/",
        {
            **data,
            "customers": f"{member.customer.document_number}\n{stranger.customer.document_number}",
        },
    ).content.decode()
    assert 'id="customers-error"' in page and stranger.customer.document_number in page
    assert not Promotion.objects.exists()
    response = console.post(
        "/console/promotions/new/", {**data, "customers": member.customer.document_number}
    )
    assert response.status_code == 302
    assert list(Promotion.objects.get().members.all()) == [member]


def test_gift_catalog_and_offer(console, shop):
    member = testing.make_customer(shop).membership
    page = console.post(
        "/console/gifts/new/", {"name": "Bono", "kind": "points", "valid_days": "30"}
    )
    assert 'id="points-error"' in page.content.decode()
    page = console.post(
        "/console/gifts/new/", {"name": "Bono", "kind": "discount", "valid_days": "30"}
    )
    assert 'id="discount_percent-error"' in page.content.decode()
    response = console.post(
        "/console/gifts/new/",
        {"name": "Bono", "kind": "points", "points": "40", "valid_days": "30", "active": "on"},
    )
    assert response.status_code == 302
    gift = Gift.objects.get()
    clash = console.post(
        "/console/gifts/new/", {"name": "bono", "kind": "product", "valid_days": "30"}
    )
    assert 'id="name-error"' in clash.content.decode()

    page = console.post("/console/gifts/", {"customer": "00000000", "gift": str(gift.pk)})
    assert 'id="customer-error"' in page.content.decode()
    past = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    page = console.post(
        "/console/gifts/",
        {"customer": member.customer.email, "gift": str(gift.pk), "expires_on": past},
    )
    assert 'id="expires_on-error"' in page.content.decode()
    assert not GiftOffer.objects.exists()
    response = console.post(
        "/console/gifts/", {"customer": member.customer.document_number, "gift": str(gift.pk)}
    )
    assert response.status_code == 302
    offer = GiftOffer.objects.get()
    assert offer.membership == member
    listing = console.get("/console/gifts/?status=offered").content.decode()
    assert "Bono" in listing and member.customer.full_name in listing


def test_another_merchants_admin_gets_404(shop):
    promo = testing.make_promotion(shop, "bonus", bonus_points=5, name="Secreto de Alicia")
    gift = testing.make_gift(shop)
    other = testing.make_merchant("Otra", admin="charlie")
    client = Client()
    client.force_login(other.admin)
    assert client.get(f"/console/promotions/{promo.pk}/").status_code == 404
    assert client.post(f"/console/gifts/{gift.pk}/", {"name": "x"}).status_code == 404
    assert "Secreto de Alicia" not in client.get("/console/promotions/").content.decode()
    member = testing.make_customer(shop).membership
    testing.make_gift(other)  # so that charlie's offer form shows
    page = client.post(
        "/console/gifts/", {"customer": member.customer.document_number, "gift": str(gift.pk)}
    ).content.decode()
    assert 'id="customer-error"' in page and 'id="gift-error"' in page
    assert not GiftOffer.objects.exists()


def test_a_cashier_cannot_open_promotions_or_gifts(shop):
    client = Client()
    client.force_login(testing.make_cashier(shop))
    for url in ("/console/promotions/", "/console/gifts/", "/console/promotions/new/"):
        assert client.get(url).status_code == 404
