"""Numbers as people read them, in one place: points, money, percentages and multipliers in the
active language's separators (es and pt-BR: "1.250,5"; en: "1,250.5").

A Decimal printed as it is shows its internals: `Decimal("10").normalize()` is "1E+1" and a limit
of one is "1.00". Screens, e-mails and messages go through these functions (or the template
filters of the same names, builtins in every template), never through str() or normalize().
A fraud rule's limit is FraudRule.shown_limit(); amounts people type are parsed by
money.parse_typed_amount, the reverse of money.display_amount.
"""

from decimal import Decimal, InvalidOperation

from django.utils import formats
from django.utils.translation import get_language

from lealtad.core.money import minor_units


def _decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _places(value: Decimal, most: int) -> int:
    """How many decimals `value` needs, at most `most`: 10.00 needs none, 1.50 needs one."""
    value = value.quantize(Decimal(1).scaleb(-most))
    for places in range(most + 1):
        if value == value.quantize(Decimal(1).scaleb(-places)):
            return places
    return most


def format_number(value, most_places: int = 2) -> str:
    """A plain number with the language's separators and no trailing zeros."""
    number = _decimal(value)
    if number is None:
        return "" if value is None else str(value)
    places = _places(number, most_places)
    return formats.number_format(
        number.quantize(Decimal(1).scaleb(-places)), places, use_l10n=True, force_grouping=True
    )


def format_points(value) -> str:
    """Points are whole: 1250 → "1.250"."""
    number = _decimal(value)
    if number is None:
        return "" if value is None else str(value)
    return formats.number_format(int(number), 0, use_l10n=True, force_grouping=True)


def format_money(amount, currency: str = "", country: str | None = None) -> str:
    """An amount in the currency's minor units, without ",00" when it is whole: "25.000 COP",
    "12,5 BRL". With the merchant's country, as people write it there (money.display_amount:
    "1,234.56 USD" in Panamá), whatever the screen's language."""
    number = _decimal(amount)
    if number is None:
        return ""
    if country:
        from lealtad.core.money import display_amount

        return f"{display_amount(number, country, currency)} {currency}".strip()
    text = format_number(number, minor_units(currency) if currency else 2)
    return f"{text} {currency}" if currency else text


def format_percent(value) -> str:
    """10 → "10 %" (Spanish writes a space before the sign) or "10%" (Portuguese, English)."""
    number = _decimal(value)
    if number is None:
        return ""
    text = format_number(number, 2)
    if (get_language() or "").lower().startswith("es"):
        return f"{text}\u00a0%"  # a no-break space: the sign never wraps onto its own line
    return f"{text}%"


def format_multiplier(value) -> str:
    """A points multiplier: 2 → "×2", 1.5 → "×1,5"."""
    number = _decimal(value)
    if number is None:
        return ""
    return f"×{format_number(number, 2)}"


def format_rate(value) -> str:
    """A fraction shown as a percentage: a cashback rate of 0.02 → "2 %"."""
    number = _decimal(value)
    if number is None:
        return ""
    return format_percent(number * 100)


def trimmed(value):
    """A Decimal without trailing zeros and never in exponent form, for a form's initial value:
    1.00 → 1, 12.50 → 12.5 (normalize() would make 10 into 1E+1)."""
    number = _decimal(value)
    if number is None:
        return value
    return number.quantize(Decimal(1).scaleb(-_places(number, max(-number.as_tuple().exponent, 0))))
