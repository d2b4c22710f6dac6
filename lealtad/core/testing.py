"""Factories for tests: Alice runs merchant A, Carol is A's cashier, Charlie runs merchant B and
should see nothing of A."""

import itertools
from decimal import Decimal

from stdnum.br import cpf

from lealtad.customers.actions import register_customer
from lealtad.network.actions import create_merchant, create_staff, issue_token
from lealtad.program.models import Reward

PASSWORD = "correct-horse-battery"
_seq = itertools.count(1)


def make_merchant(name="Café Aroma", country="CO", point_value="1000", admin=None, **extra):
    n = next(_seq)
    # F1's rating invitations are off in this shared factory: the tests that count a merchant's
    # e-mails count what they test. The ratings tests switch them on.
    extra.setdefault("rating_invite", False)
    return create_merchant(
        name=f"{name} {n}",
        country=country,
        point_value=Decimal(point_value),
        admin_username=admin or f"admin{n}",
        admin_password=PASSWORD,
        **extra,
    )


def make_cashier(new_merchant, username=None):
    return create_staff(
        merchant=new_merchant.merchant,
        username=username or f"cashier{next(_seq)}",
        password=PASSWORD,
        role="cashier",
        branch=new_merchant.branch,
    )


def token_for(user) -> str:
    return issue_token(user)[0]


def colombian_document() -> str:
    return str(10_000_000 + next(_seq) * 7919)


def brazilian_cpf() -> str:
    base = f"{(next(_seq) * 104729) % 10**9:09d}"
    return base + cpf._calc_check_digits(base)


def complete_profile(n=None) -> dict:
    n = n or next(_seq)
    return {
        "email": f"cliente{n}@example.com",
        "mobile": f"+57300{n:07d}",
        "first_name": "Ana",
        "last_name": f"Gómez {n}",
        "gender": "F",
        "birth_date": "1990-05-17",
        "city": "Bogotá",
    }


def make_customer(new_merchant, complete=True, welcome_bonus=False, **profile):
    n = next(_seq)
    data = complete_profile(n) if complete else {"email": f"quick{n}@example.com"}
    data.update(profile)
    return register_customer(
        merchant=new_merchant.merchant,
        branch=new_merchant.branch,
        staff=None,
        document_type="CC",
        document_number=colombian_document(),
        country="CO",
        profile=data,
        welcome_bonus=welcome_bonus,
    )


def make_reward(new_merchant, cost=100, stock=None, name=None):
    return Reward.objects.create(
        merchant=new_merchant.merchant,
        name=name or f"Café gratis {next(_seq)}",
        points_cost=cost,
        stock=stock,
    )


def make_promotion(new_merchant, kind="bonus", days=(0, 30), **fields):
    """A promotion running today (merchant time) unless `days` says otherwise."""
    import datetime as dt

    from django.utils import timezone

    from lealtad.offers.models import Promotion
    from lealtad.offers.promotions import local_date

    merchant = new_merchant.merchant
    today = local_date(merchant, timezone.now())
    members = fields.pop("members", [])
    categories = fields.pop("categories", [])
    promo = Promotion.objects.create(
        merchant=merchant,
        name=fields.pop("name", f"Promo {next(_seq)}"),
        kind=kind,
        starts_on=today + dt.timedelta(days=days[0]),
        ends_on=today + dt.timedelta(days=days[1]),
        **fields,
    )
    promo.members.set(members)
    promo.categories.set(categories)
    return promo


def make_gift(new_merchant, kind="points", **fields):
    from lealtad.offers.models import Gift

    defaults = {"points": 50} if kind == "points" else {}
    if kind == "discount":
        defaults = {"discount_percent": Decimal("15")}
    defaults.update(fields)
    return Gift.objects.create(
        merchant=new_merchant.merchant,
        name=defaults.pop("name", f"Regalo {next(_seq)}"),
        kind=kind,
        **defaults,
    )
