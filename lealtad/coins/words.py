"""How coins read on screens: the cashback rate in words, as the points form shows the point
value ("3 monedas por cada 100 COP")."""

from decimal import Decimal

from django.utils.translation import ngettext

from lealtad.core.money import display_amount
from lealtad.network.models import Merchant


def rate_in_words(merchant: Merchant) -> str:
    """Whole coins per the smallest round amount (100, 1 000, 10 000…) that earns a whole
    number of them: 0.03 → 3 per 100; 0.0125 → 125 per 10 000."""
    rate = merchant.cashback_rate
    base = Decimal(100)
    while (rate * base) != (rate * base).to_integral_value() and base < Decimal(10) ** 6:
        base *= 10
    coins = int(rate * base)
    return ngettext(
        "%(coins)s coin for every %(amount)s %(currency)s",
        "%(coins)s coins for every %(amount)s %(currency)s",
        coins,
    ) % {
        "coins": coins,
        "amount": display_amount(base, merchant.country, merchant.currency),
        "currency": merchant.currency,
    }
