"""Issue 15: batch accruals posted set-based on PostgreSQL answer, and leave, exactly what the
per-item path does; concurrent batches and single accruals keep the balances exact; a chunk
costs a fixed number of statements."""

import threading
import uuid
from collections import Counter

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from lealtad.api import bulk_batch
from lealtad.api.idempotency import fingerprint
from lealtad.api.models import IdempotencyRecord
from lealtad.api.tests.conftest import Api
from lealtad.audit.models import AuditEntry
from lealtad.core import testing
from lealtad.customers.models import Customer, Membership
from lealtad.invoices.actions import record_invoice
from lealtad.invoices.models import Invoice
from lealtad.ledger.check import check_ledger
from lealtad.ledger.models import Account, Entry, Lot, Transaction
from lealtad.notifications.models import OutgoingEmail
from lealtad.offers.models import PromotionUse
from lealtad.program.models import Category, FraudRule
from lealtad.webhooks.models import Delivery, Endpoint, Event

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("the set-based path is PostgreSQL's: set DATABASE_URL=postgres://… to run it")


def _world(promotion: bool):
    """A merchant sending every e-mail, with a webhook endpoint, members of every kind, a
    standing accrual, a waiting POS invoice and a recorded key; the batch it receives, and the
    role of each customer (to compare two worlds)."""
    shop = testing.make_merchant(email_on_accrual=True, rating_invite=True)
    merchant = shop.merchant
    Endpoint.objects.create(
        merchant=merchant, url="https://hooks.example.com/a", events=["accrual.posted"], secret="s"
    )
    roles = {}

    def person(role, category=None):
        membership = testing.make_customer(shop).membership
        if category is not None:
            Membership.objects.filter(pk=membership.pk).update(category=category)
        roles[membership.customer_id] = role
        return str(membership.customer_id)

    manual = Category.objects.create(merchant=merchant, name="Manual", audit_mode="manual")
    watched = Category.objects.create(merchant=merchant, name="Watched", audit_mode="own")
    FraudRule.objects.create(
        merchant=merchant, category=watched, kind="max_invoice_amount", limit=10000
    )
    plain = [person(f"m{n}") for n in range(40)]
    held, ruled, gone = person("held", manual), person("ruled", watched), person("suspended")
    Customer.objects.filter(pk=gone).update(suspended=True)
    other = testing.make_merchant()
    newcomer = str(testing.make_customer(other).customer.pk)
    roles[uuid.UUID(newcomer)] = "newcomer"
    if promotion != "none":
        testing.make_promotion(shop, kind="bonus", bonus_points=7)
        standard = Category.objects.get(merchant=merchant, is_default=True)
        testing.make_promotion(
            shop, kind="multiplier", multiplier=2, min_amount=10000, target="categories",
            categories=[standard],
        )  # fmt: skip
        testing.make_promotion(
            shop, kind="bonus", bonus_points=3, target="customers",
            members=[Membership.objects.get(customer_id=plain[13], merchant=merchant)],
        )  # fmt: skip
    if promotion == "limited":
        testing.make_promotion(shop, kind="bonus", bonus_points=5, uses_per_customer=1)
    api = Api(shop.api_key)
    assert (
        api.post(
            "/accruals", {"customer_id": plain[3], "amount": "5000", "invoice_number": "F-0"}
        ).status_code
        == 201
    )
    assert (
        api.post(
            "/accruals",
            {"customer_id": plain[4], "amount": "3000", "invoice_number": "K-0"},
            **{"Idempotency-Key": "k-old"},
        ).status_code
        == 201
    )
    record_invoice(merchant=merchant, branch=shop.branch, invoice_number="P-1", amount="5000")
    items = [
        {"customer_id": plain[0], "amount": "25999.99", "invoice_number": "F-1"},
        {"customer_id": plain[1], "amount": "1000", "invoice_number": " f-1 "},  # F-1 again
        {"customer_id": plain[2], "amount": "abc", "invoice_number": "F-2"},
        {"customer_id": "00000000-0000-0000-0000-000000000000", "amount": "1000"},
        {"customer_id": plain[5], "amount": "4000", "invoice_number": "F-0"},  # standing
        {"customer_id": plain[6], "amount": "5000", "invoice_number": "P-1"},  # waiting POS
        {"customer_id": plain[7], "amount": "10", "invoice_number": "F-3"},  # below one point
        {"customer_id": held, "amount": "8000", "invoice_number": "F-4"},
        {"customer_id": ruled, "amount": "20000", "invoice_number": "F-5"},  # held by the rule
        {"customer_id": ruled, "amount": "2000", "invoice_number": "F-6"},
        {"customer_id": gone, "amount": "2000", "invoice_number": "F-7"},
        {"customer_id": newcomer, "amount": "6000", "invoice_number": "F-8"},
        {"customer_id": plain[8], "amount": "2000"},
        {"customer_id": plain[8], "amount": "3000", "invoice_number": "F-9"},
        {"customer_id": plain[9], "amount": "3000", "idempotency_key": "k-1"},
        {"customer_id": plain[9], "amount": "3000", "idempotency_key": "k-1"},  # replayed
        {"customer_id": plain[10], "amount": "3000", "idempotency_key": "k-2"},
        {"customer_id": plain[10], "amount": "9000", "idempotency_key": "k-2"},  # reused: 422
        {
            "customer_id": plain[4],
            "amount": "3000",
            "invoice_number": "K-0",
            "idempotency_key": "k-old",
        },
        {"customer_id": plain[11], "amount": "3000", "branch_id": str(uuid.uuid4())},
    ]
    items += [
        {
            "customer_id": p,
            "amount": f"{2 + n}000",
            "invoice_number": f"G-{n}",
            "idempotency_key": f"g-{n}",
        }
        for n, p in enumerate(plain[12:])
    ]
    items += [{"customer_id": p, "amount": "1500"} for p in plain[12:20]]  # second chunk again
    return shop, api, items, roles


def _state(merchant, items, results, roles) -> dict:
    """Everything the batch answered and wrote, with ids replaced by what they stand for."""
    names: dict[str, str] = {}

    def name(txn_id):
        return names.setdefault(str(txn_id), f"T{len(names)}") if txn_id else None

    answers = []
    for r in results:
        body = dict(r["body"])
        for field in ("id", "transaction_id"):
            if field in body:
                body[field] = name(body[field])
        answers.append((r["status"], body))
    txns = Transaction.objects.filter(merchant=merchant)
    role = {t.pk: roles.get(t.customer_id) for t in txns}
    accounts = Account.objects.filter(transactions__merchant=merchant).distinct()
    return {
        "answers": answers,
        "transactions": sorted(
            (
                role[t.pk],
                t.kind,
                t.status,
                t.points,
                t.balance_after,
                t.invoice_number or "",
                str(t.amount),
                t.hold_rule,
                name(t.pk) if str(t.pk) in names else "",
            )
            for t in txns
        ),
        "accounts": sorted((roles.get(a.customer_id), a.balance, a.pending) for a in accounts),
        "lots": sorted(
            (role[lot.transaction_id], lot.points, lot.remaining, lot.status)
            for lot in Lot.objects.filter(transaction__merchant=merchant)
        ),
        "entries": sorted(
            (role[e.transaction_id], e.points)
            for e in Entry.objects.filter(transaction__merchant=merchant)
        ),
        "emails": sorted(
            (
                roles.get(e.customer_id),
                e.event,
                e.next_attempt_at is None,
                e.subject.replace(merchant.name, "M"),
            )
            for e in OutgoingEmail.objects.filter(merchant=merchant)
        ),
        "events": sorted(
            (e.type, e.payload["data"]["points"], e.payload["data"]["balance"]["available"])
            for e in Event.objects.filter(merchant=merchant)
        ),
        "deliveries": Delivery.objects.filter(event__merchant=merchant).count(),
        "records": sorted(
            _record(r, items, name) for r in IdempotencyRecord.objects.filter(merchant=merchant)
        ),
        "invoices": sorted(
            (i.invoice_number, i.status, name(i.transaction_id) if i.transaction_id else None)
            for i in Invoice.objects.filter(merchant=merchant)
        ),
        "memberships": Membership.objects.filter(merchant=merchant).count(),
        "promotion_uses": sorted(
            (
                roles.get(u.membership.customer_id),
                u.promotion.name.split()[0],
                u.points,
                name(u.transaction_id) if str(u.transaction_id) in names else "",
            )
            for u in PromotionUse.objects.filter(membership__merchant=merchant).select_related(
                "promotion", "membership"
            )
        ),
    }


def _record(record, items, name) -> tuple:
    """A key's record: its answer (ids named) and whether it is bound to its item's body."""
    import json

    first = next((i for i in items if i.get("idempotency_key") == record.key), None)
    signed = None
    if first is not None:
        body = {k: v for k, v in first.items() if k != "idempotency_key"}
        signed = fingerprint("POST", "/api/v1/accruals", body) == record.request_hash
    answer = json.loads(bytes(record.response_body))
    for field in ("id", "transaction_id"):
        if field in answer:
            answer[field] = name(answer[field])
    return (record.key, record.status_code, record.path, record.content_type, signed, str(answer))


@pytest.mark.in_process
@pytest.mark.parametrize("promotion", ["none", "running", "limited"])
def test_the_set_based_path_answers_and_writes_what_the_per_item_path_does(monkeypatch, promotion):
    """In process only (in_process): it patches a function in this process, not in a live server."""
    from django_tasks_db.models import DBTaskResult

    states, tasks, posted = [], [], []
    real = bulk_batch.bulk.post_many

    def counted(merchant, staff, accruals, now):
        posted[-1] += len(accruals)
        return real(merchant, staff, accruals, now)

    monkeypatch.setattr(bulk_batch.bulk, "post_many", counted)
    for set_based in (True, False):
        monkeypatch.setattr(bulk_batch, "supported", lambda on=set_based: on)
        shop, api, items, roles = _world(promotion)
        before = DBTaskResult.objects.count()
        posted.append(0)
        response = api.post("/accruals/batch", {"accruals": items})
        assert response.status_code == 200
        states.append(_state(shop.merchant, items, response.json()["results"], roles))
        tasks.append(DBTaskResult.objects.count() - before)
    fast, slow = states
    for part in slow:
        assert fast[part] == slow[part], part
    assert tasks[0] == tasks[1]
    statuses = Counter(status for status, _body in fast["answers"])
    assert statuses == {201: 48, 409: 2, 422: 3, 404: 2, 403: 1}
    # Most of the batch went set-based; none of it while a promotion limits its uses.
    assert posted[0] == (0 if promotion == "limited" else 38)
    if promotion == "running":
        uses = PromotionUse.objects.filter(membership__merchant=shop.merchant)
        assert uses.count() > 38
    assert check_ledger() == []


@pytest.mark.in_process
def test_a_chunk_of_50_costs_a_fixed_number_of_statements(pos_api, alice_shop):
    """In process only (in_process): it counts the queries of this process; a live server's are its
    own."""
    people = [str(testing.make_customer(alice_shop).customer.pk) for _ in range(50)]
    pos_api.post("/accruals/batch", {"accruals": [{"customer_id": people[0], "amount": "1000"}]})
    items = [
        {"customer_id": p, "amount": "3000", "invoice_number": f"Q-{n}", "idempotency_key": f"q{n}"}
        for n, p in enumerate(people)
    ]
    with CaptureQueriesContext(connection) as queries:
        response = pos_api.post("/accruals/batch", {"accruals": items})
    got = response.json()["results"]
    assert [r["status"] for r in got] == [201] * 50
    sql = [q["sql"] for q in queries.captured_queries]
    # The key's owner (1), memberships and records preloaded (2), the promotions' day and the
    # category's rules (cached or 0–2), numbers locked and looked up (2), keys tried and looked up
    # (2), the savepoint (2), the accounts locked and added to (2), transactions, lots, entries and
    # records inserted (4), their audit entries (1, issue 16), the webhook subscribers (1).
    assert len(sql) <= 20, "\n".join(sql)
    assert sum('INSERT INTO "ledger_transaction"' in q for q in sql) == 1
    assert sum('INSERT INTO "audit_auditentry"' in q for q in sql) == 1
    trail = AuditEntry.objects.filter(action="points.accrue", target_label__startswith="Q-")
    assert sorted(trail.values_list("target_label", flat=True)) == sorted(
        i["invoice_number"] for i in items
    )
    assert {e.actor_kind for e in trail} == {"api_key"} and {e.after["points"] for e in trail} == {
        3
    }
    assert check_ledger() == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_and_single_accruals_keep_balances_exact():
    shop = testing.make_merchant(point_value="1")
    people = [str(testing.make_customer(shop).customer.pk) for _ in range(8)]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {shop.api_key}"}
    answers: list = []
    lock = threading.Lock()
    barrier = threading.Barrier(4)

    def batches(tag):
        barrier.wait(timeout=30)
        try:
            for round_no in range(3):
                items = [
                    {
                        "customer_id": people[n % 8],
                        "amount": str(10 + n),
                        "invoice_number": f"{tag}-{round_no}-{n}",
                    }
                    for n in range(60)
                ]
                response = Client().post(
                    "/api/v1/accruals/batch",
                    {"accruals": items},
                    content_type="application/json",
                    **auth,
                )
                assert response.status_code == 200, response.content
                with lock:
                    answers.extend(response.json()["results"])
        finally:
            connection.close()

    def singles(tag):
        barrier.wait(timeout=30)
        try:
            for n in range(40):
                response = Client().post(
                    "/api/v1/accruals",
                    {"customer_id": people[n % 8], "amount": "7", "invoice_number": f"{tag}-{n}"},
                    content_type="application/json",
                    **auth,
                )
                with lock:
                    answers.append({"status": response.status_code, "body": response.json()})
        finally:
            connection.close()

    threads = [
        threading.Thread(target=batches, args=("A",)),
        threading.Thread(target=batches, args=("B",)),
        threading.Thread(target=singles, args=("S",)),
        threading.Thread(target=singles, args=("U",)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert len(answers) == 2 * 3 * 60 + 2 * 40
    done = [a for a in answers if a["status"] == 201]
    refused = [a for a in answers if a["status"] != 201]
    assert all(a["status"] == 409 and a["body"]["code"] == "concurrent_request" for a in refused)
    assert len(done) == Transaction.objects.filter(merchant=shop.merchant, kind="accrual").count()
    total = sum(
        Account.objects.filter(customer_id__in=people, merchant=shop.merchant).values_list(
            "balance", flat=True
        )
    )
    assert total == sum(a["body"]["points"] for a in done)
    assert check_ledger() == []


@pytest.mark.in_process
def test_a_number_the_constraint_refuses_sends_the_window_per_item(
    pos_api, alice_shop, monkeypatch
):
    """In process only (in_process): it patches a function in this process, not in a live server."""
    people = [str(testing.make_customer(alice_shop).customer.pk) for _ in range(4)]
    first = pos_api.post(
        "/accruals", {"customer_id": people[0], "amount": "5000", "invoice_number": "Z-1"}
    )
    # As if the look-up had missed the standing accrual: the unique constraint is the backstop.
    monkeypatch.setattr(bulk_batch.bulk, "numbers_in_use", lambda merchant, keys: set())
    items = [
        {"customer_id": p, "amount": "3000", "invoice_number": f"Z-{n}", "idempotency_key": f"z{n}"}
        for n, p in enumerate(people)
    ]
    got = pos_api.post("/accruals/batch", {"accruals": items}).json()["results"]
    assert [r["status"] for r in got] == [201, 409, 201, 201]
    assert got[1]["body"]["code"] == "duplicate_invoice"
    assert got[1]["body"]["transaction_id"] == first.json()["id"]
    assert Transaction.objects.filter(merchant=alice_shop.merchant).count() == 4
    assert IdempotencyRecord.objects.filter(merchant=alice_shop.merchant).count() == 4
    assert check_ledger() == []


@pytest.mark.in_process
def test_a_batch_cut_short_in_its_second_window_keeps_the_first_and_its_retry_finishes(
    monkeypatch,
):
    """A worker dying while it writes the second set-based window: the first window stays
    committed, nothing of the second is written, and the retry answers the first window from
    its keys and posts the rest.

    In process only (in_process): it patches a function in this process, not in a live server."""
    from lealtad.api import batch as batch_module

    shop = testing.make_merchant()
    people = [str(testing.make_customer(shop).customer.pk) for _ in range(12)]
    size = batch_module.SET_CHUNK + 10
    items = [
        {
            "customer_id": people[n % 12],
            "amount": "2000",
            "invoice_number": f"W-{n}",
            "idempotency_key": f"w-{n}",
        }
        for n in range(size)
    ]
    real = bulk_batch.post_chunk
    calls = []

    def crash_in_the_second_window(*args, **kwargs):
        calls.append(1)
        done = real(*args, **kwargs)
        if len(calls) == 2:
            raise RuntimeError("the worker dies here")
        return done

    monkeypatch.setattr(bulk_batch, "post_chunk", crash_in_the_second_window)
    api = Api(shop.api_key)
    accruals = Transaction.objects.filter(merchant=shop.merchant, kind="accrual")
    crashed = api.post("/accruals/batch", {"accruals": items})
    assert crashed.status_code == 500
    assert accruals.count() == batch_module.SET_CHUNK
    first_ids = {str(pk) for pk in accruals.values_list("pk", flat=True)}
    monkeypatch.setattr(bulk_batch, "post_chunk", real)
    got = api.post("/accruals/batch", {"accruals": items}).json()["results"]
    assert [r["status"] for r in got] == [201] * size
    assert accruals.count() == size
    assert {r["body"]["id"] for r in got[: batch_module.SET_CHUNK]} == first_ids
    assert check_ledger() == []
