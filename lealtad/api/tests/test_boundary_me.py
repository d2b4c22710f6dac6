"""Issue 14: the customer's own API never reaches another customer's objects (404) nor the
merchants' (403). Every operation of the OpenAPI schema is enumerated, so a new endpoint cannot
escape: each `/me*` one with customer B's token on customer A's ids answers 404 problem+json,
without a customer token 401; each merchant endpoint answers a customer token 403
`customer_token` (401 on the partner endpoints), never 200 or a 500.

An operation the walk cannot fill fails the test: add its id to A's world
(lealtad/app/tests/boundary.py), its body below, or an allow-list with the reason."""

import json
import re
import uuid

import pytest
from django.test import Client

from lealtad.app.testing import bearer
from lealtad.app.tests.boundary import API_PUBLIC as PUBLIC
from lealtad.app.tests.boundary import a_state, build_world, is_me, is_problem, leaked, operations
from lealtad.core import testing

pytestmark = pytest.mark.django_db

PREFIX = "/api/v1"
# A valid body for the /me operations that take one, so that what answers is the lookup of the
# id (a body refused first would hide a leak behind a 422).
BODIES = {
    ("POST", "/me/ratings/{rating_id}/messages"): {"body": "Hola"},
    ("PUT", "/me/consents/{merchant_id}"): {"given": True},
    ("POST", "/me/ratings"): {"transaction_id": "{transaction_id}", "score": 9},
}
# /me operations that name one of A's objects in the body: B gets 404 too.
BODY_IDS = {("POST", "/me/ratings")}
# /me operations without an id of A's, and why B's call is not sent by the walk.
NOT_SENT_AS_B = {
    ("POST", "/me/donations"): "the causes are the network's, open to every customer",
    ("POST", "/me/coin-vouchers"): "the coin products are on sale to every customer",
    ("POST", "/me/conversion-requests"): "the partners are the network's, open to every customer",
    ("POST", "/me/claims"): "a claim names any merchant of the network (A7); B's own claim",
    ("POST", "/me/close"): "closes B's own account",
}
PARAM = re.compile(r"{(\w+)}")


def fill(template: str, ids: dict) -> str:
    return PARAM.sub(lambda m: str(ids.get(m.group(1), uuid.uuid4())), template)


def query_ids(op) -> list[str]:
    """The operation's query parameters that name an object ("merchant_id")."""
    return [
        p["name"]
        for p in op.get("parameters", [])
        if p["in"] == "query" and p["name"].endswith("_id")
    ]


def call(client, method, path, ids, headers=None, query=()):
    body = BODIES.get((method, path)) or {}
    data = json.dumps({k: fill(v, ids) if isinstance(v, str) else v for k, v in body.items()})
    target = PREFIX + fill(path, ids)
    if query:
        target += "?" + "&".join(f"{name}={ids[name]}" for name in query)
    return client.generic(
        method,
        target,
        data if body else "",
        content_type="application/json",
        headers=headers or {},
    )


@pytest.fixture
def world(settings, tmp_path):
    return build_world(settings, tmp_path)


@pytest.fixture
def ops():
    found = list(operations())
    assert len(found) > 60 and any(is_me(p) for _m, p, _o in found)
    return found


def test_every_operation_is_known(ops, world):
    public = {(m, p) for m, p, op in ops if not op.get("security")}
    assert public == set(PUBLIC), "an endpoint without auth: add it to PUBLIC with the reason"
    me = [(m, p, op) for m, p, op in ops if is_me(p)]
    unknown = [
        (m, p)
        for m, p, op in me
        if not set(PARAM.findall(p)) | set(query_ids(op)) <= set(world.ids)
        or ("requestBody" in op and (m, p) not in BODIES and (m, p) not in NOT_SENT_AS_B)
    ]
    assert unknown == [], "fill these ids in A's world, their body in BODIES, or allow-list them"
    assert set(BODIES) | set(NOT_SENT_AS_B) <= {(m, p) for m, p, _o in me}, "stale lists"
    assert all(op["security"] == [{"CustomerAuth": []}] for _m, _p, op in me)


def test_b_gets_404_problem_for_every_object_of_a(ops, world):
    b = Client(headers=bearer(world.b))
    wrong = {}
    before = a_state(world)
    for method, path, op in ops:
        if not is_me(path) or not (
            PARAM.search(path) or (method, path) in BODY_IDS or query_ids(op)
        ):
            continue
        response = call(b, method, path, world.ids, query=query_ids(op))
        if not is_problem(response, 404) or response.json()["code"] != "not_found":
            wrong[f"{method} {path}"] = (response.status_code, response.content[:200])
        elif leaked(response.content.decode(), world):
            wrong[f"{method} {path}"] = leaked(response.content.decode(), world)
    assert wrong == {}
    assert a_state(world) == before  # B's valid bodies changed nothing of A's


def test_no_answer_to_b_holds_a_s_data(ops, world):
    b = Client(headers=bearer(world.b))
    wrong = {}
    for method, path, _op in ops:
        if not is_me(path) or PARAM.search(path) or (method, path) in BODY_IDS:
            continue
        if (method, path) in NOT_SENT_AS_B:
            continue
        response = call(b, method, path, world.ids)
        # 200, or B's own refusal (no merchant named, no coins for a payment QR): never a 500.
        if response.status_code != 200 and not is_problem(response, 404, 422):
            wrong[f"{method} {path}"] = response.status_code
        elif leaked(response.content.decode(), world):
            wrong[f"{method} {path}"] = leaked(response.content.decode(), world)
    assert wrong == {}


def test_a_reaches_a_s_own_objects(ops, world):
    a = Client(headers=bearer(world.a))
    wrong = {}
    for method, path, op in ops:
        if is_me(path) and (PARAM.search(path) or (method, path) in BODY_IDS or query_ids(op)):
            response = call(a, method, path, world.ids, query=query_ids(op))
            if response.status_code not in (200, 201):
                wrong[f"{method} {path}"] = (response.status_code, response.content[:200])
    assert wrong == {}


@pytest.mark.parametrize("who", ["nobody", "staff", "pos", "revoked", "garbage"])
def test_every_me_operation_refuses_anything_but_a_customer_token(ops, world, who):
    from lealtad.app.actions import revoke, session_for_token
    from lealtad.app.testing import customer_token

    if who == "revoked":
        token = customer_token(world.a)
        revoke(session_for_token(token))
    else:
        token = {
            "nobody": None,
            "staff": testing.token_for(world.shop.admin),
            "pos": world.shop.api_key,
            "garbage": "lcs_not-a-token",
        }[who]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    wrong = {}
    for method, path, _op in ops:
        if is_me(path):
            response = call(Client(), method, path, world.ids, headers)
            if not is_problem(response, 401):
                wrong[f"{method} {path}"] = response.status_code
    assert wrong == {}


def test_every_merchant_operation_refuses_a_customer_token(ops, world):
    """A's own token, on every endpoint that is not /me*, with A's and A's merchant's ids."""
    a = Client(headers=bearer(world.a))
    ids = {**world.ids, "customer_id": world.a.pk, "payment_id": uuid.uuid4()}
    wrong = {}
    for method, path, op in ops:
        if is_me(path) or (method, path) in PUBLIC:
            continue
        response = call(a, method, path, ids)
        partner = op["security"] == [{"PartnerAuth": []}]
        if partner and is_problem(response, 401):
            continue  # the partner endpoints know only partner keys
        if not is_problem(response, 403) or response.json()["code"] != "customer_token":
            wrong[f"{method} {path}"] = (response.status_code, response.content[:120])
    assert wrong == {}
