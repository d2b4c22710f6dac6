"""R3: taking a coin promotion is a coin payment of its price (`payments.start_payment` with
coins = invoice amount = the price, naming the promotion): held now with a unit of stock
reserved, captured by the customer's code (or payment QR), given back if cancelled or expired."""

from lealtad.coins import promotions
from lealtad.coins.models import CoinPayment
from lealtad.coins.payments import start_payment


def buy_promotion(
    promotion_id,
    *,
    merchant,
    customer,
    branch=None,
    staff=None,
    api_key=None,
    qr_payload=None,
    document_checked=False,
    invoice_number=None,
    now=None,
) -> CoinPayment:
    """Start the payment for one unit of this merchant's promotion (another merchant's → NotFound;
    not on sale → promotion_unavailable; sold out → out_of_stock; not enough coins →
    insufficient_coins, nothing held and no unit taken)."""
    promotion = promotions.get_promotion(promotion_id, merchant=merchant)
    price = promotion.coins_price
    return start_payment(
        merchant=merchant,
        customer=customer,
        invoice_amount=price,
        coins=price,
        invoice_number=invoice_number,
        branch=branch,
        staff=staff,
        api_key=api_key,
        qr_payload=qr_payload,
        document_checked=document_checked,
        promotion=promotion,
        now=now,
    )
