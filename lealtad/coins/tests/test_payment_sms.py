"""K3 with an SMS provider: the payment code goes to the customer's mobile through the task
engine to a fake Twilio (a real local HTTP server), and the code read there pays."""

import time
from decimal import Decimal

import pytest
from django.core.management import call_command

from lealtad.api.tests.conftest import Api
from lealtad.coins import actions as coins
from lealtad.core import testing
from lealtad.notifications.models import OutgoingEmail, OutgoingSms
from lealtad.notifications.tests.fake_sms import fake_twilio  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.in_process
def test_the_code_goes_by_sms_and_the_code_read_there_pays(settings, fake_twilio):  # noqa: F811
    """In process only (in_process): it changes a setting in this process, not in a live server."""
    settings.SMS_URL = fake_twilio.url()
    issuer = testing.make_merchant("Café", coin_issuer=True, cashback_rate="1")
    acceptor = testing.make_merchant("Librería", coin_acceptor=True)
    customer = testing.make_customer(issuer).customer
    coins.earn_coins(merchant=issuer.merchant, customer=customer, amount=Decimal(25000))
    api = Api(acceptor.api_key)
    body = {"customer_id": str(customer.pk), "invoice_amount": "30000", "coins": 20000}
    started = time.monotonic()
    response = api.post("/coin-payments", body)
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["code_sent_to"] == f"+57 *** *** {customer.mobile[-4:]}"
    assert OutgoingSms.objects.get().to == customer.mobile
    assert not OutgoingEmail.objects.filter(event="code").exists()
    call_command("worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    assert fake_twilio.wait_for(1, timeout=5)
    assert time.monotonic() - started < 5  # the code reaches the provider within 5 seconds
    text = fake_twilio.bodies_to(customer.mobile)[-1]
    assert "20.000 monedas" in text and "Vence en 10 min." in text, text
    code = fake_twilio.last_code(customer.mobile, digits="4")
    confirmed = api.post(f"/coin-payments/{data['id']}/confirm", {"code": code})
    assert confirmed.status_code == 200, confirmed.content
    assert confirmed.json()["balance"] == {"available": 5000, "held": 0}
