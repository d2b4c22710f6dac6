"""P7 at the till: "Pagar con puntos" on the card where the merchant takes points as money; the
quote as it is typed; one payment per form; errors next to their fields; a printable receipt."""

from decimal import Decimal

import pytest
from django.test import Client

from lealtad.core import testing
from lealtad.ledger import actions as ledger
from lealtad.ledger.models import Account, PointPayment

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    return testing.make_merchant(points_as_money=True, point_money_value=Decimal(10))


@pytest.fixture
def member(shop):
    member = testing.make_customer(shop).membership
    ledger.accrue_points(
        merchant=shop.merchant, membership=member, branch=shop.branch, amount=Decimal(500_000)
    )
    return member


@pytest.fixture
def till(shop):
    client = Client()
    client.force_login(testing.make_cashier(shop))
    return client


def form(**kw):
    data = {"token": "t-1", "pp-invoice_number": "F-7", "pp-amount": "30.000", "pp-points": "200"}
    data.update(kw)
    return data


def test_the_card_offers_it_with_the_rate_and_what_the_points_are_worth(till, member):
    page = till.get(f"/cashier/c/{member.customer_id}/").text
    assert "Pagar con puntos" in page and "1 punto = 10 COP" in page
    assert "500 puntos disponibles, equivalen a 5.000 COP" in page


def test_a_merchant_without_it_shows_no_form(member):
    plain = testing.make_merchant()
    other = testing.make_customer(plain).membership
    client = Client()
    client.force_login(testing.make_cashier(plain))
    assert "Pagar con puntos" not in client.get(f"/cashier/c/{other.customer_id}/").text
    shown = client.post(f"/cashier/c/{other.customer_id}/points/pay/", form())
    assert shown.status_code == 200 and "no recibe puntos como dinero" in shown.text
    assert not PointPayment.objects.exists()


def test_the_quote_says_the_worth_and_the_most(till, member):
    url = f"/cashier/c/{member.customer_id}/points/pay/quote/"
    shown = till.get(url, {"pp-amount": "3.005", "pp-points": "120"}).text
    assert (
        "120 puntos = 1.200 COP" in shown
        and "Máximo 300 puntos en esta factura (3.000 COP)" in shown
    )
    assert "Máximo 500 puntos" in till.get(url, {"pp-amount": "1.000.000"}).text
    assert "error" in till.get(url, {"pp-amount": "abc"}).text


def test_paying_gives_a_receipt_once_per_form(till, member):
    url = f"/cashier/c/{member.customer_id}/points/pay/"
    done = till.post(url, form()).text
    assert 'id="points-receipt"' in done and "data-print" in done
    assert 'id="receipt-value">2.000 COP' in done and 'id="receipt-to-pay">28.000 COP' in done
    assert 'id="receipt-balance">300<' in done
    again = till.post(url, form()).text  # a double Enter: the same receipt, paid once
    assert 'id="points-receipt"' in again
    assert PointPayment.objects.count() == 1
    assert Account.objects.get(pk=member.account_id).balance == 300


@pytest.mark.parametrize(
    ("change", "error_id", "words"),
    [
        ({"pp-points": "301", "pp-amount": "3.005"}, "pp-points-error", "a lo sumo 300 puntos"),
        ({"pp-points": "600", "pp-amount": "900.000"}, "pp-points-error", "Faltan 100 puntos"),
        ({"pp-points": "0"}, "pp-points-error", ""),
        ({"pp-points": "x"}, "pp-points-error", ""),
        ({"pp-amount": "abc"}, "pp-amount-error", ""),
        ({"pp-invoice_number": ""}, "pp-invoice-error", ""),
    ],
)
def test_errors_show_next_to_their_field(till, member, change, error_id, words):
    shown = till.post(f"/cashier/c/{member.customer_id}/points/pay/", form(**change)).text
    assert f'id="{error_id}"' in shown and words in shown
    assert not PointPayment.objects.exists()


def test_a_blocked_customer_cannot_and_a_document_check_is_asked(shop, till, member):
    shop.merchant.redemption_requires_document_check = True
    shop.merchant.save()
    url = f"/cashier/c/{member.customer_id}/points/pay/"
    assert "I checked" not in till.get(f"/cashier/c/{member.customer_id}/").text
    shown = till.post(url, form()).text
    assert 'id="pp-document-error"' in shown
    assert 'id="points-receipt"' in till.post(url, form(**{"pp-document_checked": "1"})).text
    member.blocked, member.blocked_reason = True, "Revisión"
    member.save()
    shown = till.post(url, form(token="t-2", **{"pp-document_checked": "1"})).text
    assert "No es posible pagar con puntos" in shown and 'id="pp-error"' in shown
    assert PointPayment.objects.count() == 1


def test_another_merchants_customer_is_not_found(member):
    other = testing.make_merchant("Otro", points_as_money=True, point_money_value=Decimal(1))
    client = Client()
    client.force_login(testing.make_cashier(other))
    assert client.post(f"/cashier/c/{member.customer_id}/points/pay/", form()).status_code == 404
    quote = client.get(f"/cashier/c/{member.customer_id}/points/pay/quote/", {"pp-amount": "1"})
    assert quote.status_code == 404


ENGLISH = (
    "Pay with points",
    "Points to use",
    "points available",
    "Left to pay",
    "Print receipt",
    "Coin statement",
    "See all",
)


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("pt-br", ("Pagar com pontos", "Pontos a usar", "Falta pagar", "Imprimir comprovante")),
        ("es", ("Pagar con puntos", "Puntos a usar", "Queda por pagar", "Imprimir comprobante")),
        ("en", ("Pay with points", "Points to use", "Left to pay", "Print receipt")),
    ],
)
def test_the_screens_speak_the_cashiers_language(till, member, language, words):
    till.cookies["django_language"] = language
    done = till.post(f"/cashier/c/{member.customer_id}/points/pay/", form()).text
    for word in words:
        assert word in done, (language, word)
    if language != "en":
        for english in ENGLISH:
            assert english not in done, (language, english)
