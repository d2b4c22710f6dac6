"""K2: earning coins at an issuer, `POST /api/v1/coins/earnings`; one invoice earns once per
merchant, points or coins (the same unique key as points: ledger.invoices.invoice_key)."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from lealtad.api.tests.conftest import Api
from lealtad.coins import actions as coins
from lealtad.core import errors, testing
from lealtad.customers.models import Membership
from lealtad.ledger import actions as ledger
from lealtad.ledger.models import Account, Kind, Transaction


@pytest.fixture
def issuer(db):
    return testing.make_merchant(coin_issuer=True, cashback_rate="0.03")


@pytest.fixture
def api(issuer):
    return Api(issuer.api_key)


def problem(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["code"] == code
    return response.json()


def test_an_earning_through_the_api(issuer, api):
    customer = testing.make_customer(issuer).customer
    body = {"customer_id": str(customer.pk), "amount": "25000.00", "invoice_number": "F-1"}
    response = api.post("/coins/earnings", body)
    assert response.status_code == 201, response.content
    data = response.json()
    assert set(data) == {"id", "coins", "balance"}
    assert data["coins"] == 750 and data["balance"] == {"available": 750, "held": 0}
    txn = Transaction.objects.get(pk=data["id"])
    assert (txn.kind, txn.invoice_number, txn.merchant_id) == (
        Kind.COIN_EARN,
        "F-1",
        issuer.merchant.pk,
    )


def test_a_first_earning_makes_the_customer_a_member_and_a_refused_one_does_not(issuer, api):
    stranger = testing.make_customer(testing.make_merchant("Otro")).customer
    response = api.post("/coins/earnings", {"customer_id": str(stranger.pk), "amount": "10"})
    problem(response, 422, "amount_below_minimum")
    assert not Membership.objects.filter(customer=stranger, merchant=issuer.merchant).exists()
    response = api.post("/coins/earnings", {"customer_id": str(stranger.pk), "amount": "1000"})
    assert response.status_code == 201
    assert Membership.objects.filter(customer=stranger, merchant=issuer.merchant).exists()


def test_refusals_are_problems(issuer, api, db):
    customer = testing.make_customer(issuer).customer
    plain = testing.make_merchant("Sin monedas")
    body = {"customer_id": str(customer.pk), "amount": "1000"}
    problem(Api(plain.api_key).post("/coins/earnings", body), 403, "not_coin_issuer")
    for bad in ("abc", "-5", "1e3", "NaN", "1.001"):
        problem(api.post("/coins/earnings", {**body, "amount": bad}), 422, "validation_error")
    problem(api.post("/coins/earnings", {**body, "customer_id": "nope"}), 404, "not_found")
    problem(api.post("/coins/earnings", {**body, "branch_id": "nope"}), 404, "not_found")
    problem(api.post("/coins/earnings", raw="{"), 400, "http_error")


@pytest.mark.parametrize("first", ["points", "coins"])
def test_one_invoice_earns_once_at_a_merchant_points_or_coins(issuer, api, first):
    member = testing.make_customer(issuer).membership
    customer = member.customer

    def points(number):
        return ledger.accrue_points(
            merchant=issuer.merchant, membership=member, branch=issuer.branch,
            amount=Decimal(5000), invoice_number=number,
        )  # fmt: skip

    def earn(number):
        return coins.earn_coins(
            merchant=issuer.merchant, customer=customer, amount=Decimal(5000),
            branch=issuer.branch, invoice_number=number,
        )  # fmt: skip

    (points if first == "points" else earn)("F-77")
    with pytest.raises(errors.DuplicateInvoice):
        (earn if first == "points" else points)(" f‑77 ")  # other case, spaces and dash
    with pytest.raises(errors.DuplicateInvoice):
        (points if first == "points" else earn)("F-77")
    body = {"customer_id": str(customer.pk), "amount": "5000", "invoice_number": "f-77"}
    problem(api.post("/coins/earnings", body), 409, "duplicate_invoice")
    assert Transaction.objects.filter(merchant=issuer.merchant, invoice_key="f-77").count() == 1
    # The same number at another issuer is another invoice.
    other = testing.make_merchant("Otro", coin_issuer=True, cashback_rate="0.01")
    assert (
        coins.earn_coins(
            merchant=other.merchant, customer=customer, amount=Decimal(5000), invoice_number="F-77"
        ).transaction.points
        == 50
    )


@pytest.mark.django_db(transaction=True)
def test_the_same_invoice_earning_points_and_coins_at_once_makes_one(postgres_only):
    issuer = testing.make_merchant(coin_issuer=True, cashback_rate="0.03", point_value="1")
    member = testing.make_customer(issuer).membership
    count = 12
    barrier = threading.Barrier(count)
    results = [None] * count

    def work(i):
        try:
            barrier.wait(timeout=30)
            if i % 2:
                results[i] = coins.earn_coins(
                    merchant=issuer.merchant, customer=member.customer, amount=Decimal(1000),
                    invoice_number="F-9",
                )  # fmt: skip
            else:
                results[i] = ledger.accrue_points(
                    merchant=issuer.merchant, membership=member, branch=issuer.branch,
                    amount=Decimal(1000), invoice_number="f-9",
                )  # fmt: skip
        except Exception as exc:  # collected and asserted below
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    done = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, errors.DuplicateInvoice)]
    assert len(done) == 1 and len(refused) == count - 1, results
    assert Transaction.objects.filter(merchant=issuer.merchant, invoice_key="f-9").count() == 1
    points = Account.objects.get(pk=member.account_id).balance
    wallet = Account.objects.filter(customer=member.customer, kind="coins").first()
    assert sorted([points, wallet.balance if wallet else 0]) in ([0, 30], [0, 1000])
