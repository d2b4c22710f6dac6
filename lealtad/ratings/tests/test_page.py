"""F1/F4: the customer's page from the signed link: rate once, then the conversation."""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from lealtad.core import testing
from lealtad.ratings import actions, links
from lealtad.ratings.models import Message, Rating
from lealtad.ratings.tests import helpers

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    return helpers.shop(rating_invite=False)


@pytest.fixture
def visit(shop):
    return helpers.visit(shop)


def url(txn, now=None) -> str:
    return "/rate/" + links.make_token(txn.pk, now) + "/"


def test_the_page_shows_the_visit_and_ten_scores_in_the_merchants_language(shop, visit):
    page = Client().get(url(visit))
    text = page.content.decode()
    assert page.status_code == 200
    assert shop.merchant.name in text and shop.branch.name in text
    assert text.count('name="score"') == 10
    assert "¿Cómo fue tu visita" in text and "Enviar" in text
    assert 'lang="es"' in text


def test_a_brazilian_merchants_page_is_in_portuguese(visit):
    posto = helpers.shop(country="BR", rating_invite=False)
    text = Client().get(url(helpers.visit(posto))).content.decode()
    assert 'lang="pt-br"' in text and "Enviar" in text and "Como foi" in text


def test_the_switch_chooses_english():
    shop = helpers.shop(rating_invite=False)
    client = Client()
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    text = client.get(url(helpers.visit(shop))).content.decode()
    assert "How was your visit" in text and 'lang="en"' in text


def test_rating_from_the_page_then_the_link_shows_the_rating(visit):
    client = Client()
    sent = client.post(url(visit), {"score": "3", "comment": "Demoraron mucho"})
    assert sent.status_code == 302
    rating = Rating.objects.get()
    assert (rating.score, rating.comment, rating.transaction) == (3, "Demoraron mucho", visit)
    page = client.get(sent["Location"])
    text = page.content.decode()
    assert "¡Gracias por tu calificación!" in text and "Demoraron mucho" in text
    assert 'name="score"' not in text
    # The same link again (a double submit): one rating, and the page shows it.
    again = client.post(url(visit), {"score": "10"})
    assert again.status_code == 302 and "again=1" in again["Location"]
    assert Rating.objects.get().score == 3


@pytest.mark.parametrize("score", ["0", "11", "7.5", "", "siete", "-1", "007"])
def test_a_bad_score_is_said_next_to_the_field(visit, score):
    page = Client().post(url(visit), {"score": score, "comment": "hola"})
    assert page.status_code == 422
    text = page.content.decode()
    assert "Elige una calificación de 1 a 10." in text and 'id="score-error"' in text
    assert "hola" in text  # what was typed stays
    assert not Rating.objects.exists()


def test_a_comment_of_10000_characters_is_refused_on_the_page(visit):
    page = Client().post(url(visit), {"score": "5", "comment": "x" * 10_000})
    assert page.status_code == 422 and 'id="comment-error"' in page.content.decode()
    assert not Rating.objects.exists()


def test_html_in_a_comment_is_shown_escaped(visit, shop):
    client = Client()
    client.post(url(visit), {"score": "2", "comment": "<script>alert('x')</script><b>hola</b>"})
    text = client.get(url(visit)).content.decode()
    assert "<script>alert" not in text and "<b>hola</b>" not in text
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&lt;b&gt;hola&lt;/b&gt;" in text


def test_a_forged_or_altered_link_is_a_clear_400(visit):
    token = links.make_token(visit.pk)
    for bad in ("nonsense", token[:-2] + "xx", links.make_token(visit.pk).replace(":", ".")):
        page = Client().get(f"/rate/{bad}/")
        assert page.status_code == 400
        assert "Este enlace no es válido" in page.content.decode()
    assert Client().post("/rate/nonsense/", {"score": "9"}).status_code == 400
    assert not Rating.objects.exists()


def test_an_expired_link_is_a_clear_410(visit):
    old = timezone.now() - dt.timedelta(days=8)
    page = Client().get(url(visit, old))
    assert page.status_code == 410 and "Este enlace venció" in page.content.decode()
    assert Client().post(url(visit, old), {"score": "9"}).status_code == 410
    assert not Rating.objects.exists()


def test_a_link_to_something_that_is_not_a_visit_is_404(shop, visit):
    member = testing.make_customer(shop).membership
    from lealtad.ledger import actions as ledger

    adjustment = ledger.adjust_points(membership=member, points=5, reason="x").transaction
    page = Client().get(url(adjustment))
    assert page.status_code == 404 and "Visita no encontrada" in page.content.decode()


def test_the_conversation_on_the_page_and_the_customers_answer(shop, visit):
    rating = actions.rate_visit(visit, score=4)
    gift = testing.make_gift(shop, "product", name="Postre de la casa")
    reply = actions.reply(rating, body="¿Nos cuenta qué pasó?", staff=shop.admin, gift=gift)
    client = Client()
    text = client.get(url(visit)).content.decode()
    assert "¿Nos cuenta qué pasó?" in text and "Postre de la casa" in text
    reply.refresh_from_db()
    assert reply.read_at is not None  # the customer saw it
    answered = client.post(url(visit).rstrip("/") + "/answer/", {"body": "La mesa estaba sucia"})
    assert answered.status_code == 302
    assert Message.objects.filter(author="customer").get().body == "La mesa estaba sucia"
    empty = client.post(url(visit).rstrip("/") + "/answer/", {"body": "  "})
    assert empty.status_code == 422 and "Escribe un mensaje." in empty.content.decode()
    assert Message.objects.filter(author="customer").count() == 1


def test_the_conversation_stays_open_seven_days_after_the_last_reply(shop, visit):
    now = timezone.now()
    rating = actions.rate_visit(visit, score=6, now=now - dt.timedelta(days=10))
    old_link = url(visit, now - dt.timedelta(days=10))
    assert Client().get(old_link).status_code == 410
    actions.reply(rating, body="Perdón por la demora", staff=shop.admin, now=now)
    assert Client().get(old_link).status_code == 200
