"""K3 at the till: the customer app's payment QR, typed by the scanner into "Pagar factura con
monedas" (paid at once, no code) or into the search box (the card opens with the QR in the
pay form, posted, never in a URL). Expired, forged, used or another customer's: a message by
the field and nothing held."""

import datetime as dt
import html
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from lealtad.coins import actions as coins
from lealtad.coins.models import CoinPayment, PaymentStatus
from lealtad.coins.qr import mint_payment_qr
from lealtad.core import testing
from lealtad.customers.actions import join_merchant
from lealtad.notifications.models import OutgoingEmail

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    issuer = testing.make_merchant("Café", coin_issuer=True, cashback_rate="0.1")
    acceptor = testing.make_merchant("Librería", coin_acceptor=True)
    customer = testing.make_customer(issuer).customer
    coins.earn_coins(merchant=issuer.merchant, customer=customer, amount=Decimal(7_500))  # 750
    join_merchant(customer, acceptor.merchant, acceptor.branch)
    client = Client()
    client.force_login(testing.make_cashier(acceptor))
    return issuer, acceptor, customer, client


def pay(client, customer, qr, **kw):
    data = {"cp-invoice_number": "L-7", "cp-amount": "300", "cp-coins": "200", "cp-payment_qr": qr}
    data.update(kw)
    return client.post(f"/cashier/c/{customer.pk}/coins/pay/", data)


def sends():
    from lealtad.notifications.models import OutgoingSms

    return OutgoingSms.objects.count() + OutgoingEmail.objects.count()


def test_a_valid_qr_pays_at_once_without_a_code(world):
    _issuer, _acceptor, customer, client = world
    before = sends()
    done = pay(client, customer, mint_payment_qr(customer))
    assert done.status_code == 201
    assert 'id="coin-receipt"' in done.text
    assert "pagado con el QR de pago del cliente" in done.text
    payment = CoinPayment.objects.get()
    assert payment.status == PaymentStatus.CAPTURED and payment.via_qr
    assert coins.wallet_of(customer)["available"] == 550
    assert coins.wallet_of(customer)["held"] == 0
    assert sends() == before  # no code was sent


def test_without_a_qr_the_code_step_stays(world):
    _issuer, _acceptor, customer, client = world
    held = pay(client, customer, "")
    assert held.status_code == 201 and "Código enviado a" in held.text
    assert CoinPayment.objects.get().status == PaymentStatus.AWAITING_CODE


def _refused(client, customer, qr, words):
    shown = pay(client, customer, qr)
    assert shown.status_code == 200
    page = html.unescape(shown.text)
    assert 'id="cp-qr-error"' in page and words in page, page[page.find("cp-qr-error") :][:300]
    # The refused payload is not typed back: the scanner types a new one in the field.
    field = page[page.index('name="cp-payment_qr"') :][:120]
    assert 'value=""' in field
    assert not CoinPayment.objects.exists()
    assert coins.wallet_of(customer)["available"] == 750
    assert coins.wallet_of(customer)["held"] == 0


def test_an_expired_qr_holds_nothing(world):
    _issuer, _acceptor, customer, client = world
    old = mint_payment_qr(customer, now=timezone.now() - dt.timedelta(minutes=3))
    _refused(client, customer, old, "venció")


def test_a_forged_qr_holds_nothing(world):
    _issuer, _acceptor, customer, client = world
    good = mint_payment_qr(customer)
    forged = good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")
    _refused(client, customer, forged, "no es válido")
    _refused(client, customer, "LTQ1.not-a-payment-qr", "no es un QR de pago")


def test_another_customers_qr_holds_nothing(world):
    issuer, _acceptor, customer, client = world
    other = testing.make_customer(issuer, document_number="80123456").customer
    _refused(client, customer, mint_payment_qr(other), "es de otro cliente")


def test_a_qr_pays_once(world):
    _issuer, _acceptor, customer, client = world
    qr = mint_payment_qr(customer)
    assert pay(client, customer, qr).status_code == 201
    again = pay(client, customer, qr, **{"cp-invoice_number": "L-8"})
    assert "ya se usó" in again.text and 'id="cp-qr-error"' in again.text
    assert CoinPayment.objects.count() == 1
    assert coins.wallet_of(customer)["available"] == 550


def test_the_search_box_opens_the_card_with_the_qr_in_the_pay_form(world):
    _issuer, _acceptor, customer, client = world
    qr = mint_payment_qr(customer)
    shown = client.post("/cashier/payment-qr/", {"qr": qr})
    assert shown.status_code == 200
    assert shown["HX-Push-Url"] == f"/cashier/c/{customer.pk}/"  # the card's URL, no payload
    page = shown.text
    assert f'value="{html.escape(qr)}"' in page or f'value="{qr}"' in page
    assert 'id="cp-qr-ready"' in page and "El QR de pago del cliente ya está" in page
    section = page[page.index('id="pay-coins"') :]
    assert section.startswith('id="pay-coins" data-focus')
    invoice = section[section.index('id="id_cp-invoice_number"') :][:200]
    assert "autofocus" in invoice
    # Scan, type the invoice and the amount, Enter: paid.
    done = pay(client, customer, qr)
    assert "pagado con el QR de pago del cliente" in done.text


def test_the_search_box_refuses_a_bad_qr_and_a_stranger(world):
    issuer, _acceptor, customer, client = world
    old = mint_payment_qr(customer, now=timezone.now() - dt.timedelta(minutes=5))
    shown = client.post("/cashier/payment-qr/", {"qr": old}).text
    assert 'id="payment-qr-error"' in shown and "venció" in shown
    assert 'id="payment-qr-error"' in client.post("/cashier/payment-qr/", {"qr": "x"}).text
    assert client.get("/cashier/payment-qr/").status_code == 405
    # A customer who never came here: the masked card to enrol them, not their profile.
    stranger = testing.make_customer(issuer, document_number="80123456").customer
    page = client.post("/cashier/payment-qr/", {"qr": mint_payment_qr(stranger)}).text
    assert 'id="pay-coins"' not in page and stranger.document_number not in page


def test_a_payment_qr_in_a_get_search_is_not_a_customer_to_register(world):
    _issuer, _acceptor, customer, client = world
    page = client.get("/cashier/search/", {"q": mint_payment_qr(customer)}).text
    assert 'id="payment-qr-error"' in page and "Escanee de nuevo el QR de pago" in page
    assert "Registrar" not in page.split('id="payment-qr-error"')[1][:400]


def test_another_merchants_till_cannot_use_it(world):
    _issuer, _acceptor, customer, _client = world
    plain = testing.make_merchant("Otro")
    join_merchant(customer, plain.merchant, plain.branch)
    other = Client()
    other.force_login(testing.make_cashier(plain))
    page = other.post("/cashier/payment-qr/", {"qr": mint_payment_qr(customer)}).text
    assert 'id="notice"' in page and "no acepta monedas" in page
    assert 'id="pay-coins"' not in page
