"""P7: points as money. A merchant setting with a redemption value; points off an invoice, fully
or partly, under a prize's rules; the API with its errors; reversible like other movements."""

from decimal import Decimal

import pytest
from django.test import Client

from lealtad.api.tests.conftest import Api
from lealtad.core import errors, testing
from lealtad.customers import actions as customers
from lealtad.ledger import actions as ledger
from lealtad.ledger import point_payments
from lealtad.ledger.check import check_ledger
from lealtad.ledger.models import Account, Kind, PointPayment
from lealtad.notifications.models import OutgoingEmail

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    # 1 point per 1 000 COP; 1 point as money is worth 10 COP.
    return testing.make_merchant(points_as_money=True, point_money_value=Decimal(10))


@pytest.fixture
def member(shop):
    member = testing.make_customer(shop).membership
    ledger.accrue_points(
        merchant=shop.merchant, membership=member, branch=shop.branch, amount=Decimal(500_000)
    )
    return customers.get_membership_for(shop.merchant, member.customer_id)


def balance(member):
    return Account.objects.get(pk=member.account_id).balance


def pay(member, **kw):
    args = {"invoice_amount": Decimal(30_000), "points": 200, "invoice_number": "F-1"}
    args.update(kw)
    return point_payments.pay_with_points(membership=member, branch=None, **args)


def test_points_pay_part_of_an_invoice_at_once(shop, member):
    paid = pay(member)
    assert balance(member) == 300
    txn = paid.movement.transaction
    assert (txn.kind, txn.points, txn.balance_after, txn.invoice_number) == (
        Kind.POINT_PAYMENT,
        -200,
        300,
        "F-1",
    )
    assert paid.payment.value == Decimal("2000.00")
    assert paid.payment.invoice_amount == Decimal("30000.00")
    assert OutgoingEmail.objects.filter(event="redemption", body__contains="F-1").exists()
    assert check_ledger() == []


def test_the_whole_invoice_and_no_more(shop, member):
    assert point_payments.max_points(shop.merchant, Decimal(3_005), 500) == 300
    assert point_payments.max_points(shop.merchant, Decimal(100_000), 500) == 500
    with pytest.raises(errors.ValidationFailed) as refused:
        pay(member, invoice_amount=Decimal(3_005), points=301)
    assert refused.value.errors[0]["field"] == "points"
    assert "a lo sumo 300 puntos" in str(refused.value.detail)
    pay(member, invoice_amount=Decimal(3_000), points=300)
    assert balance(member) == 200


def test_the_balance_and_the_gate_hold(shop, member):
    with pytest.raises(errors.InsufficientPoints) as short:
        pay(member, invoice_amount=Decimal(100_000), points=501)
    assert short.value.extra == {"points_missing": 1, "available": 500}
    for bad in (0, -5, True, "10"):
        with pytest.raises(errors.ValidationFailed):
            pay(member, points=bad)
    member.blocked, member.blocked_reason = True, "Fraude"
    member.save()
    with pytest.raises(errors.CustomerBlocked) as blocked:
        pay(member)
    assert blocked.value.extra["exit"] == "points_payment"
    quick = testing.make_customer(shop, complete=False).membership
    with pytest.raises(errors.ProfileIncomplete):
        pay(quick, points=1)
    assert balance(member) == 500


def test_off_means_refused_and_a_document_check_where_asked(shop, member):
    shop.merchant.redemption_requires_document_check = True
    shop.merchant.save()
    with pytest.raises(errors.DocumentCheckRequired):
        pay(member)
    pay(member, document_checked=True)
    shop.merchant.points_as_money = False
    shop.merchant.save()
    with pytest.raises(errors.PointsPaymentDisabled):
        pay(member, document_checked=True)
    assert balance(member) == 300


def test_a_point_payment_is_reversed_to_the_lots_it_took(shop, member):
    paid = pay(member)
    reversal = ledger.reverse_transaction(
        merchant=shop.merchant, transaction_id=paid.movement.transaction.pk, reason="Anulada"
    )
    assert reversal.points == 200 and balance(member) == 500
    with pytest.raises(errors.AlreadyReversed):
        ledger.reverse_transaction(
            merchant=shop.merchant, transaction_id=paid.movement.transaction.pk, reason="Otra"
        )
    assert check_ledger() == []


# --- the API ------------------------------------------------------------------------------------


def body(member, **kw):
    data = {
        "customer_id": str(member.customer_id),
        "invoice_amount": "30000.00",
        "points": 150,
        "invoice_number": "F-9",
    }
    data.update(kw)
    return data


def test_the_api_pays_once_per_idempotency_key(shop, member):
    api = Api(shop.api_key)
    first = api.post("/point-payments", body(member), **{"Idempotency-Key": "k-1"})
    assert first.status_code == 201, first.content
    answer = first.json()
    assert answer["points"] == 150 and answer["value"] == "1500.00"
    assert answer["balance"] == {"available": 350, "pending": 0}
    again = api.post("/point-payments", body(member), **{"Idempotency-Key": "k-1"})
    assert again.status_code == 201 and again.json()["id"] == answer["id"]
    assert PointPayment.objects.count() == 1 and balance(member) == 350
    got = api.get(f"/point-payments/{answer['id']}")
    assert got.status_code == 200 and got.json()["invoice_number"] == "F-9"
    admin = Api(testing.token_for(shop.admin))
    reversed_ = admin.post(f"/transactions/{answer['id']}/reversal", {"reason": "Error"})
    assert reversed_.status_code == 201 and balance(member) == 500


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"points": 501, "invoice_amount": "900000.00"}, 422, "insufficient_points"),
        ({"points": 3001}, 422, "validation_error"),
        ({"points": 0}, 422, "validation_error"),
        ({"invoice_amount": "abc"}, 422, "validation_error"),
        ({"invoice_amount": "-5"}, 422, "validation_error"),
        ({"points": "ten"}, 422, "validation_error"),
        ({"customer_id": "nope"}, 404, "not_found"),
    ],
)
def test_the_api_says_why_not(shop, member, change, status, code):
    answer = Api(shop.api_key).post("/point-payments", body(member, **change))
    assert answer.status_code == status, answer.content
    assert answer["Content-Type"].startswith("application/problem+json")
    assert answer.json()["code"] == code
    assert balance(member) == 500


def test_the_api_refuses_blocked_incomplete_and_a_merchant_without_it(shop, member):
    api = Api(shop.api_key)
    quick = testing.make_customer(shop, complete=False).membership
    answer = api.post("/point-payments", body(quick, points=1))
    assert (answer.status_code, answer.json()["code"]) == (422, "profile_incomplete")
    member.blocked = True
    member.save()
    answer = api.post("/point-payments", body(member))
    assert (answer.status_code, answer.json()["code"]) == (403, "customer_blocked")
    plain = testing.make_merchant()
    other = testing.make_customer(plain).membership
    answer = Api(plain.api_key).post("/point-payments", body(other))
    assert (answer.status_code, answer.json()["code"]) == (403, "points_payment_disabled")
    assert balance(member) == 500


def test_another_merchants_payment_is_not_found(shop, member):
    paid = pay(member)
    other = testing.make_merchant("Otro", points_as_money=True, point_money_value=Decimal(1))
    answer = Api(other.api_key).get(f"/point-payments/{paid.movement.transaction.pk}")
    assert answer.status_code == 404
    testing.make_customer(other)
    answer = Api(other.api_key).post("/point-payments", body(member))
    assert answer.status_code == 404


# --- the console setting ------------------------------------------------------------------------


def test_the_console_turns_it_on_with_a_value():
    shop = testing.make_merchant()
    client = Client()
    client.force_login(shop.admin)
    page = client.get("/console/program/").text
    assert "Puntos como dinero" in page
    form = {
        "point_value": "1.000",
        "points_validity_days": "365",
        "welcome_bonus_points": "0",
        "points_as_money": "on",
        "point_money_value": "0",  # as the form shows an unset value
    }
    refused = client.post("/console/program/", form)
    assert refused.status_code == 200 and 'id="point_money_value-error"' in refused.text
    shop.merchant.refresh_from_db()
    assert not shop.merchant.points_as_money
    saved = client.post("/console/program/", {**form, "point_money_value": "5"})
    assert saved.status_code == 302
    shop.merchant.refresh_from_db()
    assert shop.merchant.points_as_money and shop.merchant.point_money_value == Decimal(5)
