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
