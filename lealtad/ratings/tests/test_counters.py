"""The inbox's day counters (ratings.counters) always equal what the ratings themselves say:
after any sequence of the actions, per branch and period, under concurrency, and rebuilt."""

import datetime as dt
import random

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lealtad.core import testing
from lealtad.customers import privacy
from lealtad.ledger.tests.test_concurrency import run_together
from lealtad.network.models import Branch, Merchant
from lealtad.ratings import actions, counters, inbox, nps
from lealtad.ratings.models import RatingDay
from lealtad.ratings.tests import helpers
from lealtad.ratings.tests.factories import at, customer_says, make_shop, rate

pytestmark = pytest.mark.django_db

PERIODS = [
    {},
    {"date_from": dt.date(2026, 3, 1), "date_to": dt.date(2026, 3, 31)},
    {"date_from": dt.date(2026, 3, 3), "date_to": dt.date(2026, 3, 3)},
    {"date_to": dt.date(2026, 2, 28)},
]


def assert_counts_match(merchant, branches):
    for branch in [None, *branches]:
        for period in PERIODS:
            assert inbox.counts(merchant, branch, **period) == inbox.counts_scanned(
                merchant, branch, **period
            ), (branch, period)
            dates = {"date_from": None, "date_to": None, **period}
            assert nps.distribution(merchant, branch=branch, **dates) == (
                nps.distribution_scanned(merchant, branch=branch, **dates)
            )
    whole = {"date_from": dt.date(2026, 2, 1), "date_to": dt.date(2026, 3, 31)}
    for by in ("week", "month"):
        assert nps.nps_series(merchant, by=by, **whole) == nps.nps_series_scanned(
            merchant, by=by, **whole
        )


@pytest.mark.parametrize("seed", range(4))
def test_any_sequence_of_actions_keeps_the_counters_right(seed):
    rng = random.Random(seed)
    shop = make_shop("Café Aroma", admin=f"admin{seed}")
    north = Branch.objects.create(merchant=shop.merchant, name="Norte")
    people = [testing.make_customer(shop) for _ in range(4)]
    ratings = []
    for step in range(30):
        move = rng.choice(["rate", "rate", "reply", "answer", "read", "auto"])
        if move == "rate" or not ratings:
            day, hour = (
                rng.choice([(20, 12), (2, 10), (3, 23), (4, 0), (10, 16)]),
                rng.randrange(24),
            )
            when = at(day[0], hour, month=2 if day[0] == 20 else 3)
            comment = rng.choice(["", "", "Excelente", "Frío"])
            branch = rng.choice([shop.branch, north])
            ratings.append(
                rate(shop, rng.choice(people), rng.randint(1, 10), when, comment, branch=branch)
            )
        elif move == "reply":
            actions.reply(rng.choice(ratings), body=f"Gracias {step}", staff=shop.admin)
        elif move == "answer":
            customer_says(rng.choice(ratings), f"Respuesta {step}")
        elif move == "read":
            actions.mark_read(rng.choice(ratings), staff=shop.admin)
        else:
            actions.save_auto_reply(shop.merchant, subject="Hola", body="¿Qué pasó?", enabled=True)
            silent = [r for r in ratings if r.score <= 6 and not r.comment]
            if silent:
                pick = rng.choice(silent)
                actions.send_auto_reply(pick.pk, now=pick.created_at + dt.timedelta(minutes=6))
    assert_counts_match(shop.merchant, [shop.branch, north])
    kept = sorted(
        RatingDay.objects.filter(merchant=shop.merchant).values_list(
            "branch_id", "day", "ratings", "comments", "replies", "unread", "score_1", "score_10"
        )
    )
    counters.rebuild(shop.merchant)
    rebuilt = sorted(
        RatingDay.objects.filter(merchant=shop.merchant).values_list(
            "branch_id", "day", "ratings", "comments", "replies", "unread", "score_1", "score_10"
        )
    )
    assert kept == rebuilt


def test_a_merchants_days_are_its_own_calendar():
    """23:30 in Bogotá is the next day in UTC: the day row is Bogotá's."""
    shop = make_shop()
    rate(shop, testing.make_customer(shop), 7, at(3, 23, 30), "Bien")
    (row,) = RatingDay.objects.filter(merchant=shop.merchant)
    assert (row.day, row.ratings, row.comments, row.unread, row.score_7) == (
        dt.date(2026, 3, 3),
        1,
        1,
        1,
        1,
    )


def test_the_header_reads_one_query_whatever_the_number_of_ratings():
    shop = make_shop()
    for day in range(1, 6):
        rate(shop, testing.make_customer(shop), day + 4, at(day), "Bien")
    with CaptureQueriesContext(connection) as seen:
        assert inbox.counts(shop.merchant)["ratings"] == 5
        assert nps.nps(shop.merchant, date_from=None, date_to=None).ratings == 5
    assert len(seen) == 2


def test_a_name_filter_counts_the_ratings_themselves():
    shop = make_shop()
    ana = testing.make_customer(shop)
    ana.customer.first_name = "Zuleidy"
    ana.customer.save()
    rate(shop, ana, 9, at(2), "Excelente")
    rate(shop, testing.make_customer(shop), 3, at(2), "Malo")
    assert inbox.counts(shop.merchant, q="zuleidy")["ratings"] == 1
    assert inbox.counts(shop.merchant)["ratings"] == 2


def test_anonymising_a_customer_recounts_their_days():
    shop = make_shop()
    gone = testing.make_customer(shop)
    rate(shop, gone, 2, at(2), "Horrible")
    rate(shop, testing.make_customer(shop), 9, at(2), "Excelente")
    assert inbox.counts(shop.merchant)["comments"] == 2
    privacy.anonymise_customer(gone.customer)
    assert inbox.counts(shop.merchant) == inbox.counts_scanned(shop.merchant)
    assert inbox.counts(shop.merchant)["comments"] == 1


def test_the_rebuild_command_recounts_every_merchant(capsys):
    from django.core.management import call_command

    shop = make_shop()
    rate(shop, testing.make_customer(shop), 9, at(2), "Excelente")
    RatingDay.objects.all().delete()
    call_command("rebuild_rating_counters")
    assert inbox.counts(shop.merchant)["ratings"] == 1
    assert "1" in capsys.readouterr().out


@pytest.mark.postgres
@pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
    reason="needs PostgreSQL (row locks): set DATABASE_URL=postgres://… to run it",
)
@pytest.mark.django_db(transaction=True)
def test_ratings_of_one_day_written_at_once_are_all_counted():
    """Eight visits rated at the same instant (eight transactions): the day's row, created by
    one of them and recounted by each after the one before committed, counts eight."""
    shop = helpers.shop(rating_invite=False)
    visits = [helpers.visit(shop) for _ in range(8)]
    Merchant.objects.filter(pk=shop.merchant.pk).update(rating_invite=False)
    results = run_together(8, lambda i: actions.rate_visit(visits[i], score=1 + i, comment="x"))
    assert all(not isinstance(r, Exception) for r in results), results
    assert inbox.counts(shop.merchant) == {"ratings": 8, "comments": 8, "replies": 0, "unread": 8}
    assert inbox.counts(shop.merchant) == inbox.counts_scanned(shop.merchant)
    assert RatingDay.objects.filter(merchant=shop.merchant).count() == 1
