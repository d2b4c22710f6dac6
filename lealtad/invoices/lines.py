"""The POS's line items of an invoice, kept for "Ver factura" (I3): checked, never guessed."""

from decimal import Decimal

from django.utils.translation import gettext as _

from lealtad.core import money
from lealtad.core.errors import ValidationFailed
from lealtad.core.money import InvalidAmount

MAX_LINES = 200
MAX_DESCRIPTION = 200
_FIELDS = ("description", "quantity", "unit_price", "amount")


def _decimal(value, field: str, index: int, currency: str, *, positive: bool) -> str:
    """A plain decimal as the POS sent it ("2", "1.5", 3), returned as a string for JSON."""
    if isinstance(value, bool) or not isinstance(value, (int, str, Decimal)):
        raise _error(index, field, _("A number such as 2 or 1.5."))
    try:
        if positive:
            parsed = money.parse_amount(value, currency)
        else:
            parsed = Decimal(str(value).strip())
            if not parsed.is_finite() or parsed <= 0 or parsed > 10**9:
                raise InvalidAmount(_("A number above zero."))
            if parsed.as_tuple().exponent < -3:
                raise InvalidAmount(_("At most three decimals."))
    except (InvalidAmount, ArithmeticError, ValueError) as exc:
        message = str(exc) if isinstance(exc, InvalidAmount) else _("A number such as 2 or 1.5.")
        raise _error(index, field, message) from None
    return str(parsed)


def _error(index: int, field: str, message: str) -> ValidationFailed:
    return ValidationFailed([{"field": f"lines[{index}].{field}", "message": message}])


def clean_lines(lines, currency: str) -> list[dict]:
    """At most 200 lines of {"description", "quantity", "unit_price", "amount"}, each optional
    but the description; amounts in the merchant's currency; descriptions capped."""
    if lines is None:
        return []
    if not isinstance(lines, (list, tuple)):
        raise ValidationFailed([{"field": "lines", "message": _("A list of line items.")}])
    if len(lines) > MAX_LINES:
        raise ValidationFailed(
            [
                {
                    "field": "lines",
                    "message": _("At most %(max)d line items.") % {"max": MAX_LINES},
                }
            ]
        )
    cleaned = []
    for index, line in enumerate(lines):
        if not isinstance(line, dict):
            raise _error(index, "description", _("Each line item is an object."))
        unknown = sorted(set(line) - set(_FIELDS))
        if unknown:
            raise _error(index, unknown[0], _("Unknown field."))
        description = line.get("description")
        if not isinstance(description, str) or not description.strip():
            raise _error(index, "description", _("Describe the line item."))
        item = {"description": " ".join(description.split())[:MAX_DESCRIPTION]}
        if line.get("quantity") is not None:
            item["quantity"] = _decimal(
                line["quantity"], "quantity", index, currency, positive=False
            )
        for field in ("unit_price", "amount"):
            if line.get(field) is not None:
                item[field] = _decimal(line[field], field, index, currency, positive=True)
        cleaned.append(item)
    return cleaned
