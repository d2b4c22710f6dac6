"""K3: an unconfirmed hold lasts 10 minutes from the payment, however many codes are resent."""

import datetime as dt
import re
from decimal import Decimal

import pytest

from lealtad.coins import actions as coins
from lealtad.coins import payments
from lealtad.coins.models import PaymentStatus
from lealtad.core import errors, testing
from lealtad.notifications.models import OutgoingEmail

pytestmark = pytest.mark.django_db


def last_code(customer) -> tuple[str, str]:
    body = OutgoingEmail.objects.filter(to=customer.email, event="code").latest("pk").body
    return re.findall(r"\b(\d{4,6})\b", body)[-1], body


def test_a_resent_code_keeps_the_payments_deadline_and_says_how_long_is_left():
    issuer = testing.make_merchant("Café", coin_issuer=True, cashback_rate="1")
    acceptor = testing.make_merchant("Librería", coin_acceptor=True).merchant
    customer = testing.make_customer(issuer).customer
    coins.earn_coins(merchant=issuer.merchant, customer=customer, amount=Decimal(500))
    start = dt.datetime(2026, 12, 2, 15, 0, tzinfo=dt.UTC)
    payment = payments.start_payment(
        merchant=acceptor, customer=customer, invoice_amount=Decimal(300), coins=200, now=start
    )
    deadline = payment.expires_at
    assert deadline == start + dt.timedelta(minutes=10)

    payment = payments.resend_code(
        payment.pk, merchant=acceptor, now=start + dt.timedelta(minutes=7)
    )
    assert payment.expires_at == deadline  # not 10 more minutes
    code, body = last_code(customer)
    assert "3 min" in body, body

    late = start + dt.timedelta(minutes=10, seconds=1)
    with pytest.raises(errors.PaymentCancelled):
        payments.confirm_payment(payment.pk, merchant=acceptor, code=code, now=late)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CANCELLED
    assert coins.wallet_of(customer)["available"] == 500
