"""Issue 16, limits: over-long fields. Generated from the OpenAPI request schemas and the models:

- every string a request body takes (JSON or form, nested and in lists) declares a `maxLength`,
  so a new field without one fails here;
- that maximum is no longer than the database column of the same name (on PostgreSQL a longer
  value raises, on SQLite it is silently stored), unless the field is normalised before it is
  stored (listed below, with the reason);
- one over the maximum is 422 `validation_error` naming the field; and values of exactly the
  maximum in the fields that reach a column are 422 or stored, never a 5xx (run on PostgreSQL
  to mean the most)."""

import functools
import re

import pytest
from django.apps import apps
from django.db import models

from lealtad.api.api import api
from lealtad.api.tests.conftest import Api
from lealtad.core import testing

PREFIX = "/api/v1"
NOT_TEXT = {"date", "date-time", "binary", "uuid"}
# Longer in the request than the column of the same name, and why that is safe.
NORMALISED = {
    "password": "hashed before it is stored (User.password holds the hash)",
    "mobile": "normalised to E.164 (at most 16 characters) or refused",
    "document_type": "one of the document types (at most 8 characters) or refused",
    "document_number": "stripped of dots, dashes and spaces, checked per type, or refused",
    "state": "a customer's state (80); no request writes IdentityChange.state",
    "name": "each endpoint's own model column is 120 (Category and keys are not written here)",
    "description": "Reward/Promotion columns are 500; invoice lines are kept in a JSON column",
    "body": "a rating message is a text column (OutgoingSms is the SMS, cut to fit)",
    "code": "a sign-in code (20 typed, compared, never stored as typed)",
    "/transactions/{transaction_id}/reversal reason": "stored in Transaction.reason (300)",
}


def _resolve(schema, node):
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].split("/")[-1]]
    return node


def _strings(schema, node, name=""):
    node = _resolve(schema, node)
    for branch in node.get("anyOf", []) + node.get("oneOf", []):
        yield from _strings(schema, branch, name)
    if node.get("type") == "string":
        yield name, node
    if node.get("type") == "array" and "items" in node:
        yield from _strings(schema, node["items"], name + "[]")
    for key, child in node.get("properties", {}).items():
        yield from _strings(schema, child, f"{name}.{key}" if name else key)


@functools.cache
def request_strings() -> list[tuple[str, str, str, dict]]:
    """(METHOD, path, field, its string schema) for every string of every request body."""
    schema = api.get_openapi_schema()
    found = []
    for path, operations in schema["paths"].items():
        for method, op in operations.items():
            for content in op.get("requestBody", {}).get("content", {}).values():
                for name, node in _strings(schema, content["schema"]):
                    if "enum" in node or node.get("format") in NOT_TEXT:
                        continue
                    found.append((method.upper(), path.removeprefix(PREFIX), name, node))
    return found


def _columns() -> dict[str, list[tuple[int, str]]]:
    columns: dict[str, list] = {}
    for model in apps.get_models():
        if not model.__module__.startswith("lealtad."):
            continue
        for field in model._meta.get_fields():
            if isinstance(field, models.CharField) and field.max_length:
                columns.setdefault(field.name, []).append((field.max_length, model.__name__))
    return columns


def test_every_request_string_has_a_max_length_no_longer_than_its_column():
    fields = request_strings()
    assert len(fields) > 50  # the walk finds the bodies
    unbounded = [(m, p, f) for m, p, f, node in fields if "maxLength" not in node]
    assert unbounded == [], f"request strings without maxLength: {unbounded}"
    columns = _columns()
    longer = []
    for method, path, name, node in fields:
        leaf = re.sub(r"\[\]", "", name.split(".")[-1])
        if leaf in columns and leaf not in NORMALISED and f"{path} {name}" not in NORMALISED:
            shortest = min(length for length, _model in columns[leaf])
            if node["maxLength"] > shortest:
                longer.append((method, path, name, node["maxLength"], columns[leaf]))
    assert longer == [], f"longer than the column of the same name: {longer}"


@pytest.fixture
def shop(db):
    return testing.make_merchant("Café Aroma", admin="alice")


def test_one_over_the_maximum_is_a_422_naming_the_field(shop):
    staff = Api(testing.token_for(shop.admin))
    checked = 0
    for method, path, name, node in request_strings():
        if method != "POST" or "{" in path or "." in name or "[]" in name:
            continue
        if path.startswith(("/me", "/partner", "/auth")):
            continue  # other credentials (the customer's fields are checked by the screens' test)
        response = staff.post(path, {name: "x" * (node["maxLength"] + 1)})
        assert response.status_code == 422, (path, name, response.status_code)
        fields = [error["field"] for error in response.json().get("errors", [])]
        assert name in fields, (path, name, fields)
        checked += 1
    assert checked >= 10


def test_values_of_the_maximum_length_are_stored_or_refused_never_a_5xx(shop):
    """The fields that are stored as typed, at exactly their maximum, through real bodies."""
    staff = Api(testing.token_for(shop.admin))
    long = {n: node["maxLength"] for m, p, n, node in request_strings() if m == "POST"}
    customer = testing.make_customer(shop).customer
    bodies = [
        ("/rewards", {"name": "n" * 120, "points_cost": 10, "description": "d" * 500}),
        (
            "/customers",
            {
                "document_type": "CC",
                "document_number": "1" * long["document_number"],
                "country": "CO",
                "email": "a" * 240 + "@example.com",
                "mobile": "3" * long["mobile"],
                "first_name": "f" * long["first_name"],
                "last_name": "l" * long["last_name"],
                "city": "c" * long["city"],
            },
        ),
        (
            "/accruals",
            {"customer_id": str(customer.pk), "amount": "1000", "invoice_number": "F" * 64},
        ),
        (
            "/invoices",
            {
                "invoice_number": "I" * 64,
                "amount": "1000.00",
                "customer": {"document_type": "CC", "document_number": "9" * 40},
            },
        ),
    ]
    for path, body in bodies:
        response = staff.post(path, body, **{"Idempotency-Key": path})
        assert response.status_code < 500, (path, response.status_code, response.content[:300])
        assert response.status_code in (200, 201, 404, 409, 422), (path, response.content[:300])
