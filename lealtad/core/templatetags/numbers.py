"""`{% load numbers %}`: the filters of lealtad.core.numbers, so templates never print a Decimal
as it is."""

from django import template

from lealtad.core import numbers

register = template.Library()

register.filter("points", numbers.format_points)
register.filter("number", numbers.format_number)
register.filter("percent", numbers.format_percent)
register.filter("multiplier", numbers.format_multiplier)
register.filter("rate", numbers.format_rate)


@register.filter
def money(amount, merchant_or_currency=""):
    """{{ amount|money:merchant }} as written in the merchant's country, or
    {{ amount|money:"BRL" }} in the screen's language."""
    if hasattr(merchant_or_currency, "country"):
        merchant = merchant_or_currency
        return numbers.format_money(amount, merchant.currency, merchant.country)
    return numbers.format_money(amount, merchant_or_currency)
