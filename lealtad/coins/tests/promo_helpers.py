"""Shared set-up for the coin promotion tests (R3): an acceptor, a customer with coins."""

import datetime as dt
from decimal import Decimal

from django.test import Client
from django.utils import timezone

from lealtad.claims.testing import photo
from lealtad.coins import actions as coins
from lealtad.coins.models import CoinPromotion
from lealtad.core import testing

# A real picture: uploads are checked by Pillow (issue 16), not by their first bytes.
PNG = photo("PNG")


def acceptor(**extra):
    return testing.make_merchant("Librería", coin_acceptor=True, **extra)


def customer_with_coins(shop, amount=1000, complete=True):
    """A member of `shop` holding `amount` coins, earned at an issuer (rate 0.1)."""
    issuer = testing.make_merchant("Café", coin_issuer=True, cashback_rate="0.1")
    member = testing.make_customer(shop, complete=complete)
    if amount:
        coins.earn_coins(
            merchant=issuer.merchant, customer=member.customer, amount=Decimal(amount * 10)
        )
    return member.customer


def promotion(shop, price=100, stock=None, days=(-1, 30), **fields):
    now = timezone.now()
    n = CoinPromotion.objects.count() + 1
    return CoinPromotion.objects.create(
        merchant=shop.merchant,
        name=fields.pop("name", f"Libro {n}"),
        coins_price=price,
        stock=stock,
        starts_at=now + dt.timedelta(days=days[0]),
        ends_at=now + dt.timedelta(days=days[1]),
        **fields,
    )


def client_for(user):
    client = Client()
    client.force_login(user)
    return client
