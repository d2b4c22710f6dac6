"""A5 in the app: the visits to rate, rating one once, the conversation with the merchant (unread
replies marked, opened, answered), errors next to the field in Spanish; another customer's visit
or rating is 404."""

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from lealtad.app.testing import sign_in
from lealtad.core import testing
from lealtad.ledger import actions as ledger
from lealtad.ratings import actions
from lealtad.ratings.models import Author, Message, Rating, Source

pytestmark = pytest.mark.django_db


def visit(shop, customer, days_ago=0, invoice=None):
    return ledger.accrue_points(
        merchant=shop.merchant,
        customer=customer,
        amount=Decimal(20_000),
        branch=shop.branch,
        invoice_number=invoice or f"F-{timezone.now().timestamp()}",
        now=timezone.now() - dt.timedelta(days=days_ago),
    ).transaction


@pytest.fixture
def shop():
    return testing.make_merchant("Café Aroma", admin="alice")


@pytest.fixture
def ana(shop):
    return testing.make_customer(shop).customer


@pytest.fixture
def app(ana):
    client = Client()
    client.cookies["django_language"] = "es"
    sign_in(client, ana)
    return client


def test_the_visit_is_listed_rated_once_and_then_shows_the_rating(app, shop, ana):
    txn = visit(shop, ana)
    page = app.get("/app/ratings/").content.decode()
    assert f'data-visit="{txn.pk}"' in page and "Visitas por calificar" in page
    sent = app.post(f"/app/ratings/visit/{txn.pk}/", {"score": "9", "comment": "Muy bien"})
    rating = Rating.objects.get(transaction=txn)
    assert sent.status_code == 302 and sent["Location"] == f"/app/ratings/{rating.pk}/"
    assert (rating.score, rating.comment, rating.source) == (9, "Muy bien", Source.APP)
    again = app.post(f"/app/ratings/visit/{txn.pk}/", {"score": "2"})
    assert again.status_code == 302 and Rating.objects.get(transaction=txn).score == 9
    assert app.get(f"/app/ratings/visit/{txn.pk}/").status_code == 302
    assert f'data-visit="{txn.pk}"' not in app.get("/app/ratings/").content.decode()


def test_a_missing_score_is_said_next_to_the_field_in_spanish(app, shop, ana):
    txn = visit(shop, ana)
    response = app.post(f"/app/ratings/visit/{txn.pk}/", {"score": "", "comment": "x"})
    assert response.status_code == 422
    page = response.content.decode()
    assert 'id="score-error"' in page and "Elija una calificación del 1 al 10." in page
    assert ">x</textarea>" in page and not Rating.objects.exists()
    for bad in ("0", "11", "abc", "999"):
        assert app.post(f"/app/ratings/visit/{txn.pk}/", {"score": bad}).status_code == 422


def test_the_merchants_reply_is_marked_new_read_and_answered(app, shop, ana):
    rating = actions.rate_visit(visit(shop, ana), score=4, comment="Frío", customer=ana)
    actions.reply(rating, body="Lo sentimos, vuelva pronto", staff=shop.admin)
    listing = app.get("/app/ratings/").content.decode()
    assert "1 respuesta nueva" in listing
    page = app.get(f"/app/ratings/{rating.pk}/").content.decode()
    assert "Lo sentimos, vuelva pronto" in page and "Nuevo" in page
    assert not Message.objects.filter(author=Author.MERCHANT, read_at__isnull=True).exists()
    assert "respuesta nueva" not in app.get("/app/ratings/").content.decode()
    empty = app.post(f"/app/ratings/{rating.pk}/", {"body": "  "})
    assert empty.status_code == 422 and "Escriba un mensaje." in empty.content.decode()
    answered = app.post(f"/app/ratings/{rating.pk}/", {"body": "Gracias"})
    assert answered.status_code == 302
    assert rating.messages.filter(author=Author.CUSTOMER, body="Gracias").exists()


def test_another_customers_visit_and_rating_are_not_found(app, shop, ana):
    bea = testing.make_customer(shop).customer
    theirs = visit(shop, bea)
    assert app.get(f"/app/ratings/visit/{theirs.pk}/").status_code == 404
    assert app.post(f"/app/ratings/visit/{theirs.pk}/", {"score": "5"}).status_code == 404
    rating = actions.rate_visit(theirs, score=8)
    assert app.get(f"/app/ratings/{rating.pk}/").status_code == 404
    assert app.post(f"/app/ratings/{rating.pk}/", {"body": "hola"}).status_code == 404
    assert app.get("/app/ratings/visit/not-an-id/").status_code == 404
    assert f'data-rating="{rating.pk}"' not in app.get("/app/ratings/").content.decode()


def test_signed_out_goes_to_the_sign_in():
    response = Client().get("/app/ratings/")
    assert response.status_code == 302 and response["Location"].startswith("/app/signin/")
