"""K3 through the API: POST /coin-payments (held at once, a code by e-mail until SMS lands),
/confirm, /resend, /cancel, GET; the payment QR; reversal of a captured payment; tenancy."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from lealtad.api.tests.conftest import Api
from lealtad.coins import actions as coins
from lealtad.coins import payments, qr
from lealtad.coins.models import CoinPayment, OneTimeCode
from lealtad.core import testing
from lealtad.customers import actions as customers
from lealtad.customers.identity import mask_email
from lealtad.ledger.check import check_ledger
from lealtad.ledger.models import Account, Entry, Kind, Lot, Transaction
from lealtad.network.models import Network
from lealtad.notifications.models import OutgoingEmail


@pytest.fixture
def issuer(db):
    return testing.make_merchant("Café", coin_issuer=True, cashback_rate="1")


@pytest.fixture
def acceptor(db):
    return testing.make_merchant("Librería", coin_acceptor=True)


@pytest.fixture
def api(acceptor):
    return Api(acceptor.api_key)


@pytest.fixture
def admin_api(acceptor):
    return Api(testing.token_for(acceptor.admin))


@pytest.fixture
def customer(issuer):
    customer = testing.make_customer(issuer).customer
    coins.earn_coins(merchant=issuer.merchant, customer=customer, amount=Decimal(1000))
    return customer


def problem(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["code"] == code, response.json()
    return response.json()


def code_for(customer) -> str:
    """The code, read from the e-mail outbox as the customer would."""
    email = OutgoingEmail.objects.filter(to=customer.email, event="code").latest("pk")
    return re.search(r" (\d{4,6})\. ", email.body).group(1)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10 ** len(code):0{len(code)}d}"


def wallet(customer):
    w = Account.objects.get(customer=customer, kind="coins")
    return w.balance, w.pending


def start(api, customer, coins=300, amount="500.00", **extra):
    body = {"customer_id": str(customer.pk), "invoice_amount": amount, "coins": coins}
    body.update({"invoice_number": "F-1", **extra})
    return api.post("/coin-payments", body)


def test_the_whole_flow_hold_code_confirm(api, customer):
    response = start(api, customer)
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["status"] == "awaiting_code" and data["coins"] == 300
    assert data["code_sent_to"] == mask_email(customer.email) and "@" in data["code_sent_to"]
    assert data["expires_at"] and data["balance"] == {"available": 700, "held": 300}
    assert wallet(customer) == (700, 300)
    email = OutgoingEmail.objects.get(to=customer.email, event="code")
    # In the merchant's language (Spanish for a Colombian merchant), no English.
    assert "300" in email.body and "code" not in email.body.lower(), email.body
    # Only the HMAC is kept.
    code = code_for(customer)
    assert OneTimeCode.objects.get().code_hash != code and len(code) == 4
    confirmed = api.post(f"/coin-payments/{data['id']}/confirm", {"code": code})
    assert confirmed.status_code == 200, confirmed.content
    body = confirmed.json()
    assert body["status"] == "captured" and body["balance"] == {"available": 700, "held": 0}
    txn = Transaction.objects.get(pk=body["transaction_id"])
    assert (txn.kind, txn.points, txn.invoice_number) == (Kind.COIN_PAYMENT, -300, "F-1")
    # Twice: the same answer, one debit.
    again = api.post(f"/coin-payments/{data['id']}/confirm", {"code": code})
    assert again.status_code == 200 and again.json()["transaction_id"] == body["transaction_id"]
    assert Transaction.objects.filter(kind=Kind.COIN_PAYMENT).count() == 1
    assert wallet(customer) == (700, 0)
    got = api.get(f"/coin-payments/{data['id']}")
    assert got.status_code == 200 and got.json()["status"] == "captured"
    assert check_ledger() == []


def test_more_than_the_balance_is_refused_at_once_and_nothing_held(api, customer):
    problem(start(api, customer, coins=1001, amount="2000"), 422, "insufficient_coins")
    assert wallet(customer) == (1000, 0)
    assert not CoinPayment.objects.exists() and not OutgoingEmail.objects.filter(event="code")
    # Held coins are not available either.
    assert start(api, customer, coins=800, amount="800").status_code == 201
    problem(start(api, customer, coins=201, amount="800"), 422, "insufficient_coins")


@pytest.mark.parametrize(
    "coins, amount", [(0, "100"), (-5, "100"), (101, "100"), (1.5, "100"), ("10", "100")]
)
def test_coins_must_be_whole_positive_and_at_most_the_invoice(api, customer, coins, amount):
    problem(start(api, customer, coins=coins, amount=amount), 422, "validation_error")
    assert wallet(customer) == (1000, 0)


def test_bad_amounts_and_bodies_are_refused_not_500(api, customer):
    for amount in ("abc", "-1", "1e9999", "", "10.123"):
        problem(start(api, customer, amount=amount), 422, "validation_error")
    response = api.post("/coin-payments", raw="[]")
    assert response.status_code in (400, 422)


def test_only_an_acceptor_takes_coins(issuer, customer):
    problem(start(Api(issuer.api_key), customer), 403, "not_coin_acceptor")


def test_the_gate_refuses_suspended_and_incomplete_customers(api, issuer, customer):
    stranger = testing.make_customer(issuer, complete=False).customer
    problem(start(api, stranger), 422, "profile_incomplete")
    customers.suspend_customer(customer, "Línea (+57) 3502118702")
    problem(start(api, customer), 403, "customer_suspended")
    assert wallet(customer) == (1000, 0)


def test_the_merchant_may_require_the_physical_document(api, acceptor, customer):
    acceptor.merchant.coin_payment_requires_document = True
    acceptor.merchant.save()
    body = problem(start(api, customer), 422, "document_check_required")
    assert body["errors"][0]["field"] == "document_checked"
    assert wallet(customer) == (1000, 0)
    response = start(api, customer, document_checked=True)
    assert response.status_code == 201 and response.json()["document_checked"] is True


def test_three_wrong_codes_cancel_and_release_the_hold(api, customer):
    payment_id = start(api, customer).json()["id"]
    bad = wrong(code_for(customer))
    first = problem(
        api.post(f"/coin-payments/{payment_id}/confirm", {"code": bad}), 422, "invalid_code"
    )
    assert first["attempts_left"] == 2
    second = api.post(f"/coin-payments/{payment_id}/confirm", {"code": bad})
    assert problem(second, 422, "invalid_code")["attempts_left"] == 1
    third = problem(
        api.post(f"/coin-payments/{payment_id}/confirm", {"code": bad}), 409, "payment_cancelled"
    )
    assert third["reason"] == "wrong_code"
    assert wallet(customer) == (1000, 0)
    # Now even the right code pays nothing.
    right = api.post(f"/coin-payments/{payment_id}/confirm", {"code": code_for(customer)})
    problem(right, 409, "payment_cancelled")
    assert api.get(f"/coin-payments/{payment_id}").json()["cancel_reason"] == "wrong_code"
    assert check_ledger() == []


def test_an_empty_code_is_a_validation_error_and_costs_no_attempt(api, customer):
    payment_id = start(api, customer).json()["id"]
    problem(
        api.post(f"/coin-payments/{payment_id}/confirm", {"code": " "}), 422, "validation_error"
    )
    assert api.get(f"/coin-payments/{payment_id}").json()["attempts_left"] == 3


def test_a_code_is_bound_to_its_payment(api, customer):
    one = start(api, customer, coins=100).json()["id"]
    first_code = code_for(customer)
    two = start(api, customer, coins=100, invoice_number="F-2").json()["id"]
    if code_for(customer) == first_code:  # 1 in 10,000: another pair of codes
        pytest.skip("the two random codes happened to be equal")
    problem(api.post(f"/coin-payments/{two}/confirm", {"code": first_code}), 422, "invalid_code")
    assert api.post(f"/coin-payments/{one}/confirm", {"code": first_code}).status_code == 200


def test_resend_replaces_the_code_and_stops_after_three(api, customer):
    payment_id = start(api, customer).json()["id"]
    old = code_for(customer)
    for left in (2, 1, 0):
        response = api.post(f"/coin-payments/{payment_id}/resend")
        assert response.status_code == 202, response.content
        assert response.json()["resends_left"] == left
    problem(api.post(f"/coin-payments/{payment_id}/resend"), 429, "too_many_codes")
    new = code_for(customer)
    assert OutgoingEmail.objects.filter(event="code").count() == 4
    if new != old:
        problem(
            api.post(f"/coin-payments/{payment_id}/confirm", {"code": old}), 422, "invalid_code"
        )
    assert api.post(f"/coin-payments/{payment_id}/confirm", {"code": new}).status_code == 200


def test_at_most_ten_codes_a_customer_a_day_network_wide(api, acceptor, customer):
    other = testing.make_merchant("Otra", coin_acceptor=True)
    for i in range(5):
        assert start(api, customer, coins=10, invoice_number=f"A-{i}").status_code == 201
    for i in range(5):
        assert (
            start(Api(other.api_key), customer, coins=10, invoice_number=f"B-{i}").status_code
            == 201
        )
    problem(start(api, customer, coins=10, invoice_number="A-9"), 429, "too_many_codes")
    assert wallet(customer) == (900, 100)  # the refused one holds nothing
    # Resends count as codes too.
    payment_id = CoinPayment.objects.filter(merchant=acceptor.merchant).first().pk
    problem(api.post(f"/coin-payments/{payment_id}/resend"), 429, "too_many_codes")


def test_cancel_releases_the_hold_and_a_captured_payment_cannot_be_cancelled(api, customer):
    payment_id = start(api, customer).json()["id"]
    response = api.post(f"/coin-payments/{payment_id}/cancel")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert wallet(customer) == (1000, 0)
    assert api.post(f"/coin-payments/{payment_id}/cancel").status_code == 200  # no change
    assert wallet(customer) == (1000, 0)
    problem(
        api.post(f"/coin-payments/{payment_id}/confirm", {"code": code_for(customer)}),
        409,
        "payment_cancelled",
    )
    paid = start(api, customer, invoice_number="F-2").json()["id"]
    api.post(f"/coin-payments/{paid}/confirm", {"code": code_for(customer)})
    problem(api.post(f"/coin-payments/{paid}/cancel"), 409, "payment_captured")
    assert wallet(customer) == (700, 0)


def test_an_expired_hold_is_released_by_the_job_or_by_a_late_confirm(api, acceptor, customer):
    late = start(api, customer, coins=100).json()["id"]
    late_code = code_for(customer)
    swept = start(api, customer, coins=200, invoice_number="F-2").json()["id"]
    assert wallet(customer) == (700, 300)
    later = timezone.now() + dt.timedelta(minutes=11)
    # A confirm after expires_at cancels (whichever comes first, one outcome).
    with pytest.raises(payments.PaymentCancelled):
        payments.confirm_payment(late, merchant=acceptor.merchant, code=late_code, now=later)
    assert payments.expire_holds(now=later) == 1
    assert payments.expire_holds(now=later) == 0
    assert wallet(customer) == (1000, 0)
    assert CoinPayment.objects.get(pk=swept).cancel_reason == "expired"
    problem(
        api.post(f"/coin-payments/{late}/confirm", {"code": late_code}), 409, "payment_cancelled"
    )
    assert check_ledger() == []


def test_the_hold_expiry_runs_on_the_engine_every_minute():
    from lealtad.coins import tasks
    from lealtad.notifications.engine import PERIODIC

    job = next(job for job in PERIODIC if job.name == "coin-hold-expiry")
    assert job.every == dt.timedelta(minutes=1) and job.task() is tasks.expire_holds


def test_six_digit_codes_are_a_network_setting(api, customer):
    Network.objects.update(payment_code_digits=6)
    payment_id = start(api, customer).json()["id"]
    code = code_for(customer)
    assert len(code) == 6
    assert api.post(f"/coin-payments/{payment_id}/confirm", {"code": code}).status_code == 200


def test_a_valid_payment_qr_pays_at_once_without_a_code(api, customer):
    payload = qr.mint_payment_qr(customer)
    response = start(api, customer, qr_payload=payload)
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["status"] == "captured" and data["via_qr"] is True
    assert wallet(customer) == (700, 0)
    assert not OutgoingEmail.objects.filter(event="code").exists()
    # Used once: the same QR again pays nothing.
    problem(start(api, customer, qr_payload=payload, invoice_number="F-2"), 422, "invalid_qr")
    assert wallet(customer) == (700, 0)


def test_an_expired_forged_or_other_customers_qr_is_refused(api, issuer, customer):
    old = qr.mint_payment_qr(customer, now=timezone.now() - dt.timedelta(minutes=3))
    problem(start(api, customer, qr_payload=old), 422, "invalid_qr")
    other = testing.make_customer(issuer).customer
    problem(start(api, customer, qr_payload=qr.mint_payment_qr(other)), 422, "invalid_qr")
    forged = qr.mint_payment_qr(customer)[:-3] + "abc"
    problem(start(api, customer, qr_payload=forged), 422, "invalid_qr")
    problem(start(api, customer, qr_payload="LPQ1:garbage"), 422, "invalid_qr")
    problem(start(api, customer, qr_payload=str(customer.pk)), 422, "invalid_qr")
    assert wallet(customer) == (1000, 0) and not CoinPayment.objects.exists()


def test_a_captured_payment_is_reversed_back_into_the_same_lots(api, admin_api, issuer, customer):
    coins.earn_coins(merchant=issuer.merchant, customer=customer, amount=Decimal(500))
    payment_id = start(api, customer, coins=1200, amount="1500").json()["id"]
    body = api.post(f"/coin-payments/{payment_id}/confirm", {"code": code_for(customer)}).json()
    taken = dict(
        Entry.objects.filter(transaction_id=body["transaction_id"]).values_list("lot_id", "points")
    )
    assert wallet(customer) == (300, 0)
    response = admin_api.post(
        f"/transactions/{body['transaction_id']}/reversal", {"reason": "Devolución"}
    )
    assert response.status_code == 201, response.content
    back = dict(
        Entry.objects.filter(transaction_id=response.json()["id"]).values_list("lot_id", "points")
    )
    assert back == {lot: -points for lot, points in taken.items()}
    assert wallet(customer) == (1500, 0)
    assert sorted(
        Lot.objects.filter(account__customer=customer).values_list("remaining", flat=True)
    ) == [500, 1000]
    problem(
        admin_api.post(f"/transactions/{body['transaction_id']}/reversal", {"reason": "x"}),
        409,
        "already_reversed",
    )
    assert check_ledger() == []


def test_another_merchants_payment_is_not_found(api, customer):
    payment_id = start(api, customer).json()["id"]
    other = Api(testing.make_merchant("Otra", coin_acceptor=True).api_key)
    for path in ("", "/confirm", "/resend", "/cancel"):
        if path:
            response = other.post(f"/coin-payments/{payment_id}{path}", {"code": "1234"})
        else:
            response = other.get(f"/coin-payments/{payment_id}")
        problem(response, 404, "not_found")
    problem(api.get("/coin-payments/not-a-uuid"), 404, "not_found")
    assert wallet(customer) == (700, 300)


def test_idempotency_key_replays_the_start(api, customer):
    first = start(api, customer)
    body = {"customer_id": str(customer.pk), "invoice_amount": "500.00", "coins": 100}
    one = api.post("/coin-payments", body, **{"Idempotency-Key": "k-1"})
    two = api.post("/coin-payments", body, **{"Idempotency-Key": "k-1"})
    assert one.status_code == two.status_code == 201 and first.status_code == 201
    assert one.json()["id"] == two.json()["id"] and two["Idempotent-Replayed"] == "true"
    assert wallet(customer) == (600, 400)
