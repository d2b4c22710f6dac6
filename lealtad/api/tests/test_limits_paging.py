"""Issue 16, limits: every list endpoint is paged with a maximum page size.

The list operations are found in the OpenAPI schema (a GET whose answer is a list, or an object
with a `results` list), so a new list endpoint without paging fails here: it must declare a
page size parameter (`limit`, or `per_page` for the ratings inbox) with a `maximum`; a page size
above it is 422 `validation_error` naming the parameter; `limit=1` answers at most one row and,
where more follow, says where the next page is (a `Link: rel="next"` header, `next_offset`,
`next_page` or `next_before`), and that page holds another row."""

import functools
import re

import pytest
from django.test import Client

from lealtad.api.api import api
from lealtad.app.testing import customer_token
from lealtad.app.tests.boundary import build_world
from lealtad.coins import partners
from lealtad.core import testing
from lealtad.webhooks import actions as webhooks

PREFIX = "/api/v1"
SIZE_PARAMS = ("limit", "per_page")
NEXT_FIELDS = ("next_offset", "next_page", "next_before")
LINK = re.compile(r'<([^>]+)>;\s*rel="next"')


@functools.cache
def _schema():
    return api.get_openapi_schema()


def _resolve(schema, node):
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].split("/")[-1]]
    return node


def list_operations() -> list[tuple[str, dict]]:
    schema = _schema()
    found = []
    for path, operations in schema["paths"].items():
        op = operations.get("get")
        if op is None:
            continue
        ok = op["responses"].get(200) or op["responses"].get("200") or {}
        body = next(iter(ok.get("content", {}).values()), {}).get("schema")
        if body is None:
            continue
        body = _resolve(schema, body)
        results = body.get("properties", {}).get("results")
        if body.get("type") == "array" or (
            results is not None and _resolve(schema, results).get("type") == "array"
        ):
            found.append((path.removeprefix(PREFIX), op))
    return found


def size_param(op) -> tuple[str, int] | None:
    """(the page size parameter's name, its maximum), or None when it has none."""
    for param in op.get("parameters", []):
        if param["in"] == "query" and param["name"] in SIZE_PARAMS:
            schema = param.get("schema", {})
            branches = [schema, *schema.get("anyOf", [])]
            maxima = [b["maximum"] for b in branches if "maximum" in b]
            return param["name"], (maxima[0] if maxima else None)
    return None


def test_every_list_operation_has_a_page_size_with_a_maximum():
    operations = list_operations()
    assert len(operations) >= 20  # the walk finds the lists (a broken walk finds none)
    unpaged = [path for path, op in operations if (size_param(op) or (None, None))[1] is None]
    assert unpaged == [], f"list endpoints without a page size maximum: {unpaged}"
    too_big = [(p, size_param(op)) for p, op in operations if size_param(op)[1] > 200]
    assert too_big == []


@pytest.fixture
def world(db, settings, tmp_path):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    world = build_world(settings, tmp_path)
    shop = world.shop
    # Two of each thing the lists show, where the world has one, so a next page exists.
    for n in range(2):
        webhooks.create_endpoint(
            shop.merchant, url=f"http://127.0.0.1:8660/hook{n}", events=["accrual.posted"]
        )
        testing.make_reward(shop, cost=10 + n)
    bank = partners.create_partner("Banco Andino", "0.25")
    world.ids["endpoint_id"] = shop.merchant.webhook_endpoints.order_by("pk").first().pk
    world.ids["customer_id"] = world.a.pk
    world.tokens = {
        "staff": testing.token_for(shop.admin),
        "customer": customer_token(world.a),
        "partner": partners.issue_partner_key(bank)[1],
    }
    return world


def _credential(path: str, world) -> str:
    if path == "/me" or path.startswith("/me/"):
        return world.tokens["customer"]
    if path.startswith("/partner/"):
        return world.tokens["partner"]
    return world.tokens["staff"]


def _get(path, world, params, url=None):
    filled = re.sub(r"{(\w+)}", lambda m: str(world.ids[m.group(1)]), path)
    headers = {"Authorization": f"Bearer {_credential(path, world)}"}
    if url is not None:
        return Client().get(url, headers=headers)
    params = {"coins": "true", **params} if path == "/me/movements" else params
    return Client().get(PREFIX + filled, params, headers=headers)


def _rows(response) -> list:
    body = response.json()
    return body if isinstance(body, list) else body["results"]


def _next(response, params):
    """The next page's URL or query, as the answer gives it (None: the last page)."""
    if match := LINK.search(response.get("Link", "")):
        return {"url": match.group(1)}
    body = response.json()
    if isinstance(body, dict):
        for field in NEXT_FIELDS:
            if body.get(field) is not None:
                name = field.removeprefix("next_")
                return {"params": {**params, name: body[field]}}
    return None


def test_above_the_maximum_is_refused_and_a_page_of_one_points_to_the_next(world):
    walked, with_next = [], []
    for path, op in list_operations():
        name, maximum = size_param(op)
        over = _get(path, world, {name: maximum + 1})
        assert over.status_code == 422, (path, over.status_code, over.content[:300])
        assert over["Content-Type"] == "application/problem+json"
        assert over.json()["code"] == "validation_error"
        assert [e["field"] for e in over.json()["errors"]] == [name], path

        first = _get(path, world, {name: 1})
        assert first.status_code == 200, (path, first.status_code, first.content[:300])
        rows = _rows(first)
        assert len(rows) <= 1, path
        walked.append(path)
        following = _next(first, {name: 1})
        if following is None:
            continue
        second = _get(path, world, following.get("params", {}), url=following.get("url"))
        assert second.status_code == 200, (path, second.content[:300])
        assert len(_rows(second)) == 1 and _rows(second) != rows, path
        with_next.append(path)
    print(f"\nlist endpoints: {len(walked)}, with a next page walked: {len(with_next)}")
    # The world has two or more rows in these lists: each must have pointed to its next page.
    for path in (
        "/webhooks",
        "/rewards",
        "/customers/{customer_id}/statement",
        "/me/ratings/visits",
        "/me/movements",
    ):
        assert path in with_next, f"{path}: no next page given though more rows exist"


def test_an_offset_walk_returns_every_row_once(world):
    headers = {"Authorization": f"Bearer {world.tokens['staff']}"}
    seen, url = [], f"{PREFIX}/rewards?limit=1"
    while url:
        response = Client().get(url, headers=headers)
        seen += [row["id"] for row in response.json()["results"]]
        url = (LINK.search(response.get("Link", "")) or [None, None])[1]
    everything = Client().get(f"{PREFIX}/rewards", headers=headers).json()["results"]
    assert len(seen) == len(set(seen)) == len(everything) >= 2
