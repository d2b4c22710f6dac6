"""Bonus credits (C9 welcome bonus, gifts) and the points' expiry date: ledger primitives only,
so that registration (customers.actions) can grant a bonus without importing the value-move
modules that import it back (the old customers <-> ledger import circle)."""

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _

from lealtad.customers.models import Membership
from lealtad.ledger import ledger
from lealtad.ledger.models import Kind, Transaction
from lealtad.network.models import Merchant


def points_expiry(membership: Membership, merchant: Merchant, now) -> dt.datetime:
    days = membership.category.validity_days or merchant.points_validity_days
    return now + dt.timedelta(days=days)


def grant_welcome_bonus(membership: Membership, branch, staff, now=None) -> int:
    """C9: the merchant's welcome bonus, once per membership (inside the registration)."""
    now = now or timezone.now()
    merchant = membership.merchant
    points = merchant.welcome_bonus_points
    if points <= 0:
        return 0
    credit_bonus(
        membership, points, _("Welcome bonus"), branch, staff, now, account_id=membership.account_id
    )
    return points


def credit_bonus(
    membership: Membership, points: int, reason: str, branch, staff, now, account_id=None
) -> Transaction:
    """A posted bonus (welcome bonus, points gift): a new lot with the membership's validity.
    By default into the account that spends for this membership (the holder's, C8)."""
    account = ledger.lock_account(account_id or membership.spending_account_id)
    txn = Transaction.objects.create(
        account_id=account.id,
        kind=Kind.BONUS,
        points=points,
        balance_after=account.balance + points,
        merchant=membership.merchant,
        branch=branch,
        staff=staff,
        customer_id=membership.customer_id,
        reason=reason[:300],
        created_at=now,
        posted_at=now,
    )
    ledger.credit(account, txn, points, points_expiry(membership, membership.merchant, now), now)
    return txn
