"""F1/F6 under concurrency (PostgreSQL, threads): one rating per visit however many submits
arrive at once, and one automatic reply however many workers take it."""

import datetime as dt

import pytest
from django.conf import settings
from django.utils import timezone

from lealtad.core import errors
from lealtad.ledger.tests.test_concurrency import run_together
from lealtad.notifications.models import Event, OutgoingEmail
from lealtad.ratings import actions
from lealtad.ratings.models import Message, Rating
from lealtad.ratings.tests import helpers

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason="needs PostgreSQL (row locks): set DATABASE_URL=postgres://… to run it",
    ),
    pytest.mark.django_db(transaction=True),
]


def test_two_submits_of_one_visit_at_once_make_one_rating():
    txn = helpers.visit(helpers.shop(rating_invite=False))
    results = run_together(2, lambda i: actions.rate_visit(txn, score=3 + i))
    assert sum(isinstance(r, Rating) for r in results) == 1
    assert sum(isinstance(r, errors.AlreadyRated) for r in results) == 1, results
    assert Rating.objects.count() == 1


def test_two_workers_send_the_automatic_reply_once():
    shop = helpers.shop(rating_invite=False)
    actions.save_auto_reply(shop.merchant, subject="Hola", body="¿Qué pasó?", enabled=True)
    now = timezone.now()
    ratings = [actions.rate_visit(helpers.visit(shop), score=2, now=now) for _ in range(3)]
    later = now + dt.timedelta(minutes=6)
    results = run_together(4, lambda _i: actions.send_auto_replies(now=later))
    assert sum(results) == 3, results
    assert OutgoingEmail.objects.filter(event=Event.AUTO_REPLY).count() == 3
    assert Message.objects.filter(automatic=True).count() == 3
    assert {m.rating_id for m in Message.objects.all()} == {r.pk for r in ratings}
