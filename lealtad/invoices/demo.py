"""The demo's POS invoices (`lealtad demo`): at the café's main branch two wait for their
customer, so the till's panel shows something, and one loaded for a regular. Idempotent: the
same numbers again are the same invoices."""

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from lealtad.customers.models import Customer
from lealtad.invoices.actions import record_invoice
from lealtad.network.models import Merchant

INVOICES = [
    # (number, amount, minutes ago, lines, for a regular)
    (
        "POS-CH-0001",
        "18500.00",
        90,
        [("Capuchino", 2, "6500.00"), ("Croissant", 1, "5500.00")],
        True,
    ),
    ("POS-CH-0002", "32000.00", 12, [("Café de origen 500 g", 1, "32000.00")], False),
    ("POS-CH-0003", "14000.00", 3, [("Latte", 1, "7000.00"), ("Pandebono", 2, "3500.00")], False),
]


def _lines(items) -> list[dict]:
    return [
        {
            "description": name,
            "quantity": str(quantity),
            "unit_price": price,
            "amount": str(quantity * Decimal(price)),
        }
        for name, quantity, price in items
    ]


def load_demo(cafe: Merchant | None) -> None:
    if cafe is None:
        return
    branch = cafe.branches.order_by("created_at").first()
    regular = (
        Customer.objects.filter(memberships__merchant=cafe, profile_complete=True, suspended=False)
        .order_by("created_at")
        .first()
    )
    now = timezone.now()
    for number, amount, minutes, items, loaded in INVOICES:
        if loaded and regular is None:
            continue
        record_invoice(
            merchant=cafe,
            branch=branch,
            invoice_number=number,
            amount=amount,
            lines=_lines(items),
            customer=regular if loaded else None,
            now=now - dt.timedelta(minutes=minutes),
        )
