"""A2–A4, A6 screens: every page 200 for its owner, 404 for a second customer's objects; the
home's query count; the favourite button; accepting a gift; the QR pages."""

from decimal import Decimal

import pytest
from django.conf import settings
from django.test import Client

from lealtad.app.testing import sign_in
from lealtad.coins import actions as coins
from lealtad.core import testing
from lealtad.customers.actions import join_merchant
from lealtad.favourites.actions import favourite_ids
from lealtad.ledger import actions as ledger
from lealtad.offers.actions import offer_gift

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    """Alice: a member of Aroma (points, a prize, a points gift) and of Brasa, with coins.
    Bob: a member of Zeta only — he must see nothing of Alice's."""
    aroma = testing.make_merchant("Aroma")
    brasa = testing.make_merchant("Brasa")
    zeta = testing.make_merchant("Zeta")
    alice = testing.make_customer(aroma)
    join_merchant(alice.customer, brasa.merchant, brasa.branch)
    ledger.accrue_points(
        merchant=aroma.merchant,
        customer=alice.customer,
        amount=Decimal(30_000),
        branch=aroma.branch,
        invoice_number="F-1",
    )
    reward = testing.make_reward(aroma, cost=100, name="Café grande")
    gift = offer_gift(
        gift=testing.make_gift(aroma, "points", points=25), membership=alice.membership
    )
    issuer = testing.make_merchant("Emisor", coin_issuer=True, cashback_rate="0.1")
    coins.earn_coins(merchant=issuer.merchant, customer=alice.customer, amount=Decimal(5000))
    bob = testing.make_customer(zeta)
    return {
        "aroma": aroma,
        "brasa": brasa,
        "zeta": zeta,
        "alice": alice,
        "bob": bob,
        "reward": reward,
        "gift": gift,
    }


def client_for(customer, language="en") -> Client:
    client = Client()
    sign_in(client, customer)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language  # the asserts below are English
    return client


def test_every_screen_answers_its_owner(world):
    client = client_for(world["alice"].customer)
    aroma = world["aroma"].merchant.pk
    for url in (
        "/app/",
        f"/app/m/{aroma}/",
        f"/app/m/{aroma}/?page=99",
        "/app/wallet/",
        "/app/wallet/?page=x",
        "/app/qr/",
        "/app/qr/payment/",
        "/app/prizes/",
        f"/app/prizes/{aroma}/",
        "/app/merchants/",
        "/app/merchants/?city=Nowhere&zone=x",
    ):
        response = client.get(url)
        assert response.status_code == 200, url


def test_the_home_shows_the_wallet_and_every_membership(world):
    page = client_for(world["alice"].customer).get("/app/").content.decode()
    assert world["aroma"].merchant.name in page and world["brasa"].merchant.name in page
    assert f"/app/m/{world['aroma'].merchant.pk}/" in page
    assert ">30<" in page  # Aroma's points
    assert ">500<" in page  # coins


def test_a_second_customers_objects_are_404(world):
    bob = client_for(world["bob"].customer)
    aroma = world["aroma"].merchant.pk
    for url in (f"/app/m/{aroma}/", f"/app/prizes/{aroma}/", "/app/m/not-an-id/"):
        assert bob.get(url).status_code == 404, url
    assert bob.post(f"/app/gifts/{world['gift'].pk}/accept/").status_code == 404
    world["gift"].refresh_from_db()
    assert world["gift"].status == "offered"
    # Bob's own home has none of Alice's merchants or balances.
    page = bob.get("/app/").content.decode()
    assert world["aroma"].merchant.name not in page


def test_signed_out_pages_go_to_the_sign_in(world):
    response = Client().get("/app/wallet/")
    assert response.status_code == 302 and response["Location"].startswith("/app/signin/")


def test_the_home_costs_a_fixed_number_of_queries(world, django_assert_max_num_queries):
    client = client_for(world["alice"].customer)
    for n in range(6):
        shop = testing.make_merchant(f"Tienda {n}")
        join_merchant(world["alice"].customer, shop.merchant, shop.branch)
    client.get("/app/")
    # The session (and its touch), the customer, then memberships, wallet, lots and holds.
    with django_assert_max_num_queries(8):
        response = client.get("/app/")
    assert response.status_code == 200


def test_membership_history_shows_the_running_balance(world):
    client = client_for(world["alice"].customer)
    page = client.get(f"/app/m/{world['aroma'].merchant.pk}/").content.decode()
    assert "+30" in page


def test_prizes_show_the_points_missing_with_a_progress_bar(world):
    page = client_for(world["alice"].customer).get("/app/prizes/").content.decode()
    assert "Café grande" in page
    assert '<progress max="100" value="30"' in page
    assert "70 points missing" in page


def test_accepting_a_points_gift_from_the_prizes(world):
    client = client_for(world["alice"].customer)
    aroma = world["aroma"].merchant.pk
    response = client.post(f"/app/gifts/{world['gift'].pk}/accept/")
    assert response.status_code == 302 and response["Location"] == f"/app/prizes/{aroma}/"
    page = client.get(response["Location"]).content.decode()
    assert "You have 55 points." in page
    again = client.post(f"/app/gifts/{world['gift'].pk}/accept/", follow=True)
    assert "already redeemed" in again.content.decode()


def test_the_favourite_button_toggles_with_htmx(world):
    client = client_for(world["alice"].customer)
    zeta = world["zeta"].merchant
    url = f"/app/merchants/{zeta.pk}/favourite/"
    on = client.post(url, {"on": "1"}, HTTP_HX_REQUEST="true")
    assert on.status_code == 200 and 'aria-pressed="true"' in on.content.decode()
    assert favourite_ids(world["alice"].customer) == {zeta.pk}
    off = client.post(url, {"on": "0"})
    assert off.status_code == 302
    assert favourite_ids(world["alice"].customer) == set()
    assert client.post("/app/merchants/nope/favourite/", {"on": "1"}).status_code == 404
    assert client.get(url).status_code == 405


def test_the_qr_page_is_self_contained_and_hides_the_document(world):
    customer = world["alice"].customer
    page = client_for(customer).get("/app/qr/").content.decode()
    assert "<svg" in page
    assert customer.document_number not in page
    assert customer.document_number[-3:] in page
    assert 'hx-get="/app/qr/payment/"' in page  # coins: the payment QR comes by HTMX


def test_the_payment_qr_fragment_polls_before_it_expires(world):
    client = client_for(world["alice"].customer)
    fragment = client.get("/app/qr/payment/", HTTP_HX_REQUEST="true")
    text = fragment.content.decode()
    assert 'hx-trigger="every 100s"' in text and "<svg" in text and "data-expires" in text
    assert "no-cache" in fragment["Cache-Control"] or "max-age=0" in fragment["Cache-Control"]


def test_no_payment_qr_without_coins(world):
    client = client_for(world["bob"].customer)
    assert "hx-get" not in client.get("/app/qr/").content.decode()
    fragment = client.get("/app/qr/payment/", HTTP_HX_REQUEST="true").content.decode()
    assert "<svg" not in fragment


def test_merchants_by_city_with_the_balance(world):
    branch = world["aroma"].branch
    branch.city, branch.zone, branch.address = "Bogotá", "Chapinero", "Cra 7 # 60-10"
    branch.save()
    client = client_for(world["alice"].customer)
    page = client.get("/app/merchants/", {"city": "Bogotá"}).content.decode()
    assert world["aroma"].merchant.name in page and "Cra 7 # 60-10" in page
    assert world["zeta"].merchant.name not in page
    assert "You have 30 points here" in page


def test_the_prizes_page_costs_a_fixed_number_of_queries(world, django_assert_max_num_queries):
    client = client_for(world["alice"].customer)
    for n in range(6):
        shop = testing.make_merchant(f"Tienda {n}")
        join_merchant(world["alice"].customer, shop.merchant, shop.branch)
        testing.make_reward(shop, cost=50)
    client.get("/app/prizes/")
    # The home's (8 at most), then rewards, prizes claimed, gifts, the merchants running a
    # promotion — the same for 2 memberships or 20.
    with django_assert_max_num_queries(12):
        response = client.get("/app/prizes/")
    assert response.status_code == 200


def test_a_favourite_merchants_offers_reach_a_customer_not_yet_member(world):
    alice = world["alice"].customer
    zeta = world["zeta"]
    testing.make_reward(zeta, cost=80, name="Postre")
    testing.make_promotion(zeta, "bonus", bonus_points=9, name="Fans", target="favourites")
    client = client_for(alice)
    assert client.get(f"/app/prizes/{zeta.merchant.pk}/").status_code == 404  # not followed
    client.post(f"/app/merchants/{zeta.merchant.pk}/favourite/", {"on": "1"})
    page = client.get(f"/app/prizes/{zeta.merchant.pk}/").content.decode()
    assert "Postre" in page and "80 points missing" in page and "Fans" in page
    listing = client.get("/app/prizes/").content.decode()
    assert "Your favourites" in listing and "Fans" in listing
    # Still no history there: she is not a member.
    assert client.get(f"/app/m/{zeta.merchant.pk}/").status_code == 404


@pytest.mark.parametrize("language", ["es", "pt-br"])
def test_every_home_screen_speaks_the_language(world, language):
    """The crawl's check (core/tests/test_screens_language.py) on data it does not make: a
    favourite not yet joined, a points gift, coins held and expiring, the payment QR."""
    from lealtad.core.tests.test_screens_language import untranslated, visible

    alice = world["alice"].customer
    zeta = world["zeta"]
    testing.make_reward(zeta, cost=80, name="Postre")
    testing.make_promotion(zeta, "bonus", bonus_points=9, name="Fans", target="favourites")
    client = client_for(alice, language)
    client.post(f"/app/merchants/{zeta.merchant.pk}/favourite/", {"on": "1"})
    aroma = world["aroma"].merchant.pk
    names = {m.name for m in (world["aroma"].merchant, world["brasa"].merchant, zeta.merchant)}
    names |= {"Lealtad", "QR", "Postre", "Fans", "Café grande", alice.full_name}
    names |= {b.name for b in (world["aroma"].branch, zeta.branch)}
    names |= {world["gift"].gift.name}
    if language == "pt-br":
        names |= {"QR code"}
    found = {}
    for url in (
        "/app/",
        f"/app/m/{aroma}/",
        "/app/wallet/",
        "/app/qr/",
        "/app/qr/payment/",
        "/app/prizes/",
        f"/app/prizes/{aroma}/",
        f"/app/prizes/{zeta.merchant.pk}/",
        "/app/merchants/",
    ):
        text = " ".join(visible(client.get(url).content.decode()).parts)
        words = untranslated(text, names)
        if words:
            found[url] = words
    assert found == {}
