"""CSV cells a spreadsheet will not run (CSV injection, OWASP): shared by every export."""

import re

# A spreadsheet may run a cell starting with one of these as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# ... but a plain signed number (a debit, an E.164 mobile) is only ever a number.
PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def cell(value) -> str:
    """The text of a CSV cell; a leading apostrophe disarms what could run as a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if text.startswith(FORMULA_START) and not PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text
