"""K3 at the till: "Pagar factura con monedas" at an acceptor, the code step (wrong code with
the attempts left, resend, cancel), the receipt, the physical-document step, tenancy."""

import re
from decimal import Decimal

import pytest
from django.test import Client

from lealtad.coins import actions as coins
from lealtad.coins.models import CoinPayment
from lealtad.core import testing
from lealtad.customers.actions import join_merchant

pytestmark = pytest.mark.django_db

CODE = re.compile(r"(?<!\d)(\d{4})(?!\d)")


def sent_code(customer) -> str:
    """The newest code sent to the customer, read from the outbox (SMS, else e-mail)."""
    from lealtad.notifications.models import OutgoingEmail

    bodies = []
    try:
        from lealtad.notifications.models import OutgoingSms

        bodies += [
            (r.created_at, r.pk, r.body) for r in OutgoingSms.objects.filter(customer=customer)
        ]
    except ImportError:  # pragma: no cover - before the SMS outbox
        pass
    bodies += [
        (r.created_at, r.pk, r.body) for r in OutgoingEmail.objects.filter(customer=customer)
    ]
    for _at, _pk, body in sorted(bodies, key=lambda b: (b[0], str(b[1])), reverse=True):
        found = CODE.findall(body)
        if found:
            return found[-1]
    raise AssertionError("no code sent")


@pytest.fixture
def world():
    issuer = testing.make_merchant("Café", coin_issuer=True, cashback_rate="0.1")
    acceptor = testing.make_merchant("Librería", coin_acceptor=True)
    customer = testing.make_customer(issuer).customer
    coins.earn_coins(merchant=issuer.merchant, customer=customer, amount=Decimal(7_500))  # 750
    join_merchant(customer, acceptor.merchant, acceptor.branch)
    client = Client()
    client.force_login(testing.make_cashier(acceptor))
    return acceptor, customer, client


def wallet(customer):
    return coins.wallet_of(customer)


def start(client, customer, **kw):
    data = {"cp-invoice_number": "L-1", "cp-amount": "30.000", "cp-coins": "500"}
    data.update(kw)
    return client.post(f"/cashier/c/{customer.pk}/coins/pay/", data)


def test_the_card_offers_it_at_an_acceptor_only(world):
    _acceptor, customer, client = world
    page = client.get(f"/cashier/c/{customer.pk}/").text
    assert "Pagar factura con monedas" in page and "750 monedas disponibles" in page
    plain = testing.make_merchant("Otro")
    join_merchant(customer, plain.merchant, plain.branch)
    other = Client()
    other.force_login(testing.make_cashier(plain))
    assert "Pagar factura con monedas" not in other.get(f"/cashier/c/{customer.pk}/").text
    refused = start(other, customer)
    assert 'id="notice"' in refused.text and "no acepta monedas" in refused.text
    assert not CoinPayment.objects.exists()


def test_the_coins_are_prefilled_with_what_pays_the_invoice(world):
    _acceptor, customer, client = world
    url = f"/cashier/c/{customer.pk}/coins/pay/prefill/"
    assert 'value="750"' in client.get(url, {"cp-amount": "30.000", "cp-coins": ""}).text
    assert 'value="300"' in client.get(url, {"cp-amount": "300", "cp-coins": ""}).text
    # Following the amount while it is the prefill; a number typed by the cashier stays.
    followed = client.get(url, {"cp-amount": "450", "cp-coins": "300", "cp-prefilled": "300"})
    assert 'value="450"' in followed.text
    kept = client.get(url, {"cp-amount": "450", "cp-coins": "120", "cp-prefilled": "300"})
    assert 'value="120"' in kept.text


def test_too_many_coins_is_insufficient_funds_at_once(world):
    _acceptor, customer, client = world
    shown = start(client, customer, **{"cp-coins": "751"})
    assert 'id="cp-coins-error"' in shown.text and "ondos insuficientes" in shown.text
    assert wallet(customer)["held"] == 0 and not CoinPayment.objects.exists()
    more = start(client, customer, **{"cp-coins": "500", "cp-amount": "400"})
    assert 'id="cp-coins-error"' in more.text


def test_code_wrong_then_right_gives_the_receipt(world):
    _acceptor, customer, client = world
    held = start(client, customer)
    assert held.status_code == 201
    page = held.text
    assert "Código enviado a" in page and 'inputmode="numeric"' in page and "autofocus" in page
    assert wallet(customer) == {**wallet(customer), "available": 250, "held": 500}
    payment = CoinPayment.objects.get()
    url = f"/cashier/coin-payments/{payment.pk}/"
    code = sent_code(customer)
    wrong = "0000" if code != "0000" else "1111"
    shown = client.post(url + "confirm/", {"code": wrong}).text
    assert 'id="code-error"' in shown and "Quedan 2 intentos" in shown
    done = client.post(url + "confirm/", {"code": code}).text
    assert 'id="coin-receipt"' in done and 'id="receipt-to-pay">' in done
    assert "29.500" in done and "data-print" in done
    assert wallet(customer)["available"] == 250 and wallet(customer)["held"] == 0
    again = client.post(url + "confirm/", {"code": code}).text  # a second Enter: the receipt
    assert 'id="coin-receipt"' in again
    assert client.get(url).status_code == 200


def test_resend_replaces_the_code_and_cancel_releases_the_hold(world):
    _acceptor, customer, client = world
    start(client, customer)
    payment = CoinPayment.objects.get()
    url = f"/cashier/coin-payments/{payment.pk}/"
    first = sent_code(customer)
    resent = client.post(url + "resend/").text
    assert "Se envió un código nuevo" in resent
    second = sent_code(customer)
    if first != second:
        assert 'id="code-error"' in client.post(url + "confirm/", {"code": first}).text
    cancelled = client.post(url + "cancel/")
    assert "las monedas vuelven a estar disponibles" in cancelled.text
    assert wallet(customer)["available"] == 750 and wallet(customer)["held"] == 0
    page = client.get(url).text
    assert 'id="coin-cancelled"' in page


def test_three_wrong_codes_cancel_it(world):
    _acceptor, customer, client = world
    start(client, customer)
    payment = CoinPayment.objects.get()
    code = sent_code(customer)
    wrong = "0000" if code != "0000" else "1111"
    for _ in range(3):
        shown = client.post(f"/cashier/coin-payments/{payment.pk}/confirm/", {"code": wrong}).text
    assert 'id="coin-cancelled"' in shown
    assert wallet(customer)["held"] == 0


def test_the_physical_document_step_where_the_merchant_asks_it(world):
    acceptor, customer, client = world
    acceptor.merchant.coin_payment_requires_document = True
    acceptor.merchant.save()
    page = client.get(f"/cashier/c/{customer.pk}/").text
    assert "documento de identidad físico" in page
    refused = start(client, customer)
    assert 'id="cp-document-error"' in refused.text and not CoinPayment.objects.exists()
    assert start(client, customer, **{"cp-document_checked": "1"}).status_code == 201


def test_another_merchants_payment_is_not_found(world):
    _acceptor, customer, client = world
    start(client, customer)
    payment = CoinPayment.objects.get()
    other = testing.make_merchant("Otra librería", coin_acceptor=True)
    stranger = Client()
    stranger.force_login(testing.make_cashier(other))
    url = f"/cashier/coin-payments/{payment.pk}/"
    assert stranger.get(url).status_code == 404
    for step in ("confirm/", "resend/", "cancel/"):
        assert stranger.post(url + step, {"code": "1234"}).status_code == 404
    assert stranger.get("/cashier/coin-payments/nope/").status_code == 404
    assert wallet(customer)["held"] == 500


def test_with_an_sms_provider_the_code_goes_to_the_masked_mobile(world, settings):
    from lealtad.notifications.models import OutgoingSms

    settings.SMS_URL = "console://"
    _acceptor, customer, client = world
    customer.mobile = "+573001234567"
    customer.save()
    page = start(client, customer).text
    assert "Código enviado a +57 *** *** 4567" in page, page[page.find("code-sent") :][:200]
    sms = OutgoingSms.objects.get(customer=customer)
    assert sms.to == "+573001234567"
    payment = CoinPayment.objects.get()
    done = client.post(
        f"/cashier/coin-payments/{payment.pk}/confirm/", {"code": sent_code(customer)}
    )
    assert 'id="coin-receipt"' in done.text
