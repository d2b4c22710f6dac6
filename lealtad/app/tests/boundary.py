"""Issue 14's customer boundary: customer A's world (one of every object a customer owns) and
customer B, a customer of another merchant who must never reach any of it. Shared by
lealtad/app/tests/test_boundary_screens.py and lealtad/api/tests/test_boundary_me.py, and with
the walkers of the OpenAPI schema and the URLconf, by issue 16's matrix (lealtad/core/tests/)."""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone

from lealtad.app.testing import second_customer
from lealtad.coins import vouchers
from lealtad.coins.tests.promo_helpers import acceptor, customer_with_coins, promotion
from lealtad.core import testing
from lealtad.customers.models import Customer, Membership
from lealtad.ledger import actions as ledger
from lealtad.offers.actions import offer_gift
from lealtad.ratings.actions import rate_visit

# Words only A's world holds: none of them may be on a page or in an answer given to B.
A_COMMENT = "Comentario-privado-de-Ana"
A_INVOICE = "RECLAMO-ANA-1"


@dataclass
class World:
    shop: object  # A's merchant (a coin acceptor), lealtad.network.actions.CreatedMerchant
    a: Customer
    b: Customer
    ids: dict  # URL kwarg / path parameter name → A's object id
    markers: list = field(default_factory=list)  # A's data, as text, that B must never see


def _visit(shop, customer, number):
    return ledger.accrue_points(
        merchant=shop.merchant,
        customer=customer,
        amount=Decimal(20_000),
        branch=shop.branch,
        invoice_number=number,
        now=timezone.now() - dt.timedelta(hours=1),
    ).transaction


def build_world(settings, tmp_path) -> World:
    """A: a member of a coin-accepting shop with coins, a visit to rate, a rated visit, a gift
    offered, a coin voucher bought and a purchase claim sent. B: a member of another merchant."""
    from lealtad.claims import testing as pictures
    from lealtad.claims.actions import submit_claim
    from lealtad.offers.promotions import local_date

    settings.PRIVATE_MEDIA_ROOT = tmp_path
    shop = acceptor()
    a = customer_with_coins(shop, amount=1000)
    a.first_name, a.last_name = "Anastasia", "Boundary"
    a.save(update_fields=["first_name", "last_name"])
    membership = Membership.objects.get(customer=a, merchant=shop.merchant)
    unrated = _visit(shop, a, "F-ANA-1")
    rating = rate_visit(_visit(shop, a, "F-ANA-2"), score=4, comment=A_COMMENT)
    offer = offer_gift(gift=testing.make_gift(shop, "points"), membership=membership, note="")
    product = promotion(shop, price=10)
    voucher = vouchers.buy_in_app(product.pk, customer=a)
    claim = submit_claim(
        customer=a,
        merchant_id=shop.merchant.pk,
        branch_id=shop.branch.pk,
        invoice_number=A_INVOICE,
        amount=Decimal("30000"),
        purchased_on=local_date(shop.merchant, timezone.now()),
        photo=pictures.photo("PNG"),
    )
    b = second_customer()
    ids = {
        "merchant_id": shop.merchant.pk,
        "offer_id": offer.pk,
        "transaction_id": unrated.pk,
        "rating_id": rating.pk,
        "promotion_id": product.pk,
        "voucher_id": voucher.pk,
        "claim_id": claim.pk,
    }
    markers = [
        "Anastasia",
        a.document_number,
        a.email,
        A_COMMENT,
        A_INVOICE,
        str(unrated.pk),
        str(rating.pk),
        str(offer.pk),
        str(voucher.pk),
        voucher.code,
        str(claim.pk),
    ]
    return World(shop=shop, a=a, b=b, ids=ids, markers=[m for m in markers if m])


def leaked(text: str, world: World) -> list[str]:
    """A's words found in `text` (a page or an answer given to B)."""
    return [m for m in world.markers if m in text]


def a_state(world) -> tuple:
    """What B's POSTs could change of A's: the conversation, the gift, the consents, the rating."""
    from lealtad.customers.models import ConsentRecord
    from lealtad.offers.models import GiftOffer
    from lealtad.ratings.models import Message, Rating

    return (
        Message.objects.filter(rating_id=world.ids["rating_id"]).count(),
        GiftOffer.objects.get(pk=world.ids["offer_id"]).status,
        ConsentRecord.objects.filter(membership__customer=world.a).count(),
        Rating.objects.filter(transaction_id=world.ids["transaction_id"]).exists(),
    )


# --- the walkers: every operation of the OpenAPI schema, every URL pattern --------------------

API_PREFIX = "/api/v1"
# Operations that need no credential, and why.
API_PUBLIC = {
    ("POST", "/auth/token"): "the staff's sign-in",
    ("POST", "/auth/customer/code"): "the customer's sign-in: the code is sent",
    ("POST", "/auth/customer/token"): "the customer's sign-in: the code becomes a token",
}


def operations():
    """Every (METHOD, path without /api/v1, its OpenAPI operation)."""
    from lealtad.api.api import api

    schema = api.get_openapi_schema()
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            yield method.upper(), path.removeprefix(API_PREFIX), op


def is_me(path: str) -> bool:
    return path == "/me" or path.startswith("/me/")


def is_problem(response, *statuses) -> bool:
    return response.status_code in statuses and response["Content-Type"].startswith(
        "application/problem+json"
    )
