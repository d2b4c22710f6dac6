"""Walks the served OpenAPI schema and sends every operation NUL, huge, deep and wrong-typed values
in every body field, query parameter and path parameter: no answer may be a 5xx, and every error
is problem+json. New endpoints are covered by being in the schema. Meaningful on PostgreSQL
(DATABASE_URL=postgres://…), which refuses NUL where SQLite stores it."""

import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lealtad.core import testing

pytestmark = pytest.mark.django_db

NASTY = [
    "\x00",
    "a\x00b",
    "\x1b[31m",
    "x" * 100_000,
    "",
    " ",
    "0",
    "-1",
    "1e309",
    "NaN",
    "9" * 400,
    "../../etc/passwd",
    "'; DROP TABLE x; --",
    "\ud800".encode("utf-8", "surrogatepass").decode("utf-8", "replace"),
    "🎉" * 50,
    0,
    -1,
    2**63,
    10**400,
    1.5,
    float("1e308"),
    True,
    None,
    [],
    {},
    ["\x00"],
    {"a": "\x00"},
]
DEEP = "[" * 5000 + "]" * 5000


def _resolve(schema, node):
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def operations(schema):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def body_properties(schema, operation):
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if not content:
        return {}
    return _resolve(schema, content["schema"]).get("properties", {})


KNOWN_GOOD = {
    "email": "f@example.com",
    "mobile": "+573001234567",
    "amount": "1000",
    "country": "CO",
    "document_type": "CC",
    "document_number": testing.colombian_document,
}


def valid_body(schema, operation, ids):
    """A body the endpoint might accept, so each bad value reaches past the first check."""
    body = {}
    for name, prop in body_properties(schema, operation).items():
        prop = _resolve(schema, prop)
        kinds = {p.get("type") for p in prop.get("anyOf", [prop])}
        if name in KNOWN_GOOD:
            body[name] = KNOWN_GOOD[name]() if callable(KNOWN_GOOD[name]) else KNOWN_GOOD[name]
        elif name.endswith("_id"):
            body[name] = ids.get(name, ids["customer_id"])
        elif "enum" in prop:
            body[name] = prop["enum"][0]
        elif "integer" in kinds:
            body[name] = 10
        elif "boolean" in kinds:
            body[name] = False
        elif prop.get("format") == "date" or name.endswith("date"):
            body[name] = "1990-05-17"
        else:
            body[name] = "Fuzz"
    return body


def send(client, token, method, path, body=None, query=None, raw=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    if method == "get":
        return client.get(path, query or {}, **headers)
    data = raw if raw is not None else json.dumps(body if body is not None else {})
    target = path + ("?" + "&".join(f"{k}={v}" for k, v in (query or {}).items()) if query else "")
    return getattr(client, method)(target, data, content_type="application/json", **headers)


def assert_no_5xx(response, what):
    assert response.status_code < 500, (what, response.status_code, response.content[:300])
    if response.status_code >= 400:
        assert response["Content-Type"].startswith("application/problem+json"), what
        assert "code" in response.json(), what


@pytest.fixture
def world(client, alice_shop):
    made = testing.make_customer(alice_shop)
    reward = testing.make_reward(alice_shop, cost=1)
    token = testing.token_for(alice_shop.admin)
    response = client.post(
        "/api/v1/accruals",
        {"customer_id": str(made.customer.pk), "amount": "5000", "invoice_number": "FZ-1"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    ids = {
        "customer_id": str(made.customer.pk),
        "reward_id": str(reward.pk),
        "branch_id": str(alice_shop.branch.pk),
        "transaction_id": response.json()["id"],
    }
    schema = client.get("/api/v1/openapi.json").json()
    return client, token, ids, schema


def _path_with(path, ids, override=None):
    return re.sub(r"\{(\w+)\}", lambda m: override or ids.get(m.group(1), "x"), path)


def test_every_operation_takes_nasty_values_in_every_field_without_a_5xx(world):
    client, token, ids, schema = world
    seen = 0
    for path, method, operation in operations(schema):
        target = _path_with(path, ids)
        base = valid_body(schema, operation, ids)
        for name in body_properties(schema, operation):
            for value in NASTY:
                response = send(client, token, method, target, {**base, name: value})
                assert_no_5xx(response, (method, path, name, repr(value)[:40]))
                seen += 1
        for param in operation.get("parameters", []):
            for value in ("%00", "a%00b", "%1B", "x" * 5000, "0", "-1", "%FF", "9" * 400):
                if param["in"] == "path":
                    response = send(client, token, method, _path_with(path, ids, value), base)
                else:
                    response = send(client, token, method, target, base, {param["name"]: value})
                assert_no_5xx(response, (method, path, param["name"], value[:20]))
                seen += 1
        if method in ("post", "patch", "put"):
            for raw in (DEEP, "[]", "null", "1", '"x"', "{", "\x00", b"\xff\xfe"):
                assert_no_5xx(send(client, token, method, target, raw=raw), (method, path, raw[:9]))
            big = json.dumps({**base, "pad": "a" * 3_000_000})
            assert_no_5xx(send(client, token, method, target, raw=big), (method, path, "big"))
    assert seen > 300  # the walk reached the schema's operations


# Mostly ASCII, controls included, so NUL and friends come up often; and some of everything else.
texts = st.text(st.characters(max_codepoint=0x7F), max_size=40) | st.text(max_size=40)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | texts,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children)
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_random_bodies_for_every_operation_never_5xx(world, data):
    client, token, ids, schema = world
    path, method, operation = data.draw(st.sampled_from(list(operations(schema))))
    body = valid_body(schema, operation, ids)
    names = list(body) or ["anything"]
    # One field at a time, the others valid: the bad value gets as far as it can.
    body[data.draw(st.sampled_from(names))] = data.draw(texts | json_values)
    query = {
        p["name"]: data.draw(texts) for p in operation.get("parameters", []) if p["in"] == "query"
    }
    response = send(client, token, method, _path_with(path, ids), body, query)
    print("R", response.status_code, method, path, repr(body)[:120])
    assert_no_5xx(response, (method, path, body, query))
