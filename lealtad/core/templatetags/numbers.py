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
def money(amount, currency=""):
    return numbers.format_money(amount, currency)
