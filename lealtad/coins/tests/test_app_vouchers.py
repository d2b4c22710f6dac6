"""R3 in the customer's app: a coin promotion bought from the app is paid at once (no code) and
gives a voucher the till hands over once; refusals hold nothing."""

import pytest

from lealtad.coins import vouchers
from lealtad.coins.actions import wallet_of
from lealtad.coins.models import CoinPromotion, CoinVoucher, PaymentStatus
from lealtad.coins.tests.promo_helpers import acceptor, customer_with_coins, promotion
from lealtad.core import errors, testing
from lealtad.ledger.check import check_ledger
from lealtad.network.models import Merchant

pytestmark = pytest.mark.django_db


def test_buying_in_the_app_pays_at_once_and_gives_a_voucher():
    shop = acceptor()
    customer = customer_with_coins(shop, amount=1000)
    book = promotion(shop, price=300, stock=2)
    voucher = vouchers.buy_in_app(str(book.pk), customer=customer)
    assert voucher.payment.status == PaymentStatus.CAPTURED
    assert len(voucher.code) == 8 and voucher.handed_over_at is None
    assert wallet_of(customer)["available"] == 700
    assert CoinPromotion.objects.get(pk=book.pk).stock == 1
    assert "<svg" in vouchers.qr_svg(voucher)
    assert check_ledger() == []


def test_the_till_hands_it_over_once_and_only_at_its_shop():
    shop, other = acceptor(), testing.make_merchant("Otra", coin_acceptor=True)
    customer = customer_with_coins(shop)
    voucher = vouchers.buy_in_app(promotion(shop).pk, customer=customer)
    with pytest.raises(errors.NotFound):
        vouchers.hand_over(voucher.code, merchant=other.merchant)
    typed = vouchers.display(voucher.code).lower()  # "abcd-efgh" typed by hand
    done = vouchers.hand_over(typed, merchant=shop.merchant, staff=shop.admin, branch=shop.branch)
    assert done.handed_over_at is not None and done.handed_over_by == shop.admin
    with pytest.raises(vouchers.VoucherHandedOver) as exc:
        vouchers.hand_over(voucher.code, merchant=shop.merchant)
    assert exc.value.code == "voucher_used" and exc.value.status == 409
    with pytest.raises(errors.ValidationFailed):
        vouchers.hand_over("  ", merchant=shop.merchant)


def test_refusals_hold_nothing():
    shop = acceptor()
    customer = customer_with_coins(shop, amount=100)
    dear = promotion(shop, price=500, stock=3)
    with pytest.raises(errors.InsufficientCoins):
        vouchers.buy_in_app(dear.pk, customer=customer)
    gone = promotion(shop, price=10, stock=0)
    with pytest.raises(errors.OutOfStock):
        vouchers.buy_in_app(gone.pk, customer=customer)
    with pytest.raises(errors.NotFound):
        vouchers.buy_in_app("nope", customer=customer)
    assert wallet_of(customer) == {"available": 100, "held": 0, "expiring_30d": 0}
    assert CoinPromotion.objects.get(pk=dear.pk).stock == 3
    assert not CoinVoucher.objects.exists()


def test_a_shop_that_checks_documents_sells_at_its_till_only():
    shop = acceptor()
    Merchant.objects.filter(pk=shop.merchant.pk).update(coin_payment_requires_document=True)
    customer = customer_with_coins(shop)
    with pytest.raises(vouchers.AppPurchaseUnavailable):
        vouchers.buy_in_app(promotion(shop).pk, customer=customer)
    assert wallet_of(customer)["held"] == 0


def test_a_voucher_is_its_customers_own_and_the_list_shows_promotions_on_sale():
    shop = acceptor()
    customer, other = customer_with_coins(shop), customer_with_coins(shop)
    book = promotion(shop, price=50)
    voucher = vouchers.buy_in_app(book.pk, customer=customer)
    assert vouchers.get_voucher_for(customer, voucher.pk) == voucher
    with pytest.raises(errors.NotFound):
        vouchers.get_voucher_for(other, voucher.pk)
    assert book in vouchers.on_sale_in_app()
    assert promotion(shop, stock=0) not in vouchers.on_sale_in_app()


def test_the_till_scans_the_voucher_into_the_search_and_hands_it_over_once():
    from lealtad.coins.tests.promo_helpers import client_for

    shop, other = acceptor(), testing.make_merchant("Otra", coin_acceptor=True)
    customer = customer_with_coins(shop)
    voucher = vouchers.buy_in_app(promotion(shop, name="Libro azul").pk, customer=customer)
    till = client_for(shop.admin)
    found = till.get("/cashier/search/", {"q": vouchers.QR_PREFIX + voucher.code})
    assert found.status_code == 302 and found["Location"].endswith(f"?code={voucher.code}")
    page = till.get(found["Location"])
    assert page.status_code == 200 and "Libro azul" in page.content.decode()
    assert 'id="hand-over"' in page.content.decode()
    done = till.post("/cashier/coin-vouchers/", {"code": vouchers.display(voucher.code)})
    assert 'id="voucher-handed"' in done.content.decode()
    again = till.post("/cashier/coin-vouchers/", {"code": voucher.code})
    assert 'id="voucher-handed"' not in again.content.decode()
    assert 'id="voucher-error"' in again.content.decode()
    elsewhere = client_for(other.admin).get("/cashier/coin-vouchers/", {"code": voucher.code})
    assert "Libro azul" not in elsewhere.content.decode()
    assert 'id="voucher-error"' in elsewhere.content.decode()
