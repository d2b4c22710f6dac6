"""Ratings for the inbox's tests: a real accrual (the visit), rated through the action, then
dated where the test wants it (the merchant's clock, Bogotá)."""

import datetime as dt
import itertools
import zoneinfo
from decimal import Decimal

from lealtad.customers.models import Customer
from lealtad.ledger import actions as ledger
from lealtad.ratings import actions
from lealtad.ratings.models import Message, Rating

BOGOTA = zoneinfo.ZoneInfo("America/Bogota")
_invoices = itertools.count(1)


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
    rating = actions.rate_visit(visit, score=score, comment=comment)
    Rating.objects.filter(pk=rating.pk).update(created_at=when)
    rating.refresh_from_db()
    return rating


def customer_says(rating, body: str, when: dt.datetime | None = None):
    """A customer's answer on the conversation, not yet read by the merchant."""
    return Message.objects.create(
        rating=rating, author="customer", body=body, created_at=when or rating.created_at
    )
