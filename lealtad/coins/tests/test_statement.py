"""K1: the coin statement with its running balance, on the till's card and in the console
profile; every merchant's lines carry the merchant's name, but another merchant's invoice
numbers, amounts and branches stay out."""

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from lealtad.coins import actions as coins
from lealtad.coins.statement import coin_statement
from lealtad.core import testing
from lealtad.customers.actions import join_merchant
from lealtad.ledger import actions as ledger
from lealtad.ledger.models import Kind

pytestmark = pytest.mark.django_db


@pytest.fixture
def network():
    issuer = testing.make_merchant("Café", coin_issuer=True, cashback_rate="0.1")
    acceptor = testing.make_merchant("Librería", coin_acceptor=True)
    customer = testing.make_customer(issuer).customer
    join_merchant(customer, acceptor.merchant, acceptor.branch)
    now = timezone.now()
    old = now - dt.timedelta(days=800)  # past the 24 months: expires at the next spend
    coins.earn_coins(
        merchant=issuer.merchant, customer=customer, amount=Decimal(300), now=old,
        invoice_number="OLD-1",
    )  # fmt: skip
    coins.earn_coins(
        merchant=issuer.merchant, customer=customer, amount=Decimal(5000),
        invoice_number="CAFE-77", branch=issuer.branch, now=now - dt.timedelta(minutes=5),
    )  # fmt: skip
    paid = coins.pay_with_coins(
        merchant=acceptor.merchant, customer=customer, coins=120, branch=acceptor.branch, now=now
    )
    return issuer, acceptor, customer, paid


def test_the_lines_run_newest_first_with_the_balance_after_each(network):
    issuer, acceptor, customer, _paid = network
    lines = coin_statement(customer, acceptor.merchant)
    assert [(line.kind, line.coins, line.balance) for line in lines] == [
        (Kind.COIN_PAYMENT, -120, 380),
        (Kind.EXPIRY, -30, 500),
        (Kind.COIN_EARN, 500, 530),
        (Kind.COIN_EARN, 30, 30),
    ]
    assert lines[0].merchant_name == acceptor.merchant.name
    assert lines[2].merchant_name == issuer.merchant.name
    assert lines[1].merchant_name == "Red Lealtad"


def test_a_merchant_sees_another_merchants_lines_without_their_details(network):
    issuer, acceptor, customer, _paid = network
    at_acceptor = coin_statement(customer, acceptor.merchant)
    earned = at_acceptor[2]
    assert not earned.own and earned.invoice_number == "" and earned.amount is None
    assert earned.branch_name == ""
    at_issuer = coin_statement(customer, issuer.merchant)
    assert at_issuer[2].own and at_issuer[2].invoice_number == "CAFE-77"
    assert at_issuer[2].amount == Decimal("5000.00")
    assert not at_issuer[0].own and at_issuer[0].branch_name == ""


def test_a_reversal_reads_as_one_and_marks_what_it_reverses(network):
    _issuer, acceptor, customer, paid = network
    ledger.reverse_transaction(
        merchant=acceptor.merchant, transaction_id=paid.transaction.pk, reason="Error de caja"
    )
    lines = coin_statement(customer, acceptor.merchant)
    assert (lines[0].label, lines[0].coins, lines[0].balance) == (
        "Pago con monedas, reversado",
        120,
        500,
    )
    assert lines[1].reversed and not lines[1].reversible


def test_the_till_card_shows_the_latest_lines_and_a_page_with_all(network):
    issuer, acceptor, customer, _paid = network
    client = Client()
    client.force_login(testing.make_cashier(acceptor))
    card = client.get(f"/cashier/c/{customer.pk}/").text
    assert "Movimientos de monedas" in card and 'id="coin-statement-all"' in card
    assert issuer.merchant.name in card and "CAFE-77" not in card
    assert "Pagado con monedas" in card and ">380<" in card
    for n in range(6):
        coins.earn_coins(
            merchant=issuer.merchant, customer=customer, amount=Decimal(100 + n),
            invoice_number=f"N-{n}",
        )  # fmt: skip
    card = client.get(f"/cashier/c/{customer.pk}/").text
    assert (
        card.count('id="coin-') - card.count('id="coin-moves') - card.count('id="coin-statement')
        == 5
    )
    full = client.get(f"/cashier/c/{customer.pk}/coins/")
    assert full.status_code == 200
    assert full.text.count('<tr id="coin-') == 10 and "CAFE-77" not in full.text
    own = Client()
    own.force_login(testing.make_cashier(issuer))
    assert "CAFE-77" in own.get(f"/cashier/c/{customer.pk}/coins/").text


def test_another_merchants_customer_statement_is_not_found(network):
    _issuer, _acceptor, customer, _paid = network
    stranger = testing.make_merchant("Otro")
    client = Client()
    client.force_login(testing.make_cashier(stranger))
    assert client.get(f"/cashier/c/{customer.pk}/coins/").status_code == 404


def test_the_console_profile_shows_the_coin_statement(network):
    issuer, _acceptor, customer, _paid = network
    client = Client()
    client.force_login(issuer.admin)
    page = client.get(f"/console/customers/{customer.pk}/").text
    assert 'id="coin-statement"' in page and "CAFE-77" in page
    assert "Pagado con monedas" in page
