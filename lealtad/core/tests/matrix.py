"""Issue 16's tenancy and roles matrix: the world both matrix tests walk, and its credentials.

Merchant A (a coin acceptor, built on issue 14's customer world, lealtad/app/tests/boundary.py)
holds one object of every kind that has an id in a URL or a path; merchant B holds the same kinds
of its own. The credentials: no token, an expired staff token, a revoked POS key, a made-up token,
A's admin, cashier and POS key, B's admin, cashier and POS key, a customer's token, the operator
and a partner key. `ids` names A's objects by URL kwarg / path parameter; `markers` is A's data as
text, which no answer given to B's credentials (nor to the operator on the API) may hold.
"""

import json
import re
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from django.test import Client
from django.utils import timezone

from lealtad.app.testing import bearer
from lealtad.app.tests.boundary import build_world
from lealtad.coins import actions as coins
from lealtad.core import testing
from lealtad.network.actions import create_api_key, revoke_api_key
from lealtad.network.models import ApiKey, StaffToken, User

INVOICE = "MATRIZ-FACTURA-{}-1"  # A's and B's POS invoice
A_INVOICE = INVOICE.format("A")
B_COMMENT = "Comentario-privado-de-Bernardina"
HOOK = "https://127.0.0.1:8639/matriz-{}"  # our port: nothing listens, nothing is sent


@dataclass
class Side:
    """One merchant's people and objects."""

    shop: object  # NewMerchant
    cashier: User
    customer: object
    ids: dict = field(default_factory=dict)


@dataclass
class Matrix:
    a: Side
    b: Side
    operator: User
    tokens: dict  # credential name → bearer secret (None: no Authorization header)
    markers: list  # A's words and ids: never in an answer to B or the operator
    boundary: object  # issue 14's World (customer A's objects)
    b_markers: list = field(default_factory=list)  # B's: never in an answer to A


def _api(client, method, path, body=None):
    response = client.generic(
        method,
        "/api/v1" + path,
        json.dumps(body) if body is not None else "",
        content_type="application/json",
    )
    assert response.status_code < 300, (method, path, response.status_code, response.content)
    return response.json() if response.content else {}


def _objects(shop, customer, cashier, suffix: str) -> dict:
    """Through the API and the till, as the merchant's own staff: every kind of object."""
    admin = Client(headers={"Authorization": f"Bearer {testing.token_for(shop.admin)}"})
    till = Client(headers={"Authorization": f"Bearer {testing.token_for(cashier)}"})
    pos = Client(headers={"Authorization": f"Bearer {shop.api_key}"})
    cid = str(customer.pk)
    type(shop.merchant).objects.filter(pk=shop.merchant.pk).update(
        points_as_money=True, point_money_value=Decimal("10")
    )
    visit = _api(till, "POST", "/accruals", {"customer_id": cid, "amount": "90000"})
    change = _api(
        till, "POST", f"/customers/{cid}/contact-changes", {"email": f"nuevo-{suffix}@example.com"}
    )
    hook = _api(
        admin,
        "POST",
        "/webhooks",
        {"url": HOOK.format(suffix), "events": ["accrual.posted"], "description": "m"},
    )
    delivery = _api(admin, "POST", f"/webhooks/{hook['id']}/test")
    invoice = _api(
        pos, "POST", "/invoices", {"invoice_number": INVOICE.format(suffix), "amount": "5"}
    )
    coin_pay = _api(
        till,
        "POST",
        "/coin-payments",
        {"customer_id": cid, "invoice_amount": "30000", "coins": 10, "document_checked": True},
    )
    point_pay = _api(
        till,
        "POST",
        "/point-payments",
        {"customer_id": cid, "invoice_amount": "1000", "points": 1, "document_checked": True},
    )
    reward = testing.make_reward(shop, cost=1, name=f"Premio-matriz-{suffix}")
    free = testing.make_promotion(shop, kind="free_item", item="Café")
    gift = testing.make_gift(shop, "points", name=f"Regalo-matriz-{suffix}")
    key, _secret = create_api_key(shop.merchant, shop.branch, name=f"Caja-{suffix}")
    remote = Client()
    remote.force_login(cashier)
    started = remote.post(f"/cashier/c/{cid}/redeem/{reward.pk}/remote/")
    assert started.status_code == 302, started.content[:300]
    remote_id = started["Location"].rstrip("/").rsplit("/", 1)[-1]
    ids = {
        "customer_id": cid,
        "change_id": change["id"],
        "transaction_id": visit["id"],
        "endpoint_id": hook["id"],
        "delivery_id": delivery["id"],
        "invoice_id": invoice["id"],
        "coin_payment_id": coin_pay["id"],
        "point_payment_id": point_pay["id"],
        "reward_id": str(reward.pk),
        "promotion_id": str(free.pk),
        "gift_id": str(gift.pk),
        "key_id": str(key.pk),
        "user_id": str(cashier.pk),
        "branch_id": str(shop.branch.pk),
        "category_id": str(customer.memberships.get(merchant=shop.merchant).category_id),
        "remote_id": remote_id,
    }
    return ids


def build(settings, tmp_path) -> Matrix:
    settings.API_RATE_LIMIT = 0  # one credential makes a few hundred calls in a second here
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    world = build_world(settings, tmp_path)  # issue 14: customer A's rating, gift, voucher, claim
    shop_a = world.shop
    # Names no other object's name contains ("admin1" is in "admin12"): markers, as text.
    shop_a.merchant.name = "Comercio-A-matriz"
    shop_a.merchant.save(update_fields=["name"])
    shop_a.admin.username = "admin-a-matriz"
    shop_a.admin.save(update_fields=["username"])
    a = Side(shop_a, testing.make_cashier(shop_a, "cajero-a-matriz"), world.a)
    own = _objects(shop_a, world.a, a.cashier, "A")
    a.ids = {**world.ids, **own, "coin_promotion_id": world.ids["promotion_id"]}
    a.ids["document_number"] = world.a.document_number
    shop_b = testing.make_merchant(
        "Otro comercio",
        coin_acceptor=True,
        coin_issuer=True,
        cashback_rate="0.1",
        points_as_money=True,
        point_money_value=Decimal("10"),
    )
    shop_b.merchant.name = "Comercio-B-matriz"
    shop_b.merchant.save(update_fields=["name"])
    shop_b.admin.username = "admin-b-matriz"
    shop_b.admin.save(update_fields=["username"])
    member_b = testing.make_customer(shop_b, first_name="Bernardina")
    b = Side(shop_b, testing.make_cashier(shop_b, "cajero-b-matriz"), member_b.customer)
    coins.earn_coins(merchant=shop_b.merchant, customer=b.customer, amount=Decimal(10_000))
    b.ids = {**_objects(shop_b, b.customer, b.cashier, "B"), **_customer_objects(shop_b, b)}
    operator = User.objects.create_superuser("operador-matriz", "op@example.com", testing.PASSWORD)
    expired = testing.token_for(a.shop.admin)
    StaffToken.objects.filter(key_hash=StaffToken.hash(expired)).update(
        expires_at=timezone.now() - timezone.timedelta(minutes=1)
    )
    revoked_key, revoked = create_api_key(shop_a.merchant, shop_a.branch, name="Caja vieja")
    revoke_api_key(ApiKey.objects.get(pk=revoked_key.pk))
    tokens = {
        "nobody": None,
        "garbage": "lst_not-a-token",
        "expired": expired,
        "revoked_key": revoked,
        "a_admin": testing.token_for(shop_a.admin),
        "a_cashier": testing.token_for(a.cashier),
        "a_pos": shop_a.api_key,
        "b_admin": testing.token_for(shop_b.admin),
        "b_cashier": testing.token_for(b.cashier),
        "b_pos": shop_b.api_key,
        "customer": bearer(world.b)["Authorization"].removeprefix("Bearer "),
        "operator": testing.token_for(operator),
        "partner": _partner_key(),
    }
    markers = [
        *world.markers,
        shop_a.merchant.name,
        A_INVOICE,
        HOOK.format("A"),
        a.cashier.username,
        shop_a.admin.username,
        world.a.document_number,
    ]
    markers += [str(v) for k, v in a.ids.items() if len(str(v)) >= 8]
    b_markers = [
        shop_b.merchant.name,
        "Bernardina",
        B_COMMENT,
        INVOICE.format("B"),
        HOOK.format("B"),
        shop_b.admin.username,
        b.cashier.username,
        b.customer.document_number,
        b.customer.email,
        *[str(v) for v in b.ids.values() if len(str(v)) >= 8],
    ]
    b.ids["document_number"] = b.customer.document_number
    matrix = Matrix(a, b, operator, tokens, sorted({m for m in markers if m}), world)
    matrix.b_markers = sorted(set(b_markers))
    return matrix


def _customer_objects(shop, side) -> dict:
    """What issue 14's world gives A's customer, for B's: a rating, a gift offer, a coin
    promotion and a purchase claim."""
    from lealtad.app.tests.boundary import _visit
    from lealtad.claims import testing as pictures
    from lealtad.claims.actions import submit_claim
    from lealtad.coins.tests.promo_helpers import promotion
    from lealtad.customers.models import Membership
    from lealtad.offers.actions import offer_gift
    from lealtad.offers.promotions import local_date
    from lealtad.ratings.actions import rate_visit

    membership = Membership.objects.get(customer=side.customer, merchant=shop.merchant)
    rating = rate_visit(_visit(shop, side.customer, "F-B-2"), score=4, comment=B_COMMENT)
    offer = offer_gift(gift=testing.make_gift(shop, "points"), membership=membership, note="")
    claim = submit_claim(
        customer=side.customer,
        merchant_id=shop.merchant.pk,
        branch_id=shop.branch.pk,
        invoice_number="RECLAMO-B-1",
        amount=Decimal("30000"),
        purchased_on=local_date(shop.merchant, timezone.now()),
        photo=pictures.photo("PNG"),
    )
    return {
        "merchant_id": str(shop.merchant.pk),
        "rating_id": str(rating.pk),
        "offer_id": str(offer.pk),
        "coin_promotion_id": str(promotion(shop, price=10).pk),
        "claim_id": str(claim.pk),
    }


def _partner_key() -> str:
    from lealtad.coins.partners import create_partner, issue_partner_key

    return issue_partner_key(create_partner("Banco Matriz", Decimal("0.5")))[1]


def leaked(text: str, matrix: Matrix, of: str = "a") -> list[str]:
    """A's (or, of="b", B's) words and ids found in `text`."""
    return [m for m in (matrix.markers if of == "a" else matrix.b_markers) if m in text]


PARAM = re.compile(r"{(\w+)}")


def new_id() -> str:
    return str(uuid.uuid4())
