"""Bad input never yields a 5xx: NUL and control characters, huge and deep bodies, lax dates and
amounts each get a problem+json 4xx with a stable code (issue 10). Run on PostgreSQL too: it is
PostgreSQL that refuses a NUL in text."""

import json

import pytest

from lealtad.core import testing
from lealtad.ledger.models import Transaction

pytestmark = pytest.mark.django_db


def problem_of(response, status, code):
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert (body["code"], body["status"]) == (code, status)
    return body


@pytest.fixture
def member(alice_shop):
    return testing.make_customer(alice_shop)


@pytest.fixture
def accrual(pos_api, member):
    response = pos_api.post(
        "/accruals",
        {"customer_id": str(member.customer.pk), "amount": "5000", "invoice_number": "Z1"},
    )
    assert response.status_code == 201
    return response.json()


def test_nul_in_any_text_field_is_422_naming_the_field(
    anon_api, pos_api, admin_api, member, accrual
):
    customer = str(member.customer.pk)
    calls = [
        (anon_api, "post", "/auth/token", {"username": "ali\x00ce", "password": "x"}, "username"),
        (
            pos_api,
            "post",
            "/accruals",
            {"customer_id": customer, "amount": "10", "invoice_number": "F\x001"},
            "invoice_number",
        ),
        (
            pos_api,
            "post",
            "/customers",
            {
                "document_type": "CC",
                "document_number": "123",
                "country": "CO",
                "email": "a\x00@x.co",
            },
            "email",
        ),
        (pos_api, "patch", f"/customers/{customer}", {"city": "Cali\x00"}, "city"),
        (admin_api, "post", "/rewards", {"name": "Café\x00", "points_cost": 10}, "name"),
        (
            admin_api,
            "post",
            f"/transactions/{accrual['id']}/reversal",
            {"reason": "oops\x00"},
            "reason",
        ),
    ]
    for api, method, path, body, field in calls:
        response = getattr(api, method)(path, body)
        problem = problem_of(response, 422, "validation_error")
        assert problem["errors"][0]["field"] == field, path
    assert Transaction.objects.count() == 1  # the accrual fixture's only
    spanish = problem_of(pos_api.get("/customers", {"q": "\x00"}), 422, "validation_error")
    english = pos_api.get("/customers", {"q": "\x00"}, accept_language="en").json()
    assert (
        spanish["errors"][0]["message"]
        == "Los caracteres de control (como NUL) no están permitidos."
    )
    assert english["errors"][0]["message"] == "Control characters (such as NUL) are not allowed."


def test_other_control_characters_are_refused_but_tabs_and_newlines_pass(admin_api):
    refused = admin_api.post(
        "/rewards", {"name": "Café", "points_cost": 10, "description": "a\x1bb"}
    )
    assert problem_of(refused, 422, "validation_error")["errors"][0]["field"] == "description"
    taken = admin_api.post(
        "/rewards", {"name": "Café", "points_cost": 10, "description": "one\ntwo\tthree"}
    )
    assert taken.status_code == 201, taken.content


@pytest.mark.in_process
def test_nul_in_a_query_or_the_idempotency_key_is_422_in_a_path_404(pos_api, member):
    """In process only (in_process): a control character cannot travel in an HTTP header
    (gunicorn answers its own 400 before the app)."""
    problem = problem_of(pos_api.get("/customers", {"q": "80\x00123"}), 422, "validation_error")
    assert problem["errors"] == [{"field": "q", "message": problem["errors"][0]["message"]}]
    problem_of(pos_api.get("/customers/%00"), 404, "not_found")
    problem_of(pos_api.patch("/customers/%01", {"city": "Cali"}), 404, "not_found")
    body = {"customer_id": str(member.customer.pk), "amount": "10"}
    response = pos_api.post("/accruals", body, idempotency_key="k\x00")
    assert problem_of(response, 422, "validation_error")["errors"][0]["field"] == "Idempotency-Key"
    assert not Transaction.objects.exists()


@pytest.mark.parametrize("idempotency_key", [None, "big-1"])
def test_a_body_over_the_limit_is_413_problem_json(pos_api, member, idempotency_key, settings):
    body = json.dumps(
        {"customer_id": str(member.customer.pk), "amount": "10", "x": "a" * 2_700_000}
    )
    headers = {"idempotency_key": idempotency_key} if idempotency_key else {}
    response = pos_api.post("/accruals", raw=body, **headers)
    problem = problem_of(response, 413, "payload_too_large")
    assert str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE) in problem["detail"]
    assert not Transaction.objects.exists()


def test_json_nested_100000_deep_is_400_problem_json(pos_api, anon_api):
    deep = "[" * 100_000 + "]" * 100_000
    problem_of(pos_api.post("/accruals", raw=deep, idempotency_key="deep-1"), 400, "json_too_deep")
    problem_of(anon_api.post("/auth/token", raw=deep), 400, "json_too_deep")
    # Brackets inside strings are text, not nesting.
    response = anon_api.post("/auth/token", {"username": "[" * 100, "password": "{" * 100})
    problem_of(response, 401, "invalid_credentials")


def test_dates_are_iso_only(pos_api, member):
    customer = str(member.customer.pk)
    for params in ({"to": "0"}, {"from": "0"}, {"to": "20240101"}, {"to": "2024-02-30"}):
        response = pos_api.get(f"/customers/{customer}/statement", params)
        assert problem_of(response, 422, "validation_error")["errors"][0]["field"] in ("to", "from")
    assert pos_api.get(f"/customers/{customer}/statement", {"to": "2030-01-01"}).status_code == 200
    for value in (0, "0", 631152000, "1990-5-17", True):
        response = pos_api.patch(f"/customers/{customer}", {"birth_date": value})
        assert problem_of(response, 422, "validation_error")["errors"][0]["field"] == "birth_date"
    response = pos_api.patch(f"/customers/{customer}", {"birth_date": "1990-05-17"})
    assert response.json()["birth_date"] == "1990-05-17"


def test_amounts_are_plain_decimals(pos_api, member):
    customer = str(member.customer.pk)
    for amount in ("1e6", "NaN", "Infinity", "1_000", "١٢٣", "0x10", " ", "+5", 1e6, True):
        response = pos_api.post("/accruals", {"customer_id": customer, "amount": amount})
        assert problem_of(response, 422, "validation_error")["errors"][0]["field"] == "amount"
    assert not Transaction.objects.exists()
    response = pos_api.post("/accruals", {"customer_id": customer, "amount": "25000.50"})
    assert response.status_code == 201 and response.json()["points"] == 25


def _no_duplicate_keys(pairs):
    keys = [key for key, _value in pairs]
    assert len(keys) == len(set(keys)), keys
    return dict(pairs)


def test_openapi_says_errors_are_problem_json_and_lists_the_enums(anon_api):
    raw = anon_api.client.get("/api/v1/openapi.json").content
    # No status listed twice (Swagger UI refuses a schema with a duplicate key).
    schema = json.loads(raw, object_pairs_hook=_no_duplicate_keys)
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                types = set(response.get("content", {}))
                if status.startswith("4"):
                    assert types == {"application/problem+json"}, (path, method, status)
                else:
                    assert "application/problem+json" not in types
            assert "413" in operation["responses"], (path, method)
    customer_in = schema["components"]["schemas"]["CustomerIn"]["properties"]
    assert {"CC", "CE", "NIT", "PP", "CPF", "CNPJ", "CIP"} <= set(
        customer_in["document_type"]["enum"]
    )
    assert {"CO", "BR", "PA"} <= set(customer_in["country"]["enum"])
    birth_date = customer_in["birth_date"]
    assert {"type": "string", "format": "date"}.items() <= birth_date["anyOf"][0].items()


def _problem_extras_raised_in_the_code() -> set[str]:
    """Every keyword a LealtadError is raised or built with, and every `self.extra[...]` key."""
    import ast
    from pathlib import Path

    import lealtad

    keys = set()
    for path in Path(lealtad.__file__).parent.rglob("*.py"):
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                keys.update(k.arg for k in node.exc.keywords if k.arg)
            target = getattr(node, "value", None)
            if (
                isinstance(node, ast.Subscript)
                and isinstance(target, ast.Attribute)
                and target.attr == "extra"
                and isinstance(node.slice, ast.Constant)
            ):
                keys.add(node.slice.value)
    # `detail` is the message itself; `code` in these calls names a form field error's code.
    return keys - {"detail", "code"}


def test_the_problem_schema_lists_every_field_an_error_may_carry(anon_api):
    """Issue 10: the schema tells the truth, also about what some problems add."""
    schema = anon_api.client.get("/api/v1/openapi.json").json()
    listed = set(schema["components"]["schemas"]["Problem"]["properties"])
    raised = _problem_extras_raised_in_the_code()
    assert {"minimum", "start", "missing_fields"} <= raised  # the scan sees the code
    assert raised <= listed, sorted(raised - listed)
