"""Invoice numbers (P2): one normal form, so that "F-1001", " f-1001 " and "F‑1001" typed at a
till and sent by a POS are the same invoice, and the same invoice is accrued once per merchant.

The number as typed is kept for people (statements, receipts); the key is what the database's
unique constraint compares. Only standing accruals hold their key: a rejected one frees it, a
reversed one keeps it (the record of what happened to that invoice stays whole, P8).
"""

import re
import unicodedata

MAX_LENGTH = 64
# Dashes people and POS systems type for "-": hyphen, non-breaking hyphen, figure dash, en/em dash,
# minus sign.
_DASHES = str.maketrans(dict.fromkeys("‐‑‒–—−", "-"))


def display_number(number: str | None) -> str | None:
    """The number as typed, trimmed and with runs of spaces made one (None when empty)."""
    text = " ".join((number or "").split())
    return text[:MAX_LENGTH] or None


def invoice_key(number: str | None) -> str | None:
    """The normal form compared for duplicates: compatibility-normalised (full-width digits are
    digits), dashes made one dash, case-folded, spaces trimmed and collapsed."""
    text = display_number(number)
    if text is None:
        return None
    text = unicodedata.normalize("NFKC", text).translate(_DASHES).casefold()
    return re.sub(r"\s+", " ", text).strip()[:MAX_LENGTH] or None


def lock_number(merchant_id, key: str | None) -> None:
    """Serialise, until the end of the current transaction, whoever takes this merchant's invoice
    number: a typed accrual and a POS invoice pushed at the same moment would otherwise each look
    for the other before either had committed, and both go through (a ghost waiting invoice for
    an accrued number). A PostgreSQL transaction-level advisory lock keyed on the number; SQLite
    writes one transaction at a time anyway. Taken before any row is written, always in this
    order (number, then rows), so it cannot deadlock with the unique indexes."""
    from django.db import connection

    if not key or connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
            [f"invoice:{merchant_id}:{key}"],
        )
