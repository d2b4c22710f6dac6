"""The points rules as a POS or an outside client meets them: invoice numbers, amounts, the
minimum purchase, and the merchant's document check on redemptions (P6)."""

import pytest

from lealtad.api.tests.test_api import complete, problem_of, registered
from lealtad.core import testing
from lealtad.customers.models import Membership
from lealtad.ledger.models import Account, Transaction
from lealtad.network.models import Merchant

pytestmark = pytest.mark.django_db


def accrual(api, customer, amount="5000", **extra):
    return api.post("/accruals", {"customer_id": customer["id"], "amount": amount, **extra})


def test_an_invoice_number_in_another_case_is_the_same_invoice(pos_api, cashier_api):
    customer = registered(cashier_api)
    assert accrual(pos_api, customer, invoice_number="F-1001").status_code == 201
    body = problem_of(
        accrual(pos_api, customer, invoice_number=" f-1001 "), 409, "duplicate_invoice"
    )
    assert body["transaction_id"]
    assert Transaction.objects.filter(kind="accrual").count() == 1


def test_a_reversed_invoice_is_refused_with_its_own_code(admin_api, cashier_api):
    customer = registered(cashier_api)
    txn = accrual(cashier_api, customer, invoice_number="F-2").json()
    assert (
        admin_api.post(f"/transactions/{txn['id']}/reversal", {"reason": "Void"}).status_code == 201
    )
    body = problem_of(accrual(cashier_api, customer, invoice_number="f-2"), 409, "invoice_reversed")
    assert body["transaction_id"] == txn["id"]
    assert "anulada" in body["detail"]  # Spanish by default


def test_a_rejected_accrual_frees_its_invoice_number(admin_api, cashier_api, alice_shop):
    from lealtad.ledger import actions

    customer = registered(cashier_api)
    alice_shop.merchant.categories.update(audit_mode="manual")
    held = accrual(cashier_api, customer, invoice_number="F-3").json()
    actions.reject_accrual(merchant=alice_shop.merchant, transaction_id=held["id"], reason="No")
    again = accrual(cashier_api, customer, invoice_number="F-3")
    assert again.status_code == 201 and again.json()["id"] != held["id"]


@pytest.mark.parametrize("amount", ["999", "1", "999.99"])
def test_an_amount_below_one_point_is_422_with_the_minimum(cashier_api, amount):
    customer = registered(cashier_api)
    body = problem_of(accrual(cashier_api, customer, amount), 422, "amount_below_minimum")
    assert body["minimum"] == "1000.00"
    assert body["errors"][0]["field"] == "amount"
    assert "1.000 COP" in body["detail"]
    assert not Transaction.objects.exists()


@pytest.mark.parametrize(
    "amount", ["1e6", "1E6", "25,5", "25.000,00", "1,000", " ", "+5000", "0x10"]
)
def test_an_amount_not_written_as_a_plain_decimal_is_refused(cashier_api, amount):
    customer = registered(cashier_api)
    body = problem_of(accrual(cashier_api, customer, amount), 422, "validation_error")
    assert body["errors"][0]["field"] == "amount"
    assert not Transaction.objects.exists()


def test_a_refused_first_accrual_at_a_merchant_makes_no_member(cashier_api, other_api):
    customer = registered(cashier_api)  # a member of A
    problem_of(accrual(other_api, customer, "0.50"), 422, "amount_below_minimum")  # B: 1 USD
    assert Membership.objects.filter(customer_id=customer["id"]).count() == 1


# --- P6: the document check -------------------------------------------------------------------


@pytest.fixture
def checking_shop(alice_shop):
    Merchant.objects.filter(pk=alice_shop.merchant.pk).update(
        redemption_requires_document_check=True
    )
    return alice_shop


def test_redemption_needs_the_document_checked_where_the_merchant_asks(cashier_api, checking_shop):
    customer = registered(cashier_api)
    complete(cashier_api, customer["id"])
    accrual(cashier_api, customer, "150000")
    reward = testing.make_reward(checking_shop, cost=100)
    payload = {"customer_id": customer["id"], "reward_id": str(reward.pk)}
    body = problem_of(cashier_api.post("/redemptions", payload), 422, "document_check_required")
    assert body["errors"][0]["field"] == "document_checked"
    problem_of(
        cashier_api.post("/redemptions", {**payload, "document_checked": "yes"}),
        422,
        "validation_error",
    )
    account = Account.objects.get(customer_id=customer["id"], merchant=checking_shop.merchant)
    assert account.balance == 150 and not Transaction.objects.filter(kind="redemption").exists()
    done = cashier_api.post("/redemptions", {**payload, "document_checked": True})
    assert done.status_code == 201 and done.json()["balance"]["available"] == 50


def test_redemption_needs_no_confirmation_where_the_merchant_does_not_ask(cashier_api, alice_shop):
    customer = registered(cashier_api)
    complete(cashier_api, customer["id"])
    accrual(cashier_api, customer, "150000")
    reward = testing.make_reward(alice_shop, cost=100)
    response = cashier_api.post(
        "/redemptions", {"customer_id": customer["id"], "reward_id": str(reward.pk)}
    )
    assert response.status_code == 201
