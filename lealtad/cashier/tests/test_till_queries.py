"""Query-count baselines of the till's actions (issue 15): each count is exact, so that a query
more on a till action fails here, named, instead of showing up as a slower till.

The world is a till at its busiest: a merchant that accepts coins, with prizes, a customer who
holds points, movements and coins, and a cashier signed in (a session). Every till page pays the
same frame, counted once here and named FRAME below:

- the session; the user; the merchant (the language middleware reads it to pick the language);
  the branch with its merchant and network (cashier.views._merchant_and_branch);
- the goals bar: one query (cashier.goals.progress);
- the panel of waiting POS invoices: one query (cashier.invoice_panel), on the home and the card.

The customer's card (cashier/card.py) adds CARD:

- the points: the lots due (the account row came with the membership), or the account row and
  the lots after a movement;
- today's promotions; the prizes;
- the wallet's row and its due lots; its latest lines and which of them were reversed;
- the gifts offered; the coin promotions on sale here; the recent movements.
"""

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client

from lealtad.cashier.tests.test_coin_payments_till import sent_code
from lealtad.coins import actions as coins
from lealtad.coins.models import CoinPayment
from lealtad.core import testing
from lealtad.customers.actions import join_merchant

pytestmark = pytest.mark.django_db

SESSION_USER_MERCHANT_BRANCH = 4
GOALS = 1
POS_PANEL = 1
FRAME = SESSION_USER_MERCHANT_BRANCH + GOALS + POS_PANEL
# After a movement the card reads the account row too (+1); as the page's first read the row
# came with the membership.
CARD = 1 + 2 + 2 + 2 + 3


def savepoints() -> int:
    """An atomic block inside the test's transaction is a SAVEPOINT and its RELEASE."""
    return 2


@pytest.fixture
def till():
    issuer = testing.make_merchant("Café", coin_issuer=True, cashback_rate="0.1")
    shop = testing.make_merchant("Librería", coin_acceptor=True)
    reward = testing.make_reward(shop, cost=10)
    testing.make_reward(shop, cost=100_000)
    customer = testing.make_customer(issuer).customer
    coins.earn_coins(merchant=issuer.merchant, customer=customer, amount=Decimal(75_000))
    join_merchant(customer, shop.merchant, shop.branch)
    client = Client()
    client.force_login(testing.make_cashier(shop))
    for n in range(3):
        client.post(
            f"/cashier/c/{customer.pk}/accrue/", {"amount": "20.000", "invoice_number": f"W{n}"}
        )
    return client, customer, reward


def test_home(till, django_assert_num_queries):
    client, _customer, _reward = till
    with django_assert_num_queries(FRAME):
        assert client.get("/cashier/").status_code == 200


def test_search_by_document_opens_the_card(till, django_assert_num_queries):
    client, customer, _reward = till
    # The customer found, then their membership with its account (one each).
    with django_assert_num_queries(FRAME + 2 + CARD):
        page = client.get("/cashier/search/", {"q": customer.document_number})
    assert page["HX-Push-Url"] == f"/cashier/c/{customer.pk}/"


def test_search_by_name_finds_no_one(till, django_assert_num_queries):
    # The till searches by document, e-mail, mobile or QR only: a name answers "not found"
    # without a query of its own (no document or mobile can be read in it).
    client, _customer, _reward = till
    with django_assert_num_queries(FRAME):
        page = client.get("/cashier/search/", {"q": "Ana Gómez"})
    assert "Cliente no encontrado." in page.text


def test_open_the_card(till, django_assert_num_queries):
    client, customer, _reward = till
    # The membership with its customer, category and account: one query.
    with django_assert_num_queries(FRAME + 1 + CARD):
        assert client.get(f"/cashier/c/{customer.pk}/").status_code == 200


def test_accrue(till, django_assert_num_queries):
    client, customer, _reward = till
    # The membership; the accrual (ledger.accrue_points, counted exactly in
    # api/tests/test_accrual_queries.py): on SQLite the fraud rules, the account's UPDATE …
    # RETURNING, the transaction, lot, entry and audit entry, the webhooks' endpoints, a POS
    # invoice under the number: 8; on PostgreSQL the number's advisory lock, the fraud rules, the
    # ledger write in one statement (which also says whether a POS invoice waits, and writes the
    # audit entry) and the webhook event in one: 4. The card after it reads the account row
    # again (+1).
    accrual = 4 if connection.vendor == "postgresql" else 8
    with django_assert_num_queries(FRAME + 1 + savepoints() + accrual + CARD + 1):
        page = client.post(
            f"/cashier/c/{customer.pk}/accrue/", {"amount": "20.000", "invoice_number": "X1"}
        )
    assert page.status_code == 200 and 'id="accrued"' in page.text


def test_redeem(till, django_assert_num_queries):
    client, customer, reward = till
    url = f"/cashier/c/{customer.pk}/redeem/{reward.pk}/"
    # The confirmation step: the membership, then the card (the prizes priced once for both).
    with django_assert_num_queries(FRAME + 1 + CARD + 1 + savepoints() + 1):
        page = client.get(url)  # + the account row; + the session saved (its token)
    token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
    # The redemption: the membership; the prize priced (account, lots, promotions, prizes);
    # ledger.redeem_reward (the prize, the account, the lots, the transaction, the entry, the
    # lot, the account's UPDATE, the audit entry, the e-mail and its task, the webhooks'
    # endpoints: 11); then the card once, fresh; the session saved with the receipt.
    redemption = 11
    with django_assert_num_queries(
        FRAME + 1 + 4 + savepoints() + redemption + CARD + 1 + savepoints() + 1
    ):
        page = client.post(url, {"token": token})
    assert 'id="receipt"' in page.text


def test_pay_with_coins_create_and_confirm(till, django_assert_num_queries):
    client, customer, _reward = till
    form = {"cp-invoice_number": "L-1", "cp-amount": "30.000", "cp-coins": "500"}
    # The membership; the customer's gate (their membership here); the wallet; then in one
    # transaction: the wallet locked, its lots (due ones expire first), the hold (UPDATE,
    # INSERT), the code (today's count, its SMS or e-mail and task, the code), the payment;
    # then the payment's page: the wallet's balance and lots.
    start = 1 + 1 + 1 + 2 + 2 + 4 + 1
    with django_assert_num_queries(FRAME - POS_PANEL + start + savepoints() + 2):
        page = client.post(f"/cashier/c/{customer.pk}/coins/pay/", form)
    assert page.status_code == 201
    payment = CoinPayment.objects.get()
    code = sent_code(customer)
    # In one transaction: the payment, the wallet locked, the payment locked (with its hold),
    # the code checked and used (2), the capture (the transaction, the hold, the lots, the
    # entry, the lot, the account, the hold, the audit entry, the payment: 9), the webhooks'
    # endpoints; then the page: the wallet's balance and lots.
    confirm = 3 + 2 + 9 + 1
    with django_assert_num_queries(FRAME - POS_PANEL + confirm + savepoints() + 2):
        page = client.post(f"/cashier/coin-payments/{payment.pk}/confirm/", {"code": code})
    assert 'id="coin-receipt"' in page.text
