"""Shared set-up of the ratings tests: a café that invites to rate, a customer, a visit."""

from decimal import Decimal

from lealtad.core import testing
from lealtad.ledger import actions as ledger


def shop(**extra):
    extra.setdefault("rating_invite", True)
    extra.setdefault("email_on_join", False)
    return testing.make_merchant(**extra)


def visit(new_shop, member=None, amount="25000", now=None):
    member = member or testing.make_customer(new_shop).membership
    return ledger.accrue_points(
        merchant=new_shop.merchant,
        membership=member,
        branch=new_shop.branch,
        amount=Decimal(amount),
        now=now,
    ).transaction
