"""K3 under concurrency (PostgreSQL, real threads and row locks): 20 payments racing for one
wallet, one payment confirmed by 10 threads at once, a confirm racing the hold's expiry."""

import datetime as dt
import re
import threading
from decimal import Decimal

import pytest
from django.db import connection

from lealtad.coins import actions as coins
from lealtad.coins import payments, qr
from lealtad.coins.models import CoinPayment, PaymentStatus
from lealtad.core import errors, testing
from lealtad.ledger.check import check_ledger
from lealtad.ledger.models import Account, Kind, Transaction
from lealtad.notifications.models import OutgoingEmail

pytestmark = pytest.mark.django_db(transaction=True)


def run_threads(count, work):
    barrier = threading.Barrier(count)
    results = [None] * count

    def body(i):
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except Exception as exc:  # collected and asserted by the caller
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


@pytest.fixture
def setup(postgres_only):
    issuer = testing.make_merchant("Café", coin_issuer=True, cashback_rate="1")
    acceptor = testing.make_merchant("Librería", coin_acceptor=True)
    customer = testing.make_customer(issuer).customer
    coins.earn_coins(merchant=issuer.merchant, customer=customer, amount=Decimal(1000))
    return acceptor.merchant, customer


def wallet(customer):
    row = Account.objects.get(customer=customer, kind="coins")
    return row.balance, row.pending


def test_twenty_payments_racing_for_one_wallet_hold_exactly_the_affordable_ones(setup):
    merchant, customer = setup
    results = run_threads(20, lambda i: payments.start_payment(
        merchant=merchant, customer=customer, invoice_amount=Decimal(100), coins=100,
        invoice_number=f"F-{i}",
    ))  # fmt: skip
    held = [r for r in results if isinstance(r, CoinPayment)]
    refused = [r for r in results if isinstance(r, errors.InsufficientCoins)]
    assert len(held) == 10 and len(refused) == 10, results
    assert wallet(customer) == (0, 1000)
    assert OutgoingEmail.objects.filter(to=customer.email, event="code").count() == 10
    assert check_ledger() == []


def test_twenty_qr_payments_racing_capture_exactly_the_affordable_ones(setup):
    merchant, customer = setup
    qrs = [qr.mint_payment_qr(customer) for _ in range(20)]
    results = run_threads(20, lambda i: payments.start_payment(
        merchant=merchant, customer=customer, invoice_amount=Decimal(300), coins=150,
        qr_payload=qrs[i],
    ))  # fmt: skip
    captured = [r for r in results if isinstance(r, CoinPayment)]
    refused = [r for r in results if isinstance(r, errors.InsufficientCoins)]
    assert len(captured) == 6 and len(refused) == 14, results
    assert all(p.status == PaymentStatus.CAPTURED for p in captured)
    assert wallet(customer) == (100, 0)
    assert Transaction.objects.filter(kind=Kind.COIN_PAYMENT).count() == 6
    assert check_ledger() == []


def code_for(customer) -> str:
    email = OutgoingEmail.objects.filter(to=customer.email, event="code").latest("pk")
    return re.search(r" (\d{4,6})\. ", email.body).group(1)


def test_one_payment_confirmed_by_ten_threads_is_debited_once(setup):
    merchant, customer = setup
    payment = payments.start_payment(
        merchant=merchant, customer=customer, invoice_amount=Decimal(500), coins=400
    )
    code = code_for(customer)
    results = run_threads(
        10, lambda i: payments.confirm_payment(payment.pk, merchant=merchant, code=code)
    )
    assert all(isinstance(r, CoinPayment) for r in results), results
    assert {r.status for r in results} == {PaymentStatus.CAPTURED}
    assert len({r.transaction_id for r in results}) == 1
    assert Transaction.objects.filter(kind=Kind.COIN_PAYMENT).count() == 1
    assert wallet(customer) == (600, 0)
    assert check_ledger() == []


def test_a_confirm_racing_the_holds_expiry_has_one_outcome(setup):
    merchant, customer = setup
    for round_ in range(4):
        payment = payments.start_payment(
            merchant=merchant, customer=customer, invoice_amount=Decimal(100), coins=100,
            invoice_number=f"R-{round_}",
        )  # fmt: skip
        code = code_for(customer)
        before = payment.expires_at - dt.timedelta(seconds=1)
        after = payment.expires_at + dt.timedelta(seconds=1)

        def work(i, payment=payment, code=code, before=before, after=after):
            if i == 0:
                return payments.confirm_payment(
                    payment.pk, merchant=merchant, code=code, now=before
                )
            return payments.expire_holds(now=after)

        results = run_threads(2, work)
        payment.refresh_from_db()
        if payment.status == PaymentStatus.CAPTURED:
            assert isinstance(results[0], CoinPayment) and results[1] == 0, results
        else:
            assert payment.cancel_reason == "expired"
            assert isinstance(results[0], errors.PaymentCancelled) and results[1] == 1, results
        assert check_ledger() == []
    paid = CoinPayment.objects.filter(status=PaymentStatus.CAPTURED).count()
    assert wallet(customer) == (1000 - 100 * paid, 0)
