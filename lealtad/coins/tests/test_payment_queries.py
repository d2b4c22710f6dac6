"""Query-count baselines of a coin payment through the API (issue 15: create + confirm p99 under
100 ms): exact counts, so that a query more on either step fails here, named."""

from decimal import Decimal

import pytest
from django.db import connection

from lealtad.api.tests.conftest import Api
from lealtad.api.tests.test_coin_payments import code_for
from lealtad.coins import actions as coins
from lealtad.core import testing

pytestmark = pytest.mark.django_db

SAVEPOINT_AND_RELEASE = 2


@pytest.fixture
def world():
    issuer = testing.make_merchant("Café", coin_issuer=True, cashback_rate="1")
    acceptor = testing.make_merchant("Librería", coin_acceptor=True)
    customer = testing.make_customer(issuer).customer
    coins.earn_coins(merchant=issuer.merchant, customer=customer, amount=Decimal(1000))
    api = Api(acceptor.api_key)
    assert api.get("/coin-promotions").status_code == 200  # the key, resolved once
    return api, customer, acceptor


def test_create_then_confirm(world, django_assert_num_queries):
    api, customer, acceptor = world
    body = {
        "customer_id": str(customer.pk),
        "invoice_amount": "30000.00",
        "coins": 500,
        "invoice_number": "F-1",
        "branch_id": str(acceptor.branch.pk),
    }
    # The API key (lealtad.api.auth); the branch; the customer; the network (whether the
    # merchant's currency is the network's); the customer's membership here (the exit gate); the
    # wallet; then in one transaction: the wallet locked, its lots (due ones expire first), the
    # hold (the account's UPDATE, the hold's INSERT), the code (today's count, its e-mail and
    # task, the code: 4), the payment; then the answer: the wallet's balance and due lots.
    create = 1 + 1 + 1 + 1 + 1 + 1 + 2 + 2 + 4 + 1 + 2
    # The idempotency key's row, read and written (lealtad.api.idempotency), in a savepoint; on
    # PostgreSQL the key's advisory lock first.
    idempotency = 2 + SAVEPOINT_AND_RELEASE + (connection.vendor == "postgresql")
    with django_assert_num_queries(create + SAVEPOINT_AND_RELEASE + idempotency):
        made = api.post("/coin-payments", body, **{"Idempotency-Key": "k-1"})
    assert made.status_code == 201, made.content
    payment_id = made.json()["id"]
    code = code_for(customer)
    # The API key; in one transaction: the payment (with its hold), the wallet locked, the
    # payment locked (with its hold again, as it is under the lock),
    # the code checked and used (2), the capture (the transaction, the hold, the lots, the
    # entry, the lot, the account, the hold, the audit entry, the payment: 9), the webhooks'
    # endpoints; then the answer: the wallet's balance and due lots, and whether the movement
    # was reversed.
    confirm = 1 + 3 + 2 + 9 + 1 + 3
    with django_assert_num_queries(confirm + SAVEPOINT_AND_RELEASE + idempotency):
        done = api.post(
            f"/coin-payments/{payment_id}/confirm",
            {"code": code},
            **{"Idempotency-Key": "k-2"},
        )
    assert done.status_code == 200 and done.json()["status"] == "captured", done.content
