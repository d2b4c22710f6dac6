"""F2 and F7 on known data: every sort both ways, every filter, the counters, NPS."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lealtad.core import testing
from lealtad.core.errors import NotFound
from lealtad.network.models import Branch
from lealtad.ratings import counters, inbox, nps
from lealtad.ratings.models import Author, Message
from lealtad.ratings.tests.factories import at, customer_says, make_shop, named, rate

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    return make_shop("Café Aroma", admin="alice")


@pytest.fixture
def north(shop):
    return Branch.objects.create(merchant=shop.merchant, name="Norte")


@pytest.fixture
def march(shop, north):
    """Four ratings in March 2026 (Bogotá), one in February:

    - Ana Zapata: 9 on 2 March at the main branch, comment "Excelente" (unread).
    - Beto Arias: 4 on 5 March at Norte, no comment; he answers the merchant later (unread).
    - Caro Méndez: 7 on 3 March at 23:30 (already the 4th in UTC), main, comment, read.
    - Ana Zapata again: 10 on 10 March at Norte, no comment.
    - Dora Ríos: 2 on 20 February, main, comment.
    """
    ana = named(testing.make_customer(shop), "Ana", "Zapata")
    beto = named(testing.make_customer(shop), "Beto", "Arias")
    caro = named(testing.make_customer(shop), "Caro", "Méndez")
    dora = named(testing.make_customer(shop), "Dora", "Ríos")
    r = {
        "ana9": rate(shop, ana, 9, at(2, 10), "Excelente"),
        "beto4": rate(shop, beto, 4, at(5, 18), branch=north),
        "caro7": rate(shop, caro, 7, at(3, 23, 30), "Bien, algo lento"),
        "ana10": rate(shop, ana, 10, at(10, 16), branch=north),
        "dora2": rate(shop, dora, 2, at(20, 11, month=2), "Frío"),
    }
    r["caro7"].comment_read_at = at(4, 8)
    r["caro7"].save(update_fields=["comment_read_at"])
    Message.objects.create(
        rating=r["beto4"], author=Author.MERCHANT, body="¿Qué pasó?", created_at=at(6, 9)
    )
    customer_says(r["beto4"], "El café llegó frío", at(6, 10))
    counters.rebuild(shop.merchant)  # written around the actions above: recount the days
    return r


def keys(rows, march):
    names = {v.pk: k for k, v in march.items()}
    return [names[row.pk] for row in rows]


MARCH = {"date_from": dt.date(2026, 3, 1), "date_to": dt.date(2026, 3, 31)}


def test_newest_first_by_default(shop, march):
    rows = inbox.inbox(shop.merchant)
    assert keys(rows, march) == ["ana10", "beto4", "caro7", "ana9", "dora2"]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("date", ["dora2", "ana9", "caro7", "beto4", "ana10"]),
        ("-date", ["ana10", "beto4", "caro7", "ana9", "dora2"]),
        ("score", ["dora2", "beto4", "caro7", "ana9", "ana10"]),
        ("-score", ["ana10", "ana9", "caro7", "beto4", "dora2"]),
        # By the name shown (first names, then last): Ana twice (oldest first), Beto, Caro, Dora.
        ("customer", ["ana9", "ana10", "beto4", "caro7", "dora2"]),
        ("-customer", ["dora2", "caro7", "beto4", "ana10", "ana9"]),
        # Unread: Ana's comment, Beto's answer, Dora's comment; newest first in each group.
        ("unread", ["beto4", "ana9", "dora2", "ana10", "caro7"]),
        ("-unread", ["ana10", "caro7", "beto4", "ana9", "dora2"]),
    ],
)
def test_every_sort(shop, march, sort, expected):
    assert keys(inbox.inbox(shop.merchant, sort=sort), march) == expected


@pytest.mark.parametrize("field", ["date", "score", "customer"])
def test_the_reverse_sort_is_the_mirror(shop, march, field):
    up = keys(inbox.inbox(shop.merchant, sort=field), march)
    down = keys(inbox.inbox(shop.merchant, sort=f"-{field}"), march)
    assert down == up[::-1]


def test_ties_are_broken_by_id_so_pages_are_stable(shop, march):
    same = [march["ana9"], *(rate(shop, march["ana9"], 9, at(2, 10)) for _ in range(3))]
    ids = sorted(r.pk for r in same)
    assert [r.pk for r in inbox.inbox(shop.merchant, sort="score") if r.score == 9] == ids
    assert [r.pk for r in inbox.inbox(shop.merchant, sort="-score") if r.score == 9] == ids[::-1]


def test_unknown_sort_is_refused(shop):
    with pytest.raises(ValueError):
        inbox.inbox(shop.merchant, sort="price")


def test_filter_by_branch(shop, march, north):
    assert keys(inbox.inbox(shop.merchant, branch=north), march) == ["ana10", "beto4"]
    assert keys(inbox.inbox(shop.merchant, branch=shop.branch), march) == [
        "caro7",
        "ana9",
        "dora2",
    ]


def test_filter_by_dates_in_the_merchants_days(shop, march):
    # 23:30 on 3 March in Bogotá is 4 March in UTC: it belongs to the 3rd.
    third = {"date_from": dt.date(2026, 3, 3), "date_to": dt.date(2026, 3, 3)}
    assert keys(inbox.inbox(shop.merchant, **third), march) == ["caro7"]
    assert keys(inbox.inbox(shop.merchant, **MARCH), march) == ["ana10", "beto4", "caro7", "ana9"]
    since = inbox.inbox(shop.merchant, date_from=dt.date(2026, 3, 5))
    assert keys(since, march) == ["ana10", "beto4"]
    until = inbox.inbox(shop.merchant, date_to=dt.date(2026, 2, 28))
    assert keys(until, march) == ["dora2"]


def test_filter_by_customer_name(shop, march):
    assert keys(inbox.inbox(shop.merchant, q="zapa"), march) == ["ana10", "ana9"]
    assert keys(inbox.inbox(shop.merchant, q="ana ZAPATA"), march) == ["ana10", "ana9"]
    assert keys(inbox.inbox(shop.merchant, q="Méndez"), march) == ["caro7"]
    assert list(inbox.inbox(shop.merchant, q="Nadie")) == []


def test_filters_combine(shop, march, north):
    rows = inbox.inbox(shop.merchant, branch=north, q="ana", **MARCH, sort="score")
    assert keys(rows, march) == ["ana10"]


def test_counts(shop, march, north):
    assert inbox.counts(shop.merchant) == {
        "ratings": 5,
        "comments": 3,
        "replies": 1,
        "unread": 3,
    }
    assert inbox.counts(shop.merchant, north) == {
        "ratings": 2,
        "comments": 0,
        "replies": 1,
        "unread": 1,
    }
    assert inbox.counts(shop.merchant, date_to=dt.date(2026, 2, 28)) == {
        "ratings": 1,
        "comments": 1,
        "replies": 0,
        "unread": 1,
    }


def test_reading_clears_unread(shop, march):
    from lealtad.ratings import actions

    actions.mark_read(march["beto4"], staff=shop.admin)
    actions.mark_read(march["ana9"], staff=shop.admin)
    assert inbox.counts(shop.merchant)["unread"] == 1
    unread = [r.pk for r in inbox.inbox(shop.merchant) if r.unread]
    assert unread == [march["dora2"].pk]


def test_another_merchants_ratings_are_invisible(shop, march):
    other = make_shop("Otra", admin="charlie")
    rate(other, testing.make_customer(other), 1, at(5, 12), "¡Malo!")
    assert inbox.counts(shop.merchant)["ratings"] == 5
    assert inbox.counts(other.merchant) == {"ratings": 1, "comments": 1, "replies": 0, "unread": 1}
    with pytest.raises(NotFound):
        inbox.get_rating_for(other.merchant, march["ana9"].pk)
    with pytest.raises(NotFound):
        inbox.get_rating_for(shop.merchant, "not-an-id")


@pytest.mark.parametrize(("sort", "most"), [("-date", 1), ("customer", 1), ("unread", 4)])
def test_the_list_costs_fixed_queries(shop, march, sort, most):
    """A page is one query (the "unread" order: the two counts that split it, and at most one
    query per group), customers and branches included, whatever the number of ratings."""
    with CaptureQueriesContext(connection) as queries:
        rows = list(inbox.inbox(shop.merchant, sort=sort)[:25])
        [(r.customer.full_name, r.branch.name if r.branch else "", r.unread) for r in rows]
    assert len(rows) == 5
    assert len(queries) <= most


def test_unread_first_pages_across_both_groups(shop, march):
    rows = inbox.inbox(shop.merchant, sort="unread")
    assert rows.count() == 5 and len(rows) == 5
    whole = [r.pk for r in rows]
    assert [r.pk for r in rows[0:2]] + [r.pk for r in rows[2:5]] == whole
    assert [r.pk for r in rows[1:4]] == whole[1:4]
    assert rows[4].pk == whole[4]
    assert rows[5:10] == []
    with pytest.raises(IndexError):
        rows[7]


# --- NPS --------------------------------------------------------------------------------------


def test_nps_on_known_data(shop):
    """6 promoters, 2 passives, 2 detractors: 60 % − 20 % = 40.0."""
    who = testing.make_customer(shop)
    for i, value in enumerate([9, 10, 9, 10, 9, 10, 7, 8, 6, 1]):
        rate(shop, who, value, at(1 + i, 12))
    score = nps.nps(shop.merchant, **MARCH)
    assert (score.ratings, score.promoters, score.passives, score.detractors) == (10, 6, 2, 2)
    assert score.nps == Decimal("40.0")
    assert score.as_dict()["nps"] == 40.0


def test_nps_rounds_half_up_to_one_decimal(shop):
    who = testing.make_customer(shop)
    for value in (9, 9, 6, 8, 8, 8):  # (2 − 1) / 6 = 16.666… → 16.7
        rate(shop, who, value, at(2, 12))
    assert nps.nps(shop.merchant, **MARCH).nps == Decimal("16.7")
    assert nps.score(1, 0, 8) == Decimal("12.5")  # exactly half: up
    assert nps.score(0, 1, 8) == Decimal("-12.5")
    assert nps.score(0, 3, 3) == Decimal("-100.0")


def test_nps_without_ratings_is_none_not_zero(shop):
    score = nps.nps(shop.merchant, **MARCH)
    assert score.ratings == 0
    assert score.nps is None
    assert score.as_dict() == {
        "ratings": 0,
        "promoters": 0,
        "passives": 0,
        "detractors": 0,
        "nps": None,
    }


def test_nps_by_branch_and_period(shop, march, north):
    assert nps.nps(shop.merchant, **MARCH, branch=north).as_dict() == {
        "ratings": 2,
        "promoters": 1,
        "passives": 0,
        "detractors": 1,
        "nps": 0.0,
    }
    # All of March: 9, 4, 7, 10 → (2 − 1) / 4 = 25.0
    assert nps.nps(shop.merchant, **MARCH).nps == Decimal("25.0")
    everything = nps.nps(shop.merchant, date_from=None, date_to=None)
    assert everything.ratings == 5 and everything.nps == Decimal("0.0")


def test_nps_series_per_week_and_month(shop, march):
    weeks = nps.nps_series(
        shop.merchant, date_from=dt.date(2026, 2, 16), date_to=dt.date(2026, 3, 15), by="week"
    )
    assert [d for d, _s in weeks] == [
        dt.date(2026, 2, 16),
        dt.date(2026, 2, 23),
        dt.date(2026, 3, 2),
        dt.date(2026, 3, 9),
    ]
    by_week = [(s.ratings, s.nps) for _d, s in weeks]
    # Dora's 2 (20 Feb); none; 9, 7 (3 March at 23:30 local), 4; 10.
    assert by_week == [
        (1, Decimal("-100.0")),
        (0, None),
        (3, Decimal("0.0")),
        (1, Decimal("100.0")),
    ]
    months = nps.nps_series(
        shop.merchant, date_from=dt.date(2026, 2, 1), date_to=dt.date(2026, 3, 31), by="month"
    )
    assert [(d, s.ratings) for d, s in months] == [
        (dt.date(2026, 2, 1), 1),
        (dt.date(2026, 3, 1), 4),
    ]
    with pytest.raises(ValueError):
        nps.nps_series(shop.merchant, date_from=None, date_to=None, by="day")


def test_distribution_counts_every_score(shop, march):
    counts = nps.distribution(shop.merchant, date_from=None, date_to=None)
    assert dict(counts) == {1: 0, 2: 1, 3: 0, 4: 1, 5: 0, 6: 0, 7: 1, 8: 0, 9: 1, 10: 1}
    assert [value for value, _n in counts] == list(range(1, 11))


def test_colours():
    assert [nps.colour(v) for v in (1, 6, 7, 8, 9, 10)] == [
        "detractor",
        "detractor",
        "passive",
        "passive",
        "promoter",
        "promoter",
    ]
