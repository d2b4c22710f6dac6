"""API.md Part 2, "POS invoices": POST/GET /invoices, GET /invoices/{id}, POST .../assign."""

import datetime as dt

import pytest

from lealtad.api.tests.conftest import Api
from lealtad.core import testing
from lealtad.customers.actions import qr_payload, suspend_customer
from lealtad.invoices.models import Invoice
from lealtad.ledger.models import Account, Transaction

SHAPE = {
    "id",
    "invoice_number",
    "status",
    "transaction_id",
    "points",
    "coins",
    "amount",
    "branch_id",
    "issued_at",
    "expires_at",
    "customer_id",
    "lines",
}


@pytest.fixture
def shop(db):
    return testing.make_merchant()


@pytest.fixture
def pos(shop):
    return Api(shop.api_key)


@pytest.fixture
def member(shop):
    return testing.make_customer(shop).membership


def problem(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code
    return body


def push(pos, **body):
    return pos.post("/invoices", {"invoice_number": "F-1001", "amount": "25000.00", **body})


def test_a_pushed_invoice_without_a_customer_waits(pos, shop):
    response = push(pos)
    assert response.status_code == 201, response.content
    data = response.json()
    assert set(data) >= SHAPE
    assert (data["status"], data["points"], data["coins"], data["transaction_id"]) == (
        "waiting",
        0,
        0,
        None,
    )
    assert data["amount"] == "25000.00" and data["branch_id"] == str(shop.branch.pk)
    listed = pos.get("/invoices", {"status": "waiting", "branch_id": str(shop.branch.pk)}).json()
    assert [row["id"] for row in listed["results"]] == [data["id"]]
    assert pos.get(f"/invoices/{data['id']}").json() == data


def test_a_pushed_invoice_with_a_customer_by_document_loads(pos, member):
    customer = member.customer
    ref = {"document_type": customer.document_type, "document_number": customer.document_number}
    response = push(pos, customer=ref)
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["status"], data["points"], data["customer_id"]) == (
        "loaded",
        25,
        str(customer.pk),
    )
    assert Transaction.objects.get(pk=data["transaction_id"]).points == 25


def test_a_customer_by_id_and_by_qr(pos, shop):
    first = testing.make_customer(shop).customer
    second = testing.make_customer(shop).customer
    by_id = push(pos, invoice_number="F-1", customer={"customer_id": str(first.pk)})
    by_qr = push(pos, invoice_number="F-2", customer={"qr_payload": qr_payload(second)})
    assert by_id.status_code == 201 and by_id.json()["customer_id"] == str(first.pk)
    assert by_qr.status_code == 201 and by_qr.json()["customer_id"] == str(second.pk)
    body = problem(push(pos, invoice_number="F-3", customer={"qr_payload": "lealtad.x.1"}), 422,
                   "validation_error")  # fmt: skip
    assert body["errors"][0]["field"] == "customer.qr_payload"
    both = {"customer_id": str(first.pk), "qr_payload": qr_payload(first)}
    problem(push(pos, invoice_number="F-4", customer=both), 422, "validation_error")
    assert Invoice.objects.count() == 2


def test_the_same_invoice_again_is_200_and_another_amount_409(pos):
    first = push(pos, invoice_number="f-1001")
    again = push(pos, invoice_number="F-1001 ")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    body = problem(push(pos, amount="26000.00"), 409, "duplicate_invoice")
    assert body["invoice_id"] == first.json()["id"]


def test_assign_loads_then_refuses_a_second_time(pos, member):
    invoice = push(pos).json()
    body = {"customer_id": str(member.customer_id)}
    response = pos.post(f"/invoices/{invoice['id']}/assign", body)
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["points"]) == ("loaded", 25)
    problem(pos.post(f"/invoices/{invoice['id']}/assign", body), 409, "invoice_already_loaded")
    assert Account.objects.get(pk=member.account_id).balance == 25
    loaded = pos.get("/invoices", {"status": "loaded"}).json()["results"]
    assert [row["id"] for row in loaded] == [invoice["id"]]
    assert pos.get("/invoices", {"status": "waiting"}).json()["results"] == []


def test_a_suspended_customer_is_refused_and_the_invoice_keeps_waiting(pos, member):
    invoice = push(pos).json()
    suspend_customer(member.customer, "Llame a la línea de fraude")
    response = pos.post(
        f"/invoices/{invoice['id']}/assign", {"customer_id": str(member.customer_id)}
    )
    problem(response, 403, "customer_suspended")
    assert pos.get(f"/invoices/{invoice['id']}").json()["status"] == "waiting"


def test_a_held_accrual_is_a_held_invoice(pos, member):
    member.category.audit_mode = "manual"
    member.category.save(update_fields=["audit_mode"])
    data = push(pos, customer={"customer_id": str(member.customer_id)}).json()
    assert (data["status"], data["points"]) == ("held", 25)


def test_coins_at_an_issuer_whose_invoices_earn_coins(db):
    issuer = testing.make_merchant(coin_issuer=True, cashback_rate="0.03")
    issuer.merchant.invoice_earns = "coins"
    issuer.merchant.save(update_fields=["invoice_earns"])
    customer = testing.make_customer(issuer).customer
    data = push(Api(issuer.api_key), customer={"customer_id": str(customer.pk)}).json()
    assert (data["status"], data["coins"], data["points"]) == ("loaded", 750, 0)


def test_another_merchants_key_sees_nothing(pos, member):
    invoice = push(pos).json()
    other = Api(testing.make_merchant("Otro").api_key)
    problem(other.get(f"/invoices/{invoice['id']}"), 404, "not_found")
    problem(
        other.post(f"/invoices/{invoice['id']}/assign", {"customer_id": str(member.customer_id)}),
        404,
        "not_found",
    )
    assert other.get("/invoices").json()["results"] == []
    problem(push(other, branch_id=invoice["branch_id"]), 404, "not_found")
    assert Invoice.objects.get().status == "waiting"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": "abc"}, "amount"),
        ({"amount": "-1"}, "amount"),
        ({"amount": 12.5}, "amount"),
        ({"invoice_number": ""}, "invoice_number"),
        ({"lines": [{"description": "Café"}] * 500}, "lines"),
        ({"lines": [{"description": "Café", "amount": "x"}]}, "lines[0].amount"),
        ({"issued_at": "mañana"}, "issued_at"),
    ],
)
def test_bad_input_is_a_422_per_field_and_records_nothing(pos, body, field):
    response = problem(push(pos, **body), 422, "validation_error")
    assert any(field in e["field"] for e in response["errors"]), response
    assert not Invoice.objects.exists()


def test_an_unknown_branch_or_customer_is_404(pos):
    import uuid

    problem(push(pos, branch_id=str(uuid.uuid4())), 404, "not_found")
    problem(push(pos, customer={"customer_id": str(uuid.uuid4())}), 404, "not_found")
    ref = {"document_type": "CC", "document_number": "1234567"}
    problem(push(pos, customer=ref), 404, "not_found")
    assert not Invoice.objects.exists()


def test_line_items_are_returned(pos):
    lines = [{"description": "Café", "quantity": "2", "unit_price": "4000", "amount": "8000"}]
    data = push(pos, lines=lines).json()
    assert data["lines"] == [
        {"description": "Café", "quantity": "2", "unit_price": "4000.00", "amount": "8000.00"}
    ]


def test_idempotency_key_replays_push_and_assign(pos, member):
    first = pos.post(
        "/invoices", {"invoice_number": "F-9", "amount": "9000"}, **{"Idempotency-Key": "k1"}
    )
    replay = pos.post(
        "/invoices", {"invoice_number": "F-9", "amount": "9000"}, **{"Idempotency-Key": "k1"}
    )
    assert (first.status_code, replay.status_code) == (201, 201)
    assert replay.json() == first.json()
    path, body = f"/invoices/{first.json()['id']}/assign", {"customer_id": str(member.customer_id)}
    one = pos.post(path, body, **{"Idempotency-Key": "k2"})
    two = pos.post(path, body, **{"Idempotency-Key": "k2"})
    assert (one.status_code, two.status_code) == (200, 200) and one.json() == two.json()
    assert Account.objects.get(pk=member.account_id).balance == 9


def test_the_schema_documents_the_invoice_endpoints(pos):
    schema = Api().get("/openapi.json").json()
    assert {"/api/v1/invoices", "/api/v1/invoices/{invoice_id}/assign"} <= set(schema["paths"])
    assert set(schema["components"]["schemas"]["InvoiceOut"]["properties"]) >= SHAPE


def test_the_list_is_newest_first_limited_and_filtered(pos, shop):
    ids = [push(pos, invoice_number=f"F-{n}").json()["id"] for n in range(3)]
    rows = pos.get("/invoices", {"limit": 2}).json()["results"]
    assert [row["id"] for row in rows] == ids[::-1][:2]
    problem(pos.get("/invoices", {"limit": 500}), 422, "validation_error")
    problem(pos.get("/invoices", {"status": "lost"}), 422, "validation_error")
    problem(pos.get("/invoices", {"branch_id": "nope"}), 404, "not_found")


def test_an_invoice_issued_in_the_future_is_refused(pos):
    body = problem(push(pos, issued_at="2999-01-01T10:00:00-05:00"), 422, "validation_error")
    assert body["errors"][0]["field"] == "issued_at"
    data = push(pos, issued_at="2026-12-01T10:00:00-05:00").json()
    issued = dt.datetime.fromisoformat(data["issued_at"])
    assert issued == dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC)
    assert pos.get(f"/invoices/{data['id']}").json()["issued_at"] == data["issued_at"]
