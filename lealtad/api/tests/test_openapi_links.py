"""Issue 16: the served schema links a create's answer to the operations that read or act on it
(lealtad/api/links.py), so that a client generator or Schemathesis can chain them. Every link
names an operation that exists, and gives it exactly the path parameters it needs."""

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def served(django_db_blocker):
    with django_db_blocker.unblock():
        return Client().get("/api/v1/openapi.json").json()


def _operations(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            yield path, method, operation


def _links(schema):
    for path, method, operation in _operations(schema):
        for status, response in operation["responses"].items():
            for name, link in response.get("links", {}).items():
                yield f"{method.upper()} {path} {status}", name, link


def test_every_link_names_an_operation_and_fills_its_path(served):
    by_id = {op["operationId"]: path for path, _, op in _operations(served)}
    links = list(_links(served))
    assert len(links) >= 40
    for source, name, link in links:
        target = by_id[link["operationId"]]  # KeyError: a link to no operation
        needed = set(re.findall(r"{(\w+)}", target))
        assert set(link["parameters"]) == needed, (source, name)
        for expression in link["parameters"].values():
            assert re.fullmatch(r"\$response\.body#/\w+|\$request\.path\.\w+", expression)


@pytest.mark.parametrize(
    "create, status, target, parameter, expression",
    [
        ("/api/v1/customers", "201", "/api/v1/customers/{customer_id}", "customer_id", "id"),
        (
            "/api/v1/accruals",
            "201",
            "/api/v1/transactions/{transaction_id}",
            "transaction_id",
            "id",
        ),
        ("/api/v1/webhooks", "201", "/api/v1/webhooks/{endpoint_id}", "endpoint_id", "id"),
        ("/api/v1/coin-payments", "201", "/api/v1/coin-payments/{payment_id}", "payment_id", "id"),
        ("/api/v1/invoices", "201", "/api/v1/invoices/{invoice_id}", "invoice_id", "id"),
        ("/api/v1/me/claims", "201", "/api/v1/me/claims/{claim_id}", "claim_id", "id"),
        (
            "/api/v1/customers/{customer_id}/contact-changes",
            "201",
            "/api/v1/customers/{customer_id}/contact-changes/{change_id}",
            "change_id",
            "id",
        ),
    ],
)
def test_a_create_links_to_its_read(served, create, status, target, parameter, expression):
    read = served["paths"][target]["get"]["operationId"]
    links = served["paths"][create]["post"]["responses"][status]["links"]
    by_target = {link["operationId"]: link for link in links.values()}
    assert by_target[read]["parameters"][parameter] == f"$response.body#/{expression}"


def test_the_customer_sign_in_links_to_no_merchant_endpoint(served):
    answer = served["paths"]["/api/v1/auth/customer/token"]["post"]["responses"]["200"]
    assert "links" not in answer


def _component(served, path, method, status):
    schema = served["paths"][path][method]["responses"][status]["content"]["application/json"]
    return served["components"]["schemas"][schema["schema"]["$ref"].rsplit("/", 1)[1]]


def test_same_named_answers_no_longer_share_one_component(served):
    """Found by Schemathesis: three answers had a class name another module also used, and the
    schema documented the other one (OpenAPI names a component by the class): the merchant's
    reply to a rating (as the customer's message: `at`, `read`), a coin payment's `balance` (as
    the points balance: `pending`) and a partner's conversion (as the customer's)."""
    reply = _component(served, "/api/v1/ratings/{rating_id}/messages", "post", "201")
    assert {"id", "rating_id", "created_at", "gift_offer_id"} <= set(reply["properties"])
    payment = _component(served, "/api/v1/coin-payments", "post", "201")
    balance = served["components"]["schemas"][
        payment["properties"]["balance"]["$ref"].rsplit("/", 1)[1]
    ]
    assert set(balance["properties"]) == {"available", "held"}
    conversion = _component(served, "/api/v1/partner/conversions", "post", "201")
    assert {"id", "customer_id", "balance_after"} <= set(conversion["properties"])


def test_the_reply_to_a_rating_matches_its_documented_schema(served, settings, tmp_path):
    from lealtad.app.tests.boundary import build_world
    from lealtad.core import testing

    world = build_world(settings, tmp_path)
    response = Client().post(
        f"/api/v1/ratings/{world.ids['rating_id']}/messages",
        {"body": "Gracias por su visita"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {testing.token_for(world.shop.admin)}",
    )
    assert response.status_code == 201, response.content
    reply = _component(served, "/api/v1/ratings/{rating_id}/messages", "post", "201")
    assert set(response.json()) == set(reply["properties"])
    assert set(reply["required"]) <= set(response.json())
