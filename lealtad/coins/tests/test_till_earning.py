"""K2 at the till: an issuer's customer page has "Acumular monedas" (invoice number, amount) with
its rate in words; the same invoice cannot earn twice, points or coins; bad input is a message
next to the field."""

import pytest
from django.test import Client

from lealtad.core import testing
from lealtad.ledger.models import Account

pytestmark = pytest.mark.django_db


def till(shop):
    client = Client()
    client.force_login(testing.make_cashier(shop))
    return client


def test_an_issuer_till_earns_coins_with_its_rate_in_words():
    shop = testing.make_merchant(coin_issuer=True, cashback_rate="0.03")
    member = testing.make_customer(shop).membership
    client = till(shop)
    page = client.get(f"/cashier/c/{member.customer_id}/").text
    assert "Acumular monedas" in page and "3 monedas por cada 100 COP" in page
    url = f"/cashier/c/{member.customer_id}/coins/earn/"
    done = client.post(url, {"coins-invoice_number": "F-1", "coins-amount": "25.000"}).text
    assert "+750 monedas. Monedas disponibles: 750." in done
    wallet = Account.objects.get(customer=member.customer, kind="coins")
    assert wallet.balance == 750
    again = client.post(url, {"coins-invoice_number": "f-1", "coins-amount": "25.000"}).text
    assert 'id="coins-invoice-error"' in again and "f-1 ya acumuló" in again
    points = client.post(
        f"/cashier/c/{member.customer_id}/accrue/", {"amount": "25.000", "invoice_number": "F-1"}
    ).text
    assert "F-1 ya acumuló" in points
    for typed, field in (("abc", "amount"), ("", "amount"), ("10", "amount")):
        shown = client.post(url, {"coins-invoice_number": "F-2", "coins-amount": typed}).text
        assert f'id="coins-{field}-error"' in shown, typed
    shown = client.post(url, {"coins-invoice_number": "", "coins-amount": "1000"}).text
    assert 'id="coins-invoice-error"' in shown
    assert Account.objects.get(pk=wallet.pk).balance == 750


def test_a_till_that_does_not_issue_has_no_coin_form_and_refuses_a_post():
    shop = testing.make_merchant()
    member = testing.make_customer(shop).membership
    client = till(shop)
    assert "Acumular monedas" not in client.get(f"/cashier/c/{member.customer_id}/").text
    url = f"/cashier/c/{member.customer_id}/coins/earn/"
    shown = client.post(url, {"coins-invoice_number": "F-1", "coins-amount": "1000"})
    assert shown.status_code == 200 and "no emite monedas" in shown.text
    assert not Account.objects.filter(customer=member.customer, kind="coins", balance__gt=0)


def test_another_merchants_customer_is_not_found():
    shop = testing.make_merchant(coin_issuer=True, cashback_rate="0.03")
    other = testing.make_customer(testing.make_merchant("Otro")).customer
    url = f"/cashier/c/{other.pk}/coins/earn/"
    response = till(shop).post(url, {"coins-invoice_number": "F-1", "coins-amount": "1000"})
    assert response.status_code == 404


def test_a_used_invoice_says_what_it_earned():
    """An invoice that earned coins is refused saying coins, not points (and the reverse)."""
    shop = testing.make_merchant(coin_issuer=True, cashback_rate="0.03")
    member = testing.make_customer(shop).membership
    client = till(shop)
    coins_url = f"/cashier/c/{member.customer_id}/coins/earn/"
    points_url = f"/cashier/c/{member.customer_id}/accrue/"
    client.post(coins_url, {"coins-invoice_number": "C-1", "coins-amount": "25.000"})
    client.post(points_url, {"amount": "25.000", "invoice_number": "P-1"})
    coins_first = client.post(points_url, {"amount": "25.000", "invoice_number": "c-1"}).text
    assert "c-1 ya acumuló monedas" in coins_first
    points_first = client.post(
        coins_url, {"coins-invoice_number": "p-1", "coins-amount": "25.000"}
    ).text
    assert "p-1 ya acumuló puntos" in points_first
