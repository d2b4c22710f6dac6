"""R3: taking a coin promotion is the same coin payment as an invoice — held with a unit of
stock reserved, captured by the customer's code, the unit given back when the payment is
cancelled, fails with wrong codes or expires; sold out, not on sale, not enough coins, another
merchant's: nothing held and no unit taken."""

import datetime as dt
import re

import pytest
from django.utils import timezone

from lealtad.coins import payments
from lealtad.coins.actions import wallet_of
from lealtad.coins.models import CoinPayment, CoinPromotion, PaymentStatus
from lealtad.coins.purchases import buy_promotion
from lealtad.coins.tests.promo_helpers import (
    acceptor,
    client_for,
    customer_with_coins,
    promotion,
)
from lealtad.core import errors, testing
from lealtad.ledger.check import check_ledger
from lealtad.notifications.models import OutgoingEmail, OutgoingSms

pytestmark = pytest.mark.django_db


def code_for(customer) -> str:
    """The latest code sent to the customer, read from the outbox (SMS or e-mail): the last
    4-6 digit number of the message (the coins come before it, "10 minutes" after)."""
    sms = OutgoingSms.objects.filter(customer=customer).order_by("-pk").first()
    mail = OutgoingEmail.objects.filter(to=customer.email).order_by("-pk").first()
    for message in (sms, mail):
        if message is not None and (found := re.findall(r"\b(\d{4,6})\b", message.body)):
            return found[-1]
    raise AssertionError("no code was sent")


def stock(p) -> int | None:
    return CoinPromotion.objects.get(pk=p.pk).stock


def test_taking_one_holds_its_price_reserves_a_unit_and_the_code_pays():
    shop = acceptor()
    customer = customer_with_coins(shop, amount=1000)
    book = promotion(shop, price=450, stock=2)
    payment = buy_promotion(book.pk, merchant=shop.merchant, customer=customer)
    assert payment.status == PaymentStatus.AWAITING_CODE
    assert (payment.coins, payment.invoice_amount, payment.promotion_id) == (450, 450, book.pk)
    assert stock(book) == 1
    assert wallet_of(customer)["held"] == 450 and wallet_of(customer)["available"] == 550
    done = payments.confirm_payment(payment.pk, merchant=shop.merchant, code=code_for(customer))
    assert done.status == PaymentStatus.CAPTURED
    assert stock(book) == 1  # taken for good
    assert wallet_of(customer) == {"available": 550, "held": 0, "expiring_30d": 0}
    assert check_ledger() == []


def test_a_cancel_wrong_codes_and_expiry_give_the_unit_back():
    shop = acceptor()
    customer = customer_with_coins(shop, amount=1000)
    book = promotion(shop, price=100, stock=1)
    first = buy_promotion(book.pk, merchant=shop.merchant, customer=customer)
    assert stock(book) == 0
    payments.cancel_payment(first.pk, merchant=shop.merchant)
    payments.cancel_payment(first.pk, merchant=shop.merchant)  # twice: given back once
    assert stock(book) == 1
    second = buy_promotion(book.pk, merchant=shop.merchant, customer=customer)
    right = code_for(customer)
    wrong = "0000" if right != "0000" else "1111"
    for _ in range(3):
        with pytest.raises((errors.InvalidCode, errors.PaymentCancelled)):
            payments.confirm_payment(second.pk, merchant=shop.merchant, code=wrong)
    assert CoinPayment.objects.get(pk=second.pk).status == PaymentStatus.CANCELLED
    assert stock(book) == 1
    third = buy_promotion(book.pk, merchant=shop.merchant, customer=customer)
    assert payments.expire_holds(timezone.now() + dt.timedelta(minutes=11)) == 1
    assert CoinPayment.objects.get(pk=third.pk).status == PaymentStatus.CANCELLED
    assert stock(book) == 1
    assert wallet_of(customer)["available"] == 1000
    assert check_ledger() == []


def test_unlimited_stock_stays_unlimited():
    shop = acceptor()
    customer = customer_with_coins(shop, amount=1000)
    endless = promotion(shop, price=100)
    paid = buy_promotion(endless.pk, merchant=shop.merchant, customer=customer)
    payments.cancel_payment(paid.pk, merchant=shop.merchant)
    assert stock(endless) is None


def test_what_cannot_be_bought_holds_nothing_and_takes_no_unit():
    shop = acceptor()
    customer = customer_with_coins(shop, amount=300)
    dear = promotion(shop, price=500, stock=3)
    with pytest.raises(errors.InsufficientCoins):
        buy_promotion(dear.pk, merchant=shop.merchant, customer=customer)
    assert stock(dear) == 3
    sold_out = promotion(shop, price=100, stock=0)
    with pytest.raises(errors.OutOfStock):
        buy_promotion(sold_out.pk, merchant=shop.merchant, customer=customer)
    ended = promotion(shop, price=100, days=(-5, -1))
    with pytest.raises(errors.PromotionUnavailable):
        buy_promotion(ended.pk, merchant=shop.merchant, customer=customer)
    theirs = promotion(acceptor(), price=100, stock=1)
    with pytest.raises(errors.NotFound):
        buy_promotion(theirs.pk, merchant=shop.merchant, customer=customer)
    with pytest.raises(errors.NotFound):
        payments.start_payment(
            merchant=shop.merchant, customer=customer, invoice_amount=100, coins=100,
            promotion=theirs,
        )  # fmt: skip
    assert stock(theirs) == 1
    incomplete = customer_with_coins(shop, amount=500, complete=False)
    cheap = promotion(shop, price=100, stock=1)
    with pytest.raises(errors.ProfileIncomplete):
        buy_promotion(cheap.pk, merchant=shop.merchant, customer=incomplete)
    assert stock(cheap) == 1
    assert wallet_of(customer) == {"available": 300, "held": 0, "expiring_30d": 0}
    assert not CoinPayment.objects.exists()


def test_the_payment_must_be_the_promotions_price():
    shop = acceptor()
    customer = customer_with_coins(shop, amount=1000)
    book = promotion(shop, price=450, stock=1)
    with pytest.raises(errors.ValidationFailed):
        payments.start_payment(
            merchant=shop.merchant, customer=customer, invoice_amount=450, coins=400,
            promotion=book,
        )  # fmt: skip
    assert stock(book) == 1 and not CoinPayment.objects.exists()


# --- at the till ----------------------------------------------------------------------------


def test_the_till_takes_one_with_the_customers_code():
    shop = acceptor()
    customer = customer_with_coins(shop, amount=1000)
    book = promotion(shop, price=450, stock=2, name="Cien años de soledad")
    till = client_for(testing.make_cashier(shop))
    url = f"/cashier/c/{customer.pk}/coin-promotions/{book.pk}/"
    started = till.post(url, {"token": "t-1"})
    assert started.status_code == 302
    payment = CoinPayment.objects.get(promotion=book)
    assert started["Location"] == f"/cashier/coin-payments/{payment.pk}/"  # the till's own page
    assert till.post(url, {"token": "t-1"}).status_code == 302  # a double click: one payment
    assert CoinPayment.objects.count() == 1 and stock(book) == 1
    step = till.get(started["Location"]).text
    assert 'id="id_code"' in step and "Código enviado a" in step
    assert (
        'id="payment-product">Cien años de soledad<' in step and 'id="payment-coins">450<' in step
    )
    base = started["Location"]
    wrong = till.post(base + "confirm/", {"code": "00000"}).text
    assert 'id="code-error"' in wrong and "Quedan 2 intentos" in wrong
    resent = till.post(base + "resend/").text
    assert "Se envió un código nuevo." in resent
    paid = till.post(base + "confirm/", {"code": code_for(customer)}).text
    assert 'id="coin-receipt"' in paid and "Pagado con monedas: Cien años de soledad" in paid
    assert wallet_of(customer)["available"] == 550 and stock(book) == 1
    again = till.post(base + "confirm/", {"code": code_for(customer)}).text
    assert 'id="coin-receipt"' in again and wallet_of(customer)["available"] == 550


def test_the_till_cancels_and_gives_the_unit_back():
    shop = acceptor()
    customer = customer_with_coins(shop, amount=1000)
    book = promotion(shop, price=450, stock=1)
    till = client_for(testing.make_cashier(shop))
    base = till.post(f"/cashier/c/{customer.pk}/coin-promotions/{book.pk}/", {"token": "a"})
    base = base["Location"]
    assert stock(book) == 0
    assert till.post(base + "cancel/").status_code == 200  # back on the customer's card
    assert stock(book) == 1 and wallet_of(customer)["held"] == 0
    shown = till.get(base).text
    assert 'id="coin-cancelled"' in shown


def test_the_till_says_why_it_cannot_and_holds_nothing():
    shop = acceptor()
    customer = customer_with_coins(shop, amount=1000)
    book = promotion(shop, price=450, stock=1)
    till = client_for(testing.make_cashier(shop))
    url = f"/cashier/c/{customer.pk}/coin-promotions/{book.pk}/"
    CoinPromotion.objects.filter(pk=book.pk).update(stock=0)  # sold out since the list
    page = till.post(url, {"token": "b"}).text
    assert 'id="coin-confirm-error"' in page and "agotada" in page
    assert not CoinPayment.objects.exists() and wallet_of(customer)["held"] == 0


def test_another_merchants_payment_is_404_at_the_till():
    shop = acceptor()
    customer = customer_with_coins(shop, amount=1000)
    book = promotion(shop, price=100)
    payment = buy_promotion(book.pk, merchant=shop.merchant, customer=customer)
    other_shop = acceptor()
    other_till = client_for(testing.make_cashier(other_shop))
    base = f"/cashier/coin-payments/{payment.pk}/"
    assert other_till.get(base).status_code == 404
    assert other_till.post(base + "cancel/").status_code == 404
    assert CoinPayment.objects.get(pk=payment.pk).status == PaymentStatus.AWAITING_CODE


def test_the_api_pays_for_one_with_promotion_id():
    from lealtad.api.tests.conftest import Api

    shop = acceptor()
    customer = customer_with_coins(shop, amount=1000)
    book = promotion(shop, price=450, stock=1)
    api = Api(shop.api_key)
    body = {"customer_id": str(customer.pk), "invoice_amount": "450", "coins": 450}
    wrong_price = api.post("/coin-payments", {**body, "coins": 400, "invoice_amount": "400",
                                              "promotion_id": str(book.pk)})  # fmt: skip
    assert wrong_price.status_code == 422 and stock(book) == 1
    partly = api.post("/coin-payments", {**body, "invoice_amount": "900",
                                         "promotion_id": str(book.pk)})  # fmt: skip
    assert partly.status_code == 422 and stock(book) == 1
    made = api.post("/coin-payments", {**body, "promotion_id": str(book.pk)})
    assert made.status_code == 201, made.json()
    assert made.json()["promotion_id"] == str(book.pk) and stock(book) == 0
    sold_out = api.post("/coin-payments", {**body, "promotion_id": str(book.pk)})
    assert sold_out.status_code == 409 and sold_out.json()["code"] == "out_of_stock"
    theirs = promotion(acceptor(), price=450)
    other = api.post("/coin-payments", {**body, "promotion_id": str(theirs.pk)})
    assert other.status_code == 404
    done = api.post(f"/coin-payments/{made.json()['id']}/cancel")
    assert done.status_code == 200 and stock(book) == 1
    assert wallet_of(customer)["held"] == 0


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("pt-br", ("Promoções com moedas", "faltam 550 moedas", "Moedas retidas",
                   "Código do cliente", "Reenviar código", "Pago com moedas")),
        ("en", ("Coin promotions", "550 coins missing", "Coins held", "The customer's 4-digit code",
                "Resend code", "Paid with coins")),
        ("es", ("Promociones con monedas", "faltan 550 monedas", "Monedas retenidas",
                "Código del cliente", "Reenviar código", "Pagado con monedas")),
    ],
)  # fmt: skip
def test_the_till_screens_in_each_language(language, words):
    shop = acceptor()
    customer = customer_with_coins(shop, amount=1000)
    book = promotion(shop, price=450, name="Libro")
    promotion(shop, price=1550, name="Obra")
    till = client_for(testing.make_cashier(shop))
    till.cookies["django_language"] = language
    card = till.get(f"/cashier/c/{customer.pk}/").text
    base = till.post(f"/cashier/c/{customer.pk}/coin-promotions/{book.pk}/", {"token": "x"})
    step = till.get(base["Location"]).text
    paid = till.post(base["Location"] + "confirm/", {"code": code_for(customer)}).text
    shown = card + step + paid
    for word in words:
        assert word in shown, (language, word)
    if language != "en":
        for english in ("Coin promotions", "coins missing", "Coins held", "Resend code",
                        "Paid with coins", "Confirm payment", "Attempts left"):  # fmt: skip
            assert english not in shown, (language, english)
