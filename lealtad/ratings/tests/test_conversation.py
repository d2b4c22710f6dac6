"""F4/F5: the merchant replies (with a gift or not), the customer answers, read state follows."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.test import Client

from lealtad.core import errors, testing
from lealtad.notifications.models import Event, OutgoingEmail
from lealtad.offers import actions as offers
from lealtad.offers.models import Gift, GiftOffer, GiftStatus
from lealtad.ratings import actions
from lealtad.ratings.models import Message
from lealtad.ratings.tests import helpers

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    return helpers.shop(rating_invite=False)


@pytest.fixture
def rating(shop):
    return actions.rate_visit(helpers.visit(shop), score=5, comment="El café llegó frío")


def test_a_reply_is_written_and_the_customer_told_by_email(shop, rating):
    message = actions.reply(rating, body="Lo sentimos mucho", staff=shop.admin)
    assert (message.author, message.body, message.staff, message.gift_offer) == (
        "merchant",
        "Lo sentimos mucho",
        shop.admin,
        None,
    )
    email = OutgoingEmail.objects.get(event=Event.RATING_REPLY)
    assert email.to == rating.customer.email
    assert "Lo sentimos mucho" in email.body and "/rate/" in email.body
    assert shop.merchant.name in email.subject and "respondió" in email.subject
    rating.refresh_from_db()
    assert not rating.gifted and rating.comment_read_at is not None  # answering is reading


def test_the_merchant_may_reply_when_there_is_no_comment(shop):
    silent = actions.rate_visit(helpers.visit(shop), score=10)
    assert actions.reply(silent, body="¡Gracias!", staff=shop.admin).body == "¡Gracias!"


@pytest.mark.parametrize("body", ["", "   ", "x" * 10_000, None])
def test_an_empty_or_too_long_reply_is_refused(shop, rating, body):
    with pytest.raises(errors.ValidationFailed):
        actions.reply(rating, body=body, staff=shop.admin)
    with pytest.raises(errors.ValidationFailed):
        actions.customer_reply(rating, body=body)
    assert not Message.objects.exists() and not OutgoingEmail.objects.exists()


def test_a_reply_with_a_catalog_gift_offers_it_to_the_customer(shop, rating):
    gift = testing.make_gift(shop, "points", points=80, name="80 puntos de disculpa")
    message = actions.reply(rating, body="Un regalo para usted", staff=shop.admin, gift=gift)
    offer = message.gift_offer
    assert (offer.gift, offer.status, offer.offered_by) == (gift, GiftStatus.OFFERED, shop.admin)
    assert offer.membership.customer_id == rating.customer_id
    rating.refresh_from_db()
    assert rating.gifted
    assert "80 puntos de disculpa" in OutgoingEmail.objects.get(event=Event.RATING_REPLY).body
    # The till sees it on the customer's card, and it can be taken there.
    client = Client()
    client.force_login(testing.make_cashier(shop))
    card = client.get(f"/cashier/c/{rating.customer_id}/")
    assert card.status_code == 200 and "80 puntos de disculpa" in card.content.decode()
    taken = offers.redeem_gift(membership=offer.membership, offer_id=offer.pk, branch=shop.branch)
    assert taken.status == GiftStatus.REDEEMED


def test_a_reply_with_a_new_gift_makes_it_on_the_spot(shop, rating):
    message = actions.reply(
        rating,
        body="La próxima va por nuestra cuenta",
        staff=shop.admin,
        new_gift={"kind": "product", "name": "Café americano", "valid_days": 15},
    )
    gift = Gift.objects.get(merchant=shop.merchant, name="Café americano")
    assert (gift.kind, gift.valid_days) == ("product", 15)
    assert message.gift_offer.gift == gift
    discount = actions.reply(
        rating,
        body="Y un descuento",
        staff=shop.admin,
        new_gift={"kind": "discount", "discount_percent": Decimal("20")},
    )
    assert discount.gift_offer.gift.discount_percent == Decimal("20")
    assert GiftOffer.objects.filter(membership__customer=rating.customer).count() == 2


def test_a_bad_new_gift_writes_nothing(shop, rating):
    for bad in (
        {"kind": "points"},
        {"kind": "points", "points": 0},
        {"kind": "discount", "discount_percent": Decimal("150")},
        {"kind": "product"},
        {"kind": "coins", "name": "x"},
    ):
        with pytest.raises(errors.ValidationFailed):
            actions.reply(rating, body="Hola", staff=shop.admin, new_gift=bad)
    assert not Gift.objects.exists() and not Message.objects.exists()
    assert not OutgoingEmail.objects.exists()


def test_another_merchants_gift_is_not_attached(shop, rating):
    other = helpers.shop()
    foreign = testing.make_gift(other, "points", points=10)
    with pytest.raises(errors.NotFound):
        actions.reply(rating, body="Hola", staff=shop.admin, gift=foreign)
    assert not GiftOffer.objects.exists() and not Message.objects.exists()


def test_the_customer_answers_and_read_state_follows(shop, rating):
    reply = actions.reply(rating, body="¿Qué pasó?", staff=shop.admin)
    answer = actions.customer_reply(rating, body="Tardaron 20 minutos")
    reply.refresh_from_db()
    assert answer.author == "customer" and answer.read_at is None
    assert reply.read_at is not None  # the customer answering read the merchant's reply
    assert actions.mark_read(rating, staff=shop.admin) == 1
    answer.refresh_from_db()
    assert answer.read_at is not None
    assert actions.mark_read(rating, staff=shop.admin) == 0  # already read


def test_opening_a_rating_reads_its_comment(shop, rating):
    assert actions.mark_read(rating, staff=shop.admin) == 1
    rating.refresh_from_db()
    assert rating.comment_read_at is not None


def test_anonymising_the_customer_blanks_what_they_wrote(shop, rating):
    from lealtad.customers.privacy import anonymise

    name = rating.customer.first_name
    actions.reply(rating, body=f"Hola {name}, lo sentimos", staff=shop.admin)
    actions.customer_reply(rating, body="Mi número es 3001234567")
    report = anonymise(rating.customer)
    assert report.rating_texts_blanked == 2
    rating.refresh_from_db()
    assert rating.comment == "" and rating.score == 5
    merchant_says = rating.messages.get(author="merchant").body
    assert name not in merchant_says and "lo sentimos" in merchant_says
    assert rating.messages.get(author="customer").body == ""


@pytest.mark.parametrize("country", ["CO", "BR"])
def test_the_ratings_emails_speak_the_merchants_language(country):
    from lealtad.core.tests.test_screens_language import ENGLISH

    shop = helpers.shop(country=country, rating_invite_delay_minutes=0)
    txn = helpers.visit(shop)
    rating = actions.rate_visit(txn, score=2)
    gift = testing.make_gift(shop, "discount", name="Desconto")
    actions.reply(rating, body="Oi", staff=shop.admin, gift=gift)
    actions.save_auto_reply(shop.merchant, subject="Assunto", body="Texto", enabled=True)
    assert (
        actions.send_auto_reply(rating.pk, now=rating.created_at + dt.timedelta(minutes=6)) is False
    )  # answered by hand already: no automatic reply
    emails = OutgoingEmail.objects.filter(event__startswith="rate_")
    assert {e.event for e in emails} == {"rate_invite", "rate_reply"}
    for email in emails:
        text = email.subject + "\n" + email.body.replace(shop.merchant.name, "")
        words = ENGLISH.findall(re.sub(r"https?://\S+", "", text))
        assert not words, (email.event, words, text)
