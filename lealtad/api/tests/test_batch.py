"""POST /api/v1/accruals/batch (issue 12): each item on its own, answering what the single
POST /accruals would, and never twice: invoice numbers and idempotency keys hold across batch
and single calls."""

import json
import threading

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from lealtad.api import batch as batch_module
from lealtad.api.models import IdempotencyRecord
from lealtad.api.tests.conftest import Api
from lealtad.core import testing
from lealtad.customers.models import Customer, Membership
from lealtad.ledger.check import check_ledger
from lealtad.ledger.models import Transaction

pytestmark = pytest.mark.django_db


def member(shop):
    return str(testing.make_customer(shop).customer.pk)


def batch(api, items, **headers):
    return api.post("/accruals/batch", {"accruals": items}, **headers)


def results(response):
    assert response.status_code == 200, response.content
    return response.json()["results"]


def accruals():
    return Transaction.objects.filter(kind="accrual")


def test_items_answer_in_order_each_on_its_own(pos_api, alice_shop):
    ana, bea, susana = member(alice_shop), member(alice_shop), member(alice_shop)
    Customer.objects.filter(pk=susana).update(suspended=True)
    items = [
        {"customer_id": ana, "amount": "25999.99", "invoice_number": "F-1"},
        {"customer_id": ana, "amount": "abc", "invoice_number": "F-2"},
        {"customer_id": "00000000-0000-0000-0000-000000000000", "amount": "1000"},
        {"customer_id": bea, "amount": "1000", "invoice_number": " f-1 "},  # F-1, normalised
        {"customer_id": susana, "amount": "1000", "invoice_number": "F-3"},
        {"customer_id": bea, "amount": "10", "invoice_number": "F-4"},  # below one point
        {"customer_id": bea, "amount": "3000", "invoice_number": "F-5"},
        {"amount": "1000"},
    ]
    got = results(batch(pos_api, items))
    assert [r["status"] for r in got] == [201, 422, 404, 409, 403, 422, 201, 422]
    codes = [r["body"].get("code") for r in got]
    assert codes[1:6] == [
        "validation_error",
        "not_found",
        "duplicate_invoice",
        "customer_suspended",
        "amount_below_minimum",
    ]
    assert got[0]["body"]["points"] == 25
    assert got[0]["body"]["balance"] == {"available": 25, "pending": 0}
    assert got[3]["body"]["transaction_id"] == got[0]["body"]["id"]
    assert got[6]["body"] == {
        "id": got[6]["body"]["id"],
        "points": 3,
        "status": "posted",
        "balance": {"available": 3, "pending": 0},
    }
    assert got[7]["body"]["errors"] == [{"field": "customer_id", "message": "Field required"}]
    assert sorted(accruals().values_list("invoice_number", flat=True)) == ["F-1", "F-5"]
    # Each refusal is the very problem the single call gives (nothing changed since).
    for index in (1, 2, 3, 4, 5, 7):
        single = pos_api.post("/accruals", items[index])
        assert single.status_code == got[index]["status"]
        assert single.json() == got[index]["body"], index
    assert check_ledger() == []


def test_a_refused_first_accrual_in_a_batch_makes_no_member(pos_api, alice_shop, charlie_shop):
    newcomer = member(charlie_shop)  # the network's identity: accruing here joins (N2)
    got = results(
        batch(
            pos_api,
            [
                {"customer_id": newcomer, "amount": "10"},
                {"customer_id": newcomer, "amount": "5000"},
            ],
        )
    )
    assert [r["status"] for r in got] == [422, 201]
    assert got[1]["body"]["points"] == 5
    assert Membership.objects.filter(customer_id=newcomer).count() == 2


@pytest.mark.parametrize("count", [0, 501])
def test_an_empty_batch_or_more_than_500_items_is_refused(pos_api, alice_shop, count):
    ana = member(alice_shop)
    items = [{"customer_id": ana, "amount": "1000"} for _ in range(count)]
    response = batch(pos_api, items)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert [e["field"] for e in body["errors"]] == ["accruals"]
    assert not accruals().exists()


@pytest.mark.parametrize("body", [{}, {"accruals": "many"}, {"accruals": [1, None, "x"]}])
def test_a_batch_of_nonsense_is_422_never_500(pos_api, body):
    response = pos_api.post("/accruals/batch", body)
    assert response.status_code in (200, 422), response.content
    if response.status_code == 200:
        assert [r["status"] for r in response.json()["results"]] == [422, 422, 422]
    assert not accruals().exists()


def test_a_retried_batch_with_item_keys_answers_what_it_answered(pos_api, alice_shop):
    ana, bea = member(alice_shop), member(alice_shop)
    items = [
        {"customer_id": ana, "amount": "4000", "invoice_number": "F-10", "idempotency_key": "a"},
        {"customer_id": bea, "amount": "10", "invoice_number": "F-11", "idempotency_key": "b"},
        {"customer_id": bea, "amount": "2000", "invoice_number": "F-12", "idempotency_key": "c"},
    ]
    first = results(batch(pos_api, items))
    again = results(batch(pos_api, items))
    assert [r["status"] for r in first] == [201, 422, 201]
    assert again == first  # the same 201 bodies, not duplicate invoices
    assert accruals().count() == 2
    # The same key for another item is refused; that item alone.
    items[2] = {**items[2], "amount": "2500"}
    third = results(batch(pos_api, items))
    assert third[:2] == first[:2]
    assert third[2]["status"] == 422
    assert third[2]["body"]["code"] == "idempotency_key_reused"
    assert accruals().count() == 2
    assert check_ledger() == []


def test_a_batch_longer_than_a_chunk_keeps_order_and_invoice_numbers(pos_api, alice_shop):
    people = [member(alice_shop) for _ in range(3)]
    items = [
        {"customer_id": people[n % 3], "amount": "1000", "invoice_number": f"C-{n % 110}"}
        for n in range(2 * batch_module.CHUNK + 20)
    ]
    got = results(batch(pos_api, items))
    assert [r["status"] for r in got] == [201] * 110 + [409] * 10
    assert [r["body"]["transaction_id"] for r in got[110:]] == [r["body"]["id"] for r in got[:10]]
    assert accruals().count() == 110
    assert check_ledger() == []


@pytest.mark.in_process
def test_a_batch_cut_short_keeps_its_committed_chunks_and_its_retry_finishes(
    pos_api, alice_shop, monkeypatch
):
    """In process only (in_process): it patches a function in this process, not in a live server."""
    people = [member(alice_shop) for _ in range(4)]
    size = batch_module.CHUNK + 10
    items = [
        {
            "customer_id": people[n % 4],
            "amount": "2000",
            "invoice_number": f"X-{n}",
            "idempotency_key": f"x-{n}",
        }
        for n in range(size)
    ]
    real = batch_module.accrue_for

    def crash_at_the_second_chunk(actor, payload, members):
        if payload.invoice_number == f"X-{batch_module.CHUNK + 5}":
            raise RuntimeError("the worker dies here")
        return real(actor, payload, members)

    monkeypatch.setattr(batch_module, "SET_BASED", False)  # the per-item path's chunks
    monkeypatch.setattr(batch_module, "accrue_for", crash_at_the_second_chunk)
    crashed = batch(pos_api, items)
    assert crashed.status_code == 500 and crashed.json()["code"] == "internal_error"
    assert accruals().count() == batch_module.CHUNK  # the first chunk held; the second did not
    first_ids = set(accruals().values_list("pk", flat=True))
    monkeypatch.setattr(batch_module, "accrue_for", real)
    got = results(batch(pos_api, items))
    assert [r["status"] for r in got] == [201] * size
    assert accruals().count() == size
    assert {r["body"]["id"] for r in got[: batch_module.CHUNK]} == {str(i) for i in first_ids}
    assert check_ledger() == []


@pytest.mark.in_process
def test_a_retried_batch_is_answered_from_its_keys_in_one_query(pos_api, alice_shop):
    """In process only (in_process): it counts the queries of this process; a live server's are its
    own."""
    people = [member(alice_shop) for _ in range(10)]
    items = [
        {"customer_id": p, "amount": "3000", "invoice_number": f"R-{n}", "idempotency_key": f"r{n}"}
        for n, p in enumerate(people)
    ]
    first = results(batch(pos_api, items))
    with CaptureQueriesContext(connection) as queries:
        again = results(batch(pos_api, items))
    assert again == first
    record_lookups = [q for q in queries.captured_queries if "api_idempotencyrecord" in q["sql"]]
    assert len(record_lookups) == 1
    assert not [q for q in queries.captured_queries if "ledger_" in q["sql"]]
    assert not [q for q in queries.captured_queries if "advisory" in q["sql"]]


def test_a_retried_batch_without_keys_accrues_nothing_twice(pos_api, alice_shop):
    ana = member(alice_shop)
    items = [{"customer_id": ana, "amount": "4000", "invoice_number": "F-20"}]
    first = results(batch(pos_api, items))
    again = results(batch(pos_api, items))
    assert again[0]["status"] == 409
    assert again[0]["body"]["code"] == "duplicate_invoice"
    assert again[0]["body"]["transaction_id"] == first[0]["body"]["id"]
    assert accruals().count() == 1


def test_an_item_key_is_the_single_calls_key(pos_api, alice_shop):
    ana = member(alice_shop)
    item = {"customer_id": ana, "amount": "4000", "invoice_number": "F-30"}
    in_batch = results(batch(pos_api, [{**item, "idempotency_key": "till-7-0001"}]))[0]
    single = pos_api.post("/accruals", item, **{"Idempotency-Key": "till-7-0001"})
    assert single.status_code == 201 and single["Idempotent-Replayed"] == "true"
    assert single.json() == in_batch["body"]
    assert accruals().count() == 1
    record = IdempotencyRecord.objects.get(key="till-7-0001")
    assert record.path == "/api/v1/accruals"


def test_a_single_calls_key_is_replayed_by_a_batch_item(pos_api, alice_shop):
    ana = member(alice_shop)
    item = {"customer_id": ana, "amount": "4000", "invoice_number": "F-31"}
    single = pos_api.post("/accruals", item, **{"Idempotency-Key": "pos-31"})
    refused = pos_api.post(
        "/accruals", {**item, "invoice_number": "F-32"}, **{"Idempotency-Key": "pos-32"}
    )
    got = results(
        batch(
            pos_api,
            [
                {**item, "idempotency_key": "pos-31"},
                {**item, "invoice_number": "F-32", "idempotency_key": "pos-32"},
                {**item, "amount": "9000", "idempotency_key": "pos-31"},
            ],
        )
    )
    assert got[0] == {"status": 201, "body": single.json()}
    assert got[1] == {"status": 201, "body": refused.json()}  # that one was done: replayed
    assert got[2]["status"] == 422 and got[2]["body"]["code"] == "idempotency_key_reused"
    assert accruals().count() == 2


def test_a_key_belongs_to_its_credential(pos_api, cashier_api, alice_shop):
    ana = member(alice_shop)
    item = {"customer_id": ana, "amount": "4000", "invoice_number": "F-33"}
    pos_api.post("/accruals", item, **{"Idempotency-Key": "k"})
    got = results(batch(cashier_api, [{**item, "idempotency_key": "k"}]))[0]
    assert got["status"] == 409 and got["body"]["code"] == "duplicate_invoice"  # not replayed


@pytest.mark.parametrize("key", ["", "x" * 256, 7, ["a"], {"a": 1}, "zero\u200bwidth"])
def test_a_bad_item_key_fails_that_item(pos_api, alice_shop, key):
    ana = member(alice_shop)
    got = results(
        batch(
            pos_api,
            [
                {"customer_id": ana, "amount": "1000", "idempotency_key": key},
                {"customer_id": ana, "amount": "2000"},
            ],
        )
    )
    assert [r["status"] for r in got] == [422, 201]
    assert got[0]["body"]["errors"][0]["field"] == "idempotency_key"


def test_the_batch_header_replays_the_whole_response(pos_api, alice_shop):
    ana, bea = member(alice_shop), member(alice_shop)
    items = [
        {"customer_id": ana, "amount": "4000", "invoice_number": "F-40"},
        {"customer_id": bea, "amount": "1", "invoice_number": "F-41"},
    ]
    first = batch(pos_api, items, **{"Idempotency-Key": "sync-2026-12-03"})
    again = batch(pos_api, items, **{"Idempotency-Key": "sync-2026-12-03"})
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert [r["status"] for r in first.json()["results"]] == [201, 422]
    assert accruals().count() == 1
    other = batch(pos_api, items[:1], **{"Idempotency-Key": "sync-2026-12-03"})
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"


def test_another_merchants_branch_fails_only_that_item(pos_api, alice_shop, charlie_shop):
    ana = member(alice_shop)
    got = results(
        batch(
            pos_api,
            [
                {"customer_id": ana, "amount": "1000", "branch_id": str(charlie_shop.branch.pk)},
                {"customer_id": ana, "amount": "1000", "branch_id": str(alice_shop.branch.pk)},
            ],
        )
    )
    assert got[0]["status"] == 404 and got[0]["body"]["code"] == "not_found"
    assert got[1]["status"] == 201
    assert not Transaction.objects.filter(merchant=charlie_shop.merchant).exists()


def test_another_merchants_token_sees_nothing_of_a_batch(pos_api, other_api, alice_shop):
    ana = member(alice_shop)
    item = {"customer_id": ana, "amount": "5000", "invoice_number": "F-50"}
    pos_api.post("/accruals/batch", {"accruals": [{**item, "idempotency_key": "k50"}]})
    # Merchant B's key space and invoice numbers are its own: the same item accrues there.
    got = results(batch(other_api, [{**item, "amount": "12", "idempotency_key": "k50"}]))[0]
    assert got["status"] == 201 and got["body"]["points"] == 12
    assert accruals().count() == 2


def test_staff_tokens_and_pos_keys_both_work(pos_api, cashier_api, admin_api, anon_api, alice_shop):
    ana = member(alice_shop)
    for n, api in enumerate((pos_api, cashier_api, admin_api), start=1):
        got = results(batch(api, [{"customer_id": ana, "amount": "1000"}]))
        assert got[0]["status"] == 201
        assert got[0]["body"]["balance"]["available"] == n
    assert accruals().count() == 3
    response = batch(anon_api, [{"customer_id": ana, "amount": "1000"}])
    assert response.status_code == 401
    assert Api("not-a-token").post("/accruals/batch", {"accruals": []}).status_code == 401


@pytest.mark.in_process
def test_memberships_are_loaded_once_for_the_whole_batch(pos_api, alice_shop, charlie_shop):
    """In process only (in_process): it counts the queries of this process; a live server's are its
    own."""
    ids = [member(alice_shop) for _ in range(6)] + [member(charlie_shop) for _ in range(3)]
    items = [{"customer_id": i, "amount": "1000"} for i in ids]
    batch(pos_api, [{"customer_id": ids[0], "amount": "1000"}])  # the key resolved, rules known
    with CaptureQueriesContext(connection) as queries:
        got = results(batch(pos_api, items))
    assert [r["status"] for r in got] == [201] * 9
    lookups = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith("SELECT") and 'FROM "customers_membership"' in q["sql"]
    ]
    # One for the whole batch; join_merchant's own race-safe look before it creates each of the
    # three newcomers' memberships is the rest: none for the six members.
    assert len(lookups) == 1 + 3, lookups
    assert " IN (" in lookups[0]
    customer_lookups = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith("SELECT") and 'FROM "customers_customer"' in q["sql"]
    ]
    assert len(customer_lookups) == 1  # the three who join here, at once


def test_a_customer_twice_in_one_batch_joins_once(pos_api, alice_shop, charlie_shop):
    newcomer = member(charlie_shop)
    items = [{"customer_id": newcomer, "amount": "1000"}] * 3
    got = results(batch(pos_api, items))
    assert [r["body"]["balance"]["available"] for r in got] == [1, 2, 3]
    assert (
        Membership.objects.filter(customer_id=newcomer, merchant=alice_shop.merchant).count() == 1
    )
    assert check_ledger() == []


def test_the_schema_documents_the_batch(anon_api):
    schema = json.loads(anon_api.get("/openapi.json").content)
    operation = schema["paths"]["/api/v1/accruals/batch"]["post"]
    assert set(operation["responses"]) >= {"200", "401", "422"}
    batch_in = schema["components"]["schemas"]["BatchIn"]["properties"]["accruals"]
    assert batch_in["maxItems"] == 500
    assert "idempotency_key" in batch_in["items"]["properties"]


# --- two POS syncs of the same batch at once: real threads on PostgreSQL ------------------------


def _send_at_once(shop, bodies: list[dict], headers: list[dict]) -> list:
    barrier = threading.Barrier(len(bodies))
    responses = [None] * len(bodies)

    def send(i):
        barrier.wait(timeout=30)
        try:
            responses[i] = Client().post(
                "/api/v1/accruals/batch",
                bodies[i],
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {shop.api_key}",
                **headers[i],
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return responses


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("mode", ["plain", "item_keys", "batch_headers", "reversed_with_headers"])
def test_two_batches_with_the_same_items_at_once_accrue_each_invoice_once(mode):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (row locks): set DATABASE_URL=postgres://… to run it")
    shop = testing.make_merchant(point_value="1")
    people = [str(testing.make_customer(shop).customer.pk) for _ in range(10)]
    items = [
        {"customer_id": person, "amount": str(100 + n), "invoice_number": f"F-{n}"}
        for n, person in enumerate(people)
    ]
    if mode == "item_keys":
        items = [{**item, "idempotency_key": f"sync-{n}"} for n, item in enumerate(items)]
    second = list(reversed(items)) if mode == "reversed_with_headers" else items
    headers = [{}, {}]
    if mode in ("batch_headers", "reversed_with_headers"):
        headers = [{"HTTP_IDEMPOTENCY_KEY": "sync-a"}, {"HTTP_IDEMPOTENCY_KEY": "sync-b"}]
    a, b = _send_at_once(shop, [{"accruals": items}, {"accruals": second}], headers)
    assert a.status_code == b.status_code == 200, (a.content, b.content)
    answers = {}
    for sent, response in ((items, a), (second, b)):
        for item, result in zip(sent, response.json()["results"], strict=True):
            answers.setdefault(item["invoice_number"], []).append(result)
    done = Transaction.objects.filter(merchant=shop.merchant, kind="accrual")
    assert done.count() == 10
    assert sorted(done.values_list("invoice_number", flat=True)) == sorted(answers)
    for invoice, (first, other) in answers.items():
        txn = done.get(invoice_number=invoice)
        winners = [r for r in (first, other) if r["status"] == 201]
        assert winners and all(r["body"]["id"] == str(txn.pk) for r in winners), invoice
        if mode != "item_keys":  # only a key replays a 201; without one the second is refused
            assert len(winners) == 1
        for loser in (r for r in (first, other) if r["status"] != 201):
            assert loser["status"] == 409, loser
            assert loser["body"]["code"] in (
                "duplicate_invoice",
                "idempotency_in_progress",
                "concurrent_request",
            )
            if loser["body"]["code"] == "duplicate_invoice":
                assert loser["body"]["transaction_id"] == str(txn.pk)
    assert check_ledger() == []
