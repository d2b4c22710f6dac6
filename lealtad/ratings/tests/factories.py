"""Ratings for the inbox's tests: a real accrual (the visit), rated through the action at the
moment the test wants (the merchant's clock, Bogotá)."""

import datetime as dt
import itertools
import zoneinfo
from decimal import Decimal

from lealtad.customers.models import Customer
from lealtad.ledger import actions as ledger
from lealtad.ratings import actions

BOGOTA = zoneinfo.ZoneInfo("America/Bogota")
_invoices = itertools.count(1)


def make_shop(name="Café Aroma", admin=None):
    """A merchant whose visits do not invite to rate by e-mail: these tests rate directly."""
    from lealtad.core import testing
    from lealtad.network.models import Merchant

    shop = testing.make_merchant(name, admin=admin)
    Merchant.objects.filter(pk=shop.merchant.pk).update(rating_invite=False)
    shop.merchant.rating_invite = False
    return shop


def at(day: int, hour: int = 12, minute: int = 0, month: int = 3) -> dt.datetime:
    """A moment of 2026 on the merchant's (Bogotá's) clock."""
    return dt.datetime(2026, month, day, hour, minute, tzinfo=BOGOTA)


def named(registration, first: str, last: str):
    Customer.objects.filter(pk=registration.customer.pk).update(first_name=first, last_name=last)
    registration.customer.refresh_from_db()
    return registration


def rate(shop, registration, score: int, when: dt.datetime, comment: str = "", branch=None):
    visit = ledger.accrue_points(
        merchant=shop.merchant,
        customer=registration.customer,
        amount=Decimal(25_000),
        branch=branch or shop.branch,
        invoice_number=f"F-{next(_invoices)}",
        now=when,
    ).transaction
    return actions.rate_visit(visit, score=score, comment=comment, now=when)


def customer_says(rating, body: str, when: dt.datetime | None = None):
    """A customer's answer on the conversation, not yet read by the merchant."""
    return actions.customer_reply(rating, body=body, now=when or rating.created_at)
