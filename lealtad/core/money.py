"""Money and points arithmetic, in one place.

Money is Decimal with the currency's minor units; points and coins are integers, always rounded
down (a customer never gets a fraction of a point, and we never invent one).
"""

import re
from decimal import ROUND_DOWN, ROUND_UP, Decimal

from django.utils.translation import gettext as _

# ISO 4217 minor units of the currencies the network trades in.
MINOR_UNITS = {
    "ARS": 2,
    "BOB": 2,
    "BRL": 2,
    "CLP": 0,
    "COP": 2,
    "CRC": 2,
    "DOP": 2,
    "EUR": 2,
    "GTQ": 2,
    "HNL": 2,
    "MXN": 2,
    "NIO": 2,
    "PAB": 2,
    "PEN": 2,
    "PYG": 0,
    "USD": 2,
    "UYU": 2,
    "VES": 2,
}

CURRENCY_BY_COUNTRY = {
    "AR": "ARS",
    "BO": "BOB",
    "BR": "BRL",
    "CL": "CLP",
    "CO": "COP",
    "CR": "CRC",
    "DO": "DOP",
    "EC": "USD",
    "GT": "GTQ",
    "HN": "HNL",
    "MX": "MXN",
    "NI": "NIO",
    "PA": "USD",
    "PE": "PEN",
    "PY": "PYG",
    "SV": "USD",
    "US": "USD",
    "UY": "UYU",
    "VE": "VES",
}

# Largest invoice amount we accept at all, whatever the currency: beyond it is a typo or an attack.
MAX_AMOUNT = Decimal("999999999999.99")


class InvalidAmount(ValueError):
    pass


def minor_units(currency: str) -> int:
    return MINOR_UNITS.get(currency, 2)


# Machine format (API, POS): digits, optionally a point and the decimals. No exponent, no sign, no
# separators: "1e6" is not a million and "25,5" is not twenty-five and a half.
_MACHINE = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,15})?")


def parse_amount(value, currency: str) -> Decimal:
    """A positive amount with no more decimals than the currency has: a Decimal, an int or a
    plain decimal string ("25000.00"). Anything else is refused, never guessed."""
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int) and not isinstance(value, bool):
        amount = Decimal(value)
    elif isinstance(value, str) and _MACHINE.fullmatch(value.strip()):
        amount = Decimal(value.strip())
    else:
        raise InvalidAmount(_("The amount is not a number such as 25000.00."))
    return _checked(amount, currency)


def _checked(amount: Decimal, currency: str) -> Decimal:
    if not amount.is_finite():
        raise InvalidAmount(_("The amount is not a number such as 25000.00."))
    if amount <= 0:
        raise InvalidAmount(_("The amount must be greater than zero."))
    if amount > MAX_AMOUNT:
        raise InvalidAmount(_("The amount is too large."))
    places = minor_units(currency)
    quantum = Decimal(1).scaleb(-places)
    if amount != amount.quantize(quantum, rounding=ROUND_DOWN):
        raise InvalidAmount(
            _("%(currency)s amounts have at most %(places)d decimals.")
            % {"currency": currency, "places": places}
        )
    return amount.quantize(quantum)


# How people write amounts in each country: (thousands separator, decimal separator, decimals
# typed at a till). Where the currency's cents are not used in daily life (Colombian, Chilean and
# Paraguayan pesos) nobody types decimals, so either separator can only be grouping thousands.
NUMBER_FORMATS = {
    "AR": (".", ",", None),
    "BO": (".", ",", None),
    "BR": (".", ",", None),
    "CL": (".", ",", 0),
    "CO": (".", ",", 0),
    "CR": (".", ",", None),
    "EC": (".", ",", None),
    "PY": (".", ",", 0),
    "UY": (".", ",", None),
    "VE": (".", ",", None),
}
US_STYLE = (",", ".", None)  # Mexico, Central America, Panama, Peru, Dominican Republic, US
_CURRENCY_MARKS = re.compile(r"^(R\$|US\$|\$|[A-Z]{3})|([A-Z]{3})$")


def number_format(country: str, currency: str) -> tuple[str, str, int]:
    group, decimal, typed = NUMBER_FORMATS.get(country, US_STYLE)
    return group, decimal, minor_units(currency) if typed is None else typed


def display_amount(amount: Decimal, country: str, currency: str, up: bool = False) -> str:
    """An amount written as people of `country` write it: 1.234.567 (CO), 1.234,56 (BR),
    1,234.56 (PA). `up` rounds up to what can be typed (a minimum must stay reachable)."""
    group, decimal, places = number_format(country, currency)
    quantum = Decimal(1).scaleb(-places)
    value = amount.quantize(quantum, rounding=ROUND_UP if up else ROUND_DOWN)
    whole, _sep, cents = f"{value:f}".partition(".")
    whole = f"{int(whole):,}".replace(",", group)
    return f"{whole}{decimal}{cents}" if cents else whole


def parse_typed_amount(text: str, country: str, currency: str) -> Decimal:
    """An amount as a person types it in `country`, or InvalidAmount saying how to type it.

    Thousands may be grouped (in threes) or not; decimals only with that country's separator and
    no more than people use there. "1e6", "25,5" in Colombia and "1,234.56" in Brazil are refused.
    """
    group, decimal, places = number_format(country, currency)
    value = re.sub(r"\s", "", str(text or ""))
    value = _CURRENCY_MARKS.sub("", value.upper())
    example = display_amount(Decimal(25000 if places == 0 else "1234.56"), country, currency)
    groups = [group] if places else [group, decimal]
    for sep in groups:
        # Only one separator style per number; the decimal separator only where decimals exist.
        tail = rf"({re.escape(decimal)}[0-9]{{1,{places}}})?" if places else ""
        pattern = rf"([0-9]+|[0-9]{{1,3}}({re.escape(sep)}[0-9]{{3}})+){tail}"
        match = re.fullmatch(pattern, value)
        if match:
            whole = match.group(1).replace(sep, "")
            cents = match.group(3)[1:] if places and match.group(3) else ""
            return _checked(Decimal(f"{whole}.{cents}" if cents else whole), currency)
    if places == 0 and re.fullmatch(r"[0-9]+([.,][0-9]{3})*[.,][0-9]{1,2}", value):
        raise InvalidAmount(
            _("%(currency)s amounts are typed without decimals, as %(example)s.")
            % {"currency": currency, "example": example}
        )
    raise InvalidAmount(_("Type the amount as %(example)s.") % {"example": example})


def format_amount(amount: Decimal, currency: str) -> str:
    return str(amount.quantize(Decimal(1).scaleb(-minor_units(currency))))


def points_for(amount: Decimal, point_value: Decimal, multiplier: Decimal = Decimal(1)) -> int:
    """P2: floor(amount / point value) × multiplier, rounded down."""
    base = (amount / point_value).to_integral_value(rounding=ROUND_DOWN)
    return int((base * multiplier).to_integral_value(rounding=ROUND_DOWN))


def coins_for(amount: Decimal, cashback_rate: Decimal) -> int:
    """K2: amount × cashback rate, rounded down to whole coins."""
    return int((amount * cashback_rate).to_integral_value(rounding=ROUND_DOWN))


def minimum_for_points(point_value: Decimal, multiplier: Decimal = Decimal(1)) -> Decimal:
    """The smallest amount that earns one point: point value × the whole purchases of one point
    value it takes for the multiplier to reach a whole point (one, for any multiplier >= 1)."""
    if multiplier <= 0:
        raise ValueError("a multiplier must be greater than zero")
    units = max(1, int((Decimal(1) / multiplier).to_integral_value(rounding=ROUND_UP)))
    while points_for(point_value * units, point_value, multiplier) < 1:
        units += 1
    return point_value * units


def minimum_for_coins(cashback_rate: Decimal, currency: str) -> Decimal:
    """The smallest amount (in the currency's minor units) whose cashback is one whole coin."""
    quantum = Decimal(1).scaleb(-minor_units(currency))
    minimum = (Decimal(1) / cashback_rate).quantize(quantum, rounding=ROUND_UP)
    while coins_for(minimum, cashback_rate) < 1:
        minimum += quantum
    return minimum
