"""The console's ratings inbox (seed 003) through the test client: the list, its sorts and
filters as links, the reset rule, the detail, replies with gifts, the automatic reply, the
dashboard's NPS, the ratings CSV, tenancy and bad input."""

import csv
import io
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from lealtad.core import testing
from lealtad.network.models import Branch
from lealtad.offers.models import Gift, GiftOffer
from lealtad.ratings.models import AutoReply, Message, Rating
from lealtad.ratings.tests.factories import at, customer_says, make_shop, named, rate

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    return make_shop("Café Aroma", admin="alice")


@pytest.fixture
def north(shop):
    return Branch.objects.create(merchant=shop.merchant, name="Norte")


@pytest.fixture
def ratings(shop, north):
    ana = named(testing.make_customer(shop), "Ana", "Zapata")
    beto = named(testing.make_customer(shop), "Beto", "Arias")
    return {
        "ana9": rate(shop, ana, 9, at(2, 10), "Excelente <b>café</b>"),
        "beto4": rate(shop, beto, 4, at(5, 18), branch=north),
        "ana7": rate(shop, ana, 7, at(10, 16), "Bien"),
    }


@pytest.fixture
def console(shop):
    client = Client()
    client.force_login(shop.admin)
    client.cookies["django_language"] = "en"
    return client


def listed(response) -> list:
    return [row["rating"].pk for row in response.context["rows"]]


def link_query(href: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(href).query).items()}


def test_the_list_newest_first_with_counters_and_nps(console, ratings):
    response = console.get("/console/ratings/")
    assert response.status_code == 200
    assert listed(response) == [ratings[k].pk for k in ("ana7", "beto4", "ana9")]
    assert response.context["counts"] == {"ratings": 3, "comments": 2, "replies": 0, "unread": 2}
    score = response.context["score"]
    assert (score.promoters, score.passives, score.detractors) == (1, 1, 1)
    html = response.content.decode()
    assert '<span class="score promoter">9</span>' in html
    assert '<span class="score passive">7</span>' in html
    assert '<span class="score detractor">4</span>' in html
    assert html.count("✉") == 2  # the two comments
    assert "Excelente <b>" not in html  # a comment is never markup (and not in the list)


def test_a_header_link_sorts_and_the_second_click_reverses(console, ratings):
    first = console.get("/console/ratings/")
    columns = {c["field"]: c for c in first.context["columns"]}
    assert columns["date"]["aria_sort"] == "descending"
    by_score = link_query(columns["score"]["href"])
    assert by_score["sort"] == "-score"
    page = console.get("/console/ratings/", by_score)
    assert listed(page) == [ratings[k].pk for k in ("ana9", "ana7", "beto4")]
    again = {c["field"]: c for c in page.context["columns"]}["score"]
    assert again["aria_sort"] == "descending"
    assert 'aria-sort="descending"' in page.content.decode()
    reversed_ = console.get("/console/ratings/", link_query(again["href"]))
    assert listed(reversed_) == [ratings[k].pk for k in ("beto4", "ana7", "ana9")]
    assert {c["field"]: c for c in reversed_.context["columns"]}["score"]["aria_sort"] == (
        "ascending"
    )


def test_the_inbox_column_puts_unread_first(console, ratings, shop):
    from lealtad.ratings import actions

    actions.mark_read(ratings["ana7"], staff=shop.admin)
    page = console.get("/console/ratings/", {"sort": "unread"})
    assert listed(page)[0] == ratings["ana9"].pk
    assert listed(page)[-1] in (ratings["ana7"].pk, ratings["beto4"].pk)
    back = {c["field"]: c for c in page.context["columns"]}["unread"]
    assert link_query(back["href"])["sort"] == "-unread"


def test_filters_and_the_reset_keeps_sort_and_branch(console, ratings, north):
    query = {"branch": str(north.pk), "from": "2026-03-01", "to": "2026-03-31", "q": "beto"}
    page = console.get("/console/ratings/", {**query, "sort": "score"})
    assert listed(page) == [ratings["beto4"].pk]
    reset = link_query(page.context["reset"])
    assert reset == {"branch": str(north.pk), "sort": "score"}
    # The sort links keep every filter.
    score_link = link_query({c["field"]: c for c in page.context["columns"]}["score"]["href"])
    assert score_link == {**query, "sort": "-score"}
    after = console.get("/console/ratings/", reset)
    assert listed(after) == [ratings["beto4"].pk]  # Norte's only rating, all dates


def test_bad_dates_are_said_next_to_the_field(console, ratings):
    page = console.get("/console/ratings/", {"from": "2026-03-10", "to": "2026-03-01"})
    assert page.status_code == 400
    assert "The end date is before the start date." in page.content.decode()
    assert len(listed(page)) == 3  # the list stays, unfiltered
    page = console.get("/console/ratings/", {"from": "31/02/2026"})
    assert page.status_code == 400
    assert 'id="from-error"' in page.content.decode()


def test_a_bad_sort_or_branch_is_not_a_500(console, ratings, shop):
    assert console.get("/console/ratings/", {"sort": "price"}).status_code == 400
    other = make_shop("Otra")
    assert console.get("/console/ratings/", {"branch": str(other.branch.pk)}).status_code == 400


def test_paging(console, shop, ratings):
    who = testing.make_customer(shop)
    for day in range(1, 28):
        rate(shop, who, 8, at(day, 8, month=4))
    first = console.get("/console/ratings/")
    assert len(listed(first)) == 25
    second = console.get("/console/ratings/", {"page": 2})
    assert len(listed(second)) == 5
    assert not set(listed(first)) & set(listed(second))


def test_opening_the_detail_marks_it_read_and_shows_the_seed(console, ratings, shop):
    rating = ratings["ana9"]
    customer_says(rating, "¿Me responden?", at(3, 9))
    page = console.get(f"/console/ratings/{rating.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    rating.refresh_from_db()
    assert rating.comment_read_at is not None
    assert not Message.objects.filter(rating=rating, read_at__isnull=True).exists()
    assert "Ana Zapata" in html
    assert page.context["last_score"] == 7  # her latest rating here, not this one
    assert page.context["gifts"] == {"offered": 0, "redeemed": 0, "expired": 0}
    assert f"/console/customers/{rating.customer_id}/" in html
    assert "Excelente &lt;b&gt;café&lt;/b&gt;" in html  # escaped
    assert "¿Me responden?" in html
    assert "See invoice" in html and rating.transaction.invoice_number in html
    assert page.context["earlier"] == 0


def test_see_history_lists_this_customers_ratings_only(console, ratings):
    page = console.get(f"/console/ratings/{ratings['ana7'].pk}/", {"history": "1"})
    assert listed(page) == [ratings["ana7"].pk, ratings["ana9"].pk]


def test_reply_with_a_catalog_gift(console, ratings, shop):
    gift = testing.make_gift(shop, name="Postre")
    rating = ratings["beto4"]
    response = console.post(
        f"/console/ratings/{rating.pk}/reply/", {"body": "Lo sentimos", "gift": str(gift.pk)}
    )
    assert response.status_code == 302
    message = Message.objects.get(rating=rating)
    assert (message.author, message.body, message.staff) == ("merchant", "Lo sentimos", shop.admin)
    assert message.gift_offer.gift == gift
    rating.refresh_from_db()
    assert rating.gifted
    page = console.get("/console/ratings/")
    assert 'class="tag gift-tag"' in page.content.decode()
    assert page.context["counts"]["replies"] == 1


def test_reply_with_a_new_gift(console, ratings, shop):
    rating = ratings["beto4"]
    response = console.post(
        f"/console/ratings/{rating.pk}/reply/",
        {"body": "Tome unos puntos", "new_gift": "1", "new-kind": "points", "new-points": "40"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    offer = GiftOffer.objects.get(membership__customer=rating.customer)
    assert (offer.gift.kind, offer.gift.points) == ("points", 40)


def test_a_bad_reply_writes_nothing(console, ratings, shop):
    rating = ratings["beto4"]
    empty = console.post(f"/console/ratings/{rating.pk}/reply/", {"body": "   "})
    assert empty.status_code == 400
    assert "Write a message." in empty.content.decode()
    long = console.post(f"/console/ratings/{rating.pk}/reply/", {"body": "x" * 10_000})
    assert long.status_code == 400
    no_points = console.post(
        f"/console/ratings/{rating.pk}/reply/",
        {"body": "Un regalo", "new_gift": "1", "new-kind": "points"},
    )
    assert no_points.status_code == 400
    assert "How many points?" in no_points.content.decode()
    assert not Message.objects.filter(rating=rating).exists()
    assert not Gift.objects.filter(merchant=shop.merchant).exists()


def test_another_merchants_rating_is_404(ratings):
    other = make_shop("Otra", admin="charlie")
    client = Client()
    client.force_login(other.admin)
    rating = ratings["ana9"]
    assert client.get(f"/console/ratings/{rating.pk}/").status_code == 404
    assert client.post(f"/console/ratings/{rating.pk}/reply/", {"body": "x"}).status_code == 404
    assert client.get("/console/ratings/").context["counts"]["ratings"] == 0
    assert client.get("/console/ratings/not-an-id/").status_code == 404
    rating.refresh_from_db()
    assert rating.comment_read_at is None


def test_a_cashier_does_not_see_the_inbox(shop, ratings):
    client = Client()
    client.force_login(testing.make_cashier(shop))
    assert client.get("/console/ratings/").status_code == 404


def test_auto_reply_save_and_toggle(console, shop):
    page = console.get("/console/ratings/auto-reply/")
    assert page.status_code == 200
    bad = console.post("/console/ratings/auto-reply/", {"subject": "", "body": "Hola"})
    assert bad.status_code == 400
    assert not AutoReply.objects.filter(merchant=shop.merchant).exists()
    saved = console.post(
        "/console/ratings/auto-reply/",
        {"subject": "Queremos saber", "body": "¿Qué pasó?", "enabled": "on"},
    )
    assert saved.status_code == 302
    reply = AutoReply.objects.get(merchant=shop.merchant)
    assert (reply.subject, reply.body, reply.enabled) == ("Queremos saber", "¿Qué pasó?", True)
    assert console.post("/console/ratings/auto-reply/toggle/").status_code == 302
    reply.refresh_from_db()
    assert reply.enabled is False
    assert 'aria-checked="false"' in console.get("/console/ratings/auto-reply/").content.decode()


def test_the_dashboard_shows_the_periods_nps(console, ratings):
    page = console.get("/console/dashboard/", {"from": "2026-03-01", "to": "2026-03-31"})
    assert page.status_code == 200
    nps = page.context["nps"]
    assert nps["score"].ratings == 3 and str(nps["score"].nps) == "0.0"
    assert nps["by"] == "week"
    assert dict(nps["distribution"]["table"])[9] == 1
    html = page.content.decode()
    assert 'id="nps">0.0<' in html
    assert 'id="nps-series-title"' in html and 'id="nps-distribution-title"' in html
    monthly = console.get(
        "/console/dashboard/", {"from": "2026-03-01", "to": "2026-03-31", "nps_by": "month"}
    )
    assert monthly.context["nps"]["by"] == "month"
    empty = console.get("/console/dashboard/", {"from": "2025-01-01", "to": "2025-01-31"})
    assert empty.context["nps"]["score"].nps is None
    assert "No ratings in this period." in empty.content.decode()


def test_the_ratings_csv(console, ratings, north):
    ratings["ana9"].comment = "=HYPERLINK(1)"
    ratings["ana9"].save(update_fields=["comment"])
    response = console.get(
        "/console/exports/ratings.csv", {"from": "2026-03-01", "to": "2026-03-31"}
    )
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0] == [
        "Date",
        "Branch",
        "Customer",
        "Document type",
        "Document number",
        "Score",
        "Comment",
        "Replies",
        "Gifted",
    ]
    assert [r[5] for r in rows[1:]] == ["9", "4", "7"]
    assert rows[1][6] == "'=HYPERLINK(1)"  # disarmed
    assert rows[1][0].startswith("2026-03-02T10:00:00-05:00")
    by_branch = console.get(
        "/console/exports/ratings.csv",
        {"from": "2026-03-01", "to": "2026-03-31", "branch": str(north.pk)},
    )
    lines = b"".join(by_branch.streaming_content).decode("utf-8-sig").strip().splitlines()
    assert len(lines) == 2 and "Norte" in lines[1]
    exports = console.get("/console/exports/", {"from": "2026-03-01", "to": "2026-03-31"})
    assert exports.context["ratings"] == 3
    assert "/console/exports/ratings.csv?" in exports.content.decode()
    bad = console.get("/console/exports/ratings.csv", {"from": "2026-03-31", "to": "2026-03-01"})
    assert bad.status_code == 400


def test_no_ratings_means_no_500(console):
    page = console.get("/console/ratings/")
    assert page.status_code == 200
    assert "No ratings match." in page.content.decode()
    assert page.context["score"].nps is None
    assert Rating.objects.count() == 0
