"""GET /ratings, GET /nps and POST /ratings/{id}/messages (API.md Part 2, "Ratings"): the
shapes, every sort and filter through the query string, bad input as 422 naming the field,
staff only, and another merchant's rating as 404."""

import pytest

from lealtad.api.tests.conftest import Api
from lealtad.core import testing
from lealtad.network.models import Branch
from lealtad.ratings.models import Message, Rating
from lealtad.ratings.tests.factories import at, make_shop, named, rate

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
        "ana9": rate(shop, ana, 9, at(2, 10), "Excelente"),
        "beto4": rate(shop, beto, 4, at(5, 18), branch=north),
        "ana10": rate(shop, ana, 10, at(10, 16), "Muy bien"),
    }


@pytest.fixture
def api(shop):
    return Api(testing.token_for(shop.admin))


def ids(response) -> list[str]:
    return [row["id"] for row in response.json()["results"]]


def test_the_list_shape(api, ratings, north):
    response = api.get("/ratings")
    assert response.status_code == 200
    body = response.json()
    assert body["counts"] == {"ratings": 3, "comments": 2, "replies": 0, "unread": 2}
    first = body["results"][0]
    rating = ratings["ana10"]
    assert first == {
        "id": str(rating.pk),
        "score": 10,
        "comment": "Muy bien",
        "customer": {"id": str(rating.customer_id), "name": "Ana Zapata"},
        "at": "2026-03-10T16:00:00-05:00",
        "branch_id": str(rating.branch_id),
        "transaction_id": str(rating.transaction_id),
        "read": False,
        "gifted": False,
    }
    assert (body["page"], body["pages"], body["total"]) == (1, 1, 3)


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("date", ["ana9", "beto4", "ana10"]),
        ("-date", ["ana10", "beto4", "ana9"]),
        ("score", ["beto4", "ana9", "ana10"]),
        ("-score", ["ana10", "ana9", "beto4"]),
        ("customer", ["ana9", "ana10", "beto4"]),
        ("-customer", ["beto4", "ana10", "ana9"]),
        ("unread", ["ana10", "ana9", "beto4"]),
    ],
)
def test_sorts(api, ratings, sort, expected):
    assert ids(api.get("/ratings", {"sort": sort})) == [str(ratings[k].pk) for k in expected]


def test_filters(api, ratings, north):
    assert ids(api.get("/ratings", {"branch_id": str(north.pk)})) == [str(ratings["beto4"].pk)]
    march_5 = api.get("/ratings", {"from": "2026-03-05", "to": "2026-03-05"})
    assert ids(march_5) == [str(ratings["beto4"].pk)]
    assert march_5.json()["counts"]["ratings"] == 1
    assert ids(api.get("/ratings", {"q": "zapata", "sort": "date"})) == [
        str(ratings["ana9"].pk),
        str(ratings["ana10"].pk),
    ]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"sort": "price"}, "sort"),
        ({"from": "2026-13-01"}, "from"),
        ({"to": "yesterday"}, "to"),
        ({"from": "2026-03-10", "to": "2026-03-01"}, "to"),
        ({"page": "0"}, "page"),
        ({"per_page": "1000"}, "per_page"),
        ({"q": "x" * 121}, "q"),
    ],
)
def test_bad_query_is_422_naming_the_field(api, ratings, query, field):
    response = api.get("/ratings", query)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert [e["field"] for e in body["errors"]] == [field]


def test_nps_shape_and_rules(api, ratings, north):
    body = api.get("/nps", {"from": "2026-03-01", "to": "2026-03-31"}).json()
    # 9, 10 promoters; 4 a detractor: (2 − 1) / 3 = 33.3
    assert body == {"ratings": 3, "promoters": 2, "passives": 0, "detractors": 1, "nps": 33.3}
    assert api.get("/nps", {"branch_id": str(north.pk)}).json()["nps"] == -100.0
    empty = api.get("/nps", {"from": "2020-01-01", "to": "2020-01-31"}).json()
    assert empty == {"ratings": 0, "promoters": 0, "passives": 0, "detractors": 0, "nps": None}
    bad = api.get("/nps", {"from": "1/3/2026"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "from"


def test_post_a_message_with_a_gift(api, ratings, shop):
    gift = testing.make_gift(shop, name="Postre")
    rating = ratings["beto4"]
    response = api.post(
        f"/ratings/{rating.pk}/messages", {"body": "Lo sentimos", "gift_id": str(gift.pk)}
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["author"] == "merchant" and body["body"] == "Lo sentimos"
    assert body["gift_offer_id"]
    rating.refresh_from_db()
    assert rating.gifted
    assert api.get("/ratings").json()["counts"]["replies"] == 1


def test_post_a_message_refuses_bad_input_and_writes_nothing(api, ratings, shop):
    rating = ratings["beto4"]
    for body in ({"body": ""}, {"body": "   "}, {"body": "x" * 10_001}, {}, {"body": 5}):
        response = api.post(f"/ratings/{rating.pk}/messages", body)
        assert response.status_code == 422, body
        assert response.json()["code"] == "validation_error"
    other_gift = testing.make_gift(make_shop("Otra"))
    response = api.post(
        f"/ratings/{rating.pk}/messages", {"body": "Hola", "gift_id": str(other_gift.pk)}
    )
    assert response.status_code == 404
    assert not Message.objects.filter(rating=rating).exists()


def test_tenancy_and_roles(ratings, shop):
    other = make_shop("Otra", admin="charlie")
    charlie = Api(testing.token_for(other.admin))
    rating = ratings["ana9"]
    assert charlie.get("/ratings").json()["counts"]["ratings"] == 0
    response = charlie.post(f"/ratings/{rating.pk}/messages", {"body": "Hola"})
    assert response.status_code == 404
    assert charlie.post("/ratings/not-an-id/messages", {"body": "Hola"}).status_code == 404
    assert charlie.get("/ratings", {"branch_id": str(shop.branch.pk)}).status_code == 404
    assert Api(shop.api_key).get("/ratings").status_code == 403  # a POS key is not staff
    assert Api().get("/ratings").status_code == 401
    cashier = Api(testing.token_for(testing.make_cashier(shop)))
    assert cashier.get("/ratings").status_code == 200
    assert Rating.objects.get(pk=rating.pk).comment_read_at is None
