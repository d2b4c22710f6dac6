"""Money and points arithmetic, in one place.

Money is Decimal with the currency's minor units; points and coins are integers, always rounded
down (a customer never gets a fraction of a point, and we never invent one).
"""

from decimal import ROUND_DOWN, Decimal, InvalidOperation

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


def parse_amount(value, currency: str) -> Decimal:
    """A positive amount with no more decimals than the currency has."""
    if isinstance(value, float):
        raise InvalidAmount(_("Send the amount as a decimal string, not a float."))
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise InvalidAmount(_("The amount is not a number.")) from exc
    if not amount.is_finite():
        raise InvalidAmount(_("The amount is not a number."))
    if amount <= 0:
        raise InvalidAmount(_("The amount must be greater than zero."))
    if amount > MAX_AMOUNT:
        raise InvalidAmount(_("The amount is too large."))
    places = minor_units(currency)
    if amount.as_tuple().exponent < -places and amount != amount.quantize(
        Decimal(1).scaleb(-places)
    ):
        raise InvalidAmount(
            _("%(currency)s amounts have at most %(places)d decimals.")
            % {"currency": currency, "places": places}
        )
    return amount.quantize(Decimal(1).scaleb(-places))


def format_amount(amount: Decimal, currency: str) -> str:
    return str(amount.quantize(Decimal(1).scaleb(-minor_units(currency))))


def points_for(amount: Decimal, point_value: Decimal, multiplier: Decimal = Decimal(1)) -> int:
    """P2: floor(amount / point value) × multiplier, rounded down."""
    base = (amount / point_value).to_integral_value(rounding=ROUND_DOWN)
    return int((base * multiplier).to_integral_value(rounding=ROUND_DOWN))


def coins_for(amount: Decimal, cashback_rate: Decimal) -> int:
    """K2: amount × cashback rate, rounded down to whole coins."""
    return int((amount * cashback_rate).to_integral_value(rounding=ROUND_DOWN))


def normalise_typed_amount(text: str) -> str:
    """An amount as a cashier types it, into a decimal string: "25.500" and "25,500" are
    twenty-five thousand five hundred (Latin American thousands separators), "1.250.000,50" and
    "1,250,000.50" carry cents, "25,5" is twenty-five and a half."""
    value = (text or "").strip().replace(" ", "").replace("$", "")
    if "." in value and "," in value:
        decimal_sep = "." if value.rfind(".") > value.rfind(",") else ","
        thousands = "," if decimal_sep == "." else "."
        return value.replace(thousands, "").replace(decimal_sep, ".")
    for sep in (".", ","):
        if sep in value:
            head, *groups = value.split(sep)
            if groups and all(len(g) == 3 and g.isdigit() for g in groups) and head.isdigit():
                return value.replace(sep, "")  # thousands separators only
            return value.replace(",", ".")
    return value
