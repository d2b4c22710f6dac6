"""Issue 16: a merchant's world in which every field a person types holds a script payload, put
there through the product's own actions (a field whose validator refuses the payload is listed
in `refused`, with the refusal). Shared by lealtad/core/tests/test_browser_xss.py.

Each payload sets `window.__xss` if it ever runs, and would leave an element the page did not
write (`script`, `img[src=x]`, `svg[onload]`, an `a[href^=javascript:]`) if it were not escaped.
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone

from lealtad.core.errors import LealtadError

SCRIPT = "<script>window.__xss=1</script>"
IMG = '"><img src=x onerror="window.__xss=1;alert(1)">'
SVG = "'><svg onload=window.__xss=1>"
JS_URL = "javascript:window.__xss=1"
PAYLOADS = (SCRIPT, IMG, SVG)
# What a page shows of a payload when it escaped it: the payload's own text.
VISIBLE = ("window.__xss=1",)


def hostile(n: int) -> str:
    """The n-th field's value: one of the payloads (short: names are capped at 60-120 chars)."""
    return PAYLOADS[n % len(PAYLOADS)]


@dataclass
class World:
    shop: object  # lealtad.network.actions.CreatedMerchant (a coin acceptor)
    cashier: object
    customer: object
    ids: dict  # URL kwarg name -> an object of this merchant's whose fields hold payloads
    rate_token: str
    stored: list = field(default_factory=list)  # "model.field" holding a payload
    refused: dict = field(default_factory=dict)  # "model.field" -> the validator's answer


def _try(world, name, make):
    """Run `make()` (an action given a payload); a validator's refusal is recorded, not fatal."""
    try:
        result = make()
    except (LealtadError, ValueError) as exc:
        world.refused[name] = str(getattr(exc, "errors", exc))
        return None
    world.stored.append(name)
    return result


def build(settings, tmp_path) -> World:
    from lealtad.claims import testing as pictures
    from lealtad.claims.actions import reject_claim, submit_claim
    from lealtad.coins.tests.promo_helpers import acceptor, customer_with_coins, promotion
    from lealtad.core import testing
    from lealtad.customers import actions as customers
    from lealtad.customers.models import Membership
    from lealtad.invoices.actions import record_invoice
    from lealtad.ledger import actions as ledger
    from lealtad.network.actions import create_api_key
    from lealtad.offers.actions import create_gift, offer_gift
    from lealtad.offers.promotions import local_date
    from lealtad.program.models import Category
    from lealtad.ratings import actions as ratings
    from lealtad.ratings.links import make_token
    from lealtad.webhooks.actions import create_endpoint

    settings.PRIVATE_MEDIA_ROOT = tmp_path
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    shop = acceptor()
    merchant = shop.merchant
    now = timezone.now()
    # Names with no action of their own are typed in the console's forms (ModelForms): saved so.
    merchant.name, merchant.address = f"{SCRIPT} {merchant.pk}", IMG
    merchant.save(update_fields=["name", "address"])
    shop.branch.name, shop.branch.address = IMG, SVG
    shop.branch.save(update_fields=["name", "address"])
    cashier = testing.make_cashier(shop)
    cashier.first_name, cashier.last_name = SVG, SCRIPT
    cashier.save(update_fields=["first_name", "last_name"])
    customer = customer_with_coins(shop, amount=1000)
    world = World(shop, cashier, customer, ids={}, rate_token="")
    world.stored += ["Merchant.name", "Merchant.address", "Branch.name", "Branch.address"]
    world.stored += ["User.first_name", "User.last_name"]
    profile = {"first_name": SCRIPT, "last_name": IMG, "city": SVG, "address": SCRIPT}
    _try(world, "Customer.names/city/address", lambda: customers.update_profile(customer, profile))
    _try(world, "Customer.email", lambda: customers.update_profile(customer, {"email": IMG}))
    membership = Membership.objects.get(customer=customer, merchant=merchant)
    category = Category.objects.create(merchant=merchant, name=SVG, description=SCRIPT)
    world.stored.append("Category.name/description")
    reward = testing.make_reward(shop, cost=10, name=IMG)
    reward.description = SVG
    reward.save(update_fields=["description"])
    world.stored.append("Reward.name/description")
    promo = testing.make_promotion(shop, name=SCRIPT, description=IMG, bonus_points=10)
    world.stored.append("Promotion.name/description")
    gift = _try(
        world,
        "Gift.name/description",
        lambda: create_gift(merchant, kind="points", name=SVG, description=SCRIPT, points=5),
    )
    offer = _try(
        world,
        "GiftOffer.note",
        lambda: offer_gift(gift=gift, membership=membership, staff=shop.admin, note=IMG),
    )
    coin_promo = promotion(shop, price=10, name=SCRIPT, description=SVG)
    world.stored.append("CoinPromotion.name/description")

    def accrue(number, hours):
        return ledger.accrue_points(
            merchant=merchant,
            customer=customer,
            amount=Decimal(20_000),
            branch=shop.branch,
            staff=cashier,
            invoice_number=number,
            now=now - dt.timedelta(hours=hours),
        ).transaction

    visit = _try(world, "Transaction.invoice_number", lambda: accrue(SVG, 3))
    visit = visit or accrue("F-XSS-1", 3)
    rated = accrue("F-XSS-2", 2)
    reversed_ = accrue("F-XSS-3", 1)
    _try(
        world,
        "Transaction.reason (reversal)",
        lambda: ledger.reverse_transaction(
            merchant=merchant, transaction_id=reversed_.pk, reason=SCRIPT, staff=shop.admin
        ),
    )
    # A held accrual (P9) in the approval queue, its invoice number a payload.
    from lealtad.program.models import FraudRule, RuleKind

    FraudRule.objects.create(merchant=merchant, kind=RuleKind.MAX_INVOICE_AMOUNT, limit=50_000)
    held = _try(
        world,
        "Transaction.invoice_number (held)",
        lambda: ledger.accrue_points(
            merchant=merchant,
            customer=customer,
            amount=Decimal(90_000),
            branch=shop.branch,
            invoice_number=f"{IMG} 2",
            now=now,
        ),
    )
    assert held is None or held.transaction.status == "pending", held.transaction.status
    rating = ratings.rate_visit(rated, score=3, comment="")
    rating = (
        _try(
            world,
            "Rating.comment",
            lambda: ratings.rate_visit(accrue("F-XSS-4", 1), score=2, comment=IMG),
        )
        or rating
    )
    _try(
        world,
        "Message.body (merchant reply)",
        lambda: ratings.reply(rating, body=SVG, staff=shop.admin),
    )
    _try(
        world, "Message.body (customer reply)", lambda: ratings.customer_reply(rating, body=SCRIPT)
    )
    _try(
        world,
        "AutoReply.subject/body",
        lambda: ratings.save_auto_reply(merchant, subject=IMG, body=SVG, enabled=True),
    )
    _try(
        world,
        "Membership.blocked_reason",
        lambda: customers.block_membership(testing_member(shop), SVG),
    )
    _try(
        world,
        "Customer.suspension_message",
        lambda: customers.suspend_customer(testing.make_customer(shop).customer, SCRIPT),
    )
    endpoint = _try(
        world,
        "Endpoint.description",
        lambda: create_endpoint(
            merchant,
            url="http://127.0.0.1:9/hook",
            events=["accrual.posted"],
            description=IMG,
            staff=shop.admin,
        ),
    )
    _try(
        world,
        "ApiKey.name",
        lambda: create_api_key(merchant, shop.branch, name=SVG, created_by=shop.admin),
    )
    claim = None
    for number in (IMG, "RECLAMO-XSS-1"):
        claim = (
            _try(
                world,
                f"Claim.invoice_number {number[:6]}",
                lambda n=number: submit_claim(
                    customer=customer,
                    merchant_id=merchant.pk,
                    branch_id=shop.branch.pk,
                    invoice_number=n,
                    amount=Decimal("30000"),
                    purchased_on=local_date(merchant, now),
                    photo=pictures.photo("PNG"),
                ),
            )
            or claim
        )
    rejected = _try(
        world,
        "Claim.invoice_number (rejected)",
        lambda: submit_claim(
            customer=customer,
            merchant_id=merchant.pk,
            branch_id=shop.branch.pk,
            invoice_number="RECLAMO-XSS-2",
            amount=Decimal("30000"),
            purchased_on=local_date(merchant, now),
            photo=pictures.photo("PNG"),
        ),
    )
    _try(
        world,
        "Claim.reason (rejection)",
        lambda: reject_claim(merchant=merchant, claim_id=rejected.pk, reason=SVG, staff=shop.admin),
    )
    invoice = _try(
        world,
        "Invoice.invoice_number (POS)",
        lambda: record_invoice(
            merchant=merchant, branch=shop.branch, invoice_number=SCRIPT, amount="15000", now=now
        ),
    )
    invoice = invoice or record_invoice(
        merchant=merchant, branch=shop.branch, invoice_number="POS-XSS-1", amount="15000", now=now
    )
    world.ids = {
        "customer_id": customer.pk,
        "merchant_id": merchant.pk,
        "branch_id": shop.branch.pk,
        "user_id": cashier.pk,
        "category_id": category.pk,
        "reward_id": reward.pk,
        "promotion_id": promo.pk,
        "gift_id": gift.pk if gift else None,
        "offer_id": offer.pk if offer else None,
        "transaction_id": visit.pk,
        "rating_id": rating.pk,
        "endpoint_id": endpoint[0].pk if endpoint else None,
        "claim_id": claim.pk if claim else None,
        "invoice_id": invoice[0].pk,
        "coin_promotion_id": coin_promo.pk,
    }
    from lealtad.coins import vouchers

    voucher = vouchers.buy_in_app(coin_promo.pk, customer=customer)
    world.ids["voucher_id"] = voucher.pk
    _try(
        world,
        "Endpoint.url (javascript:)",
        lambda: create_endpoint(merchant, url=JS_URL, events=["accrual.posted"], staff=shop.admin),
    )
    world.rate_token = make_token(visit.pk)
    return world


def testing_member(shop):
    from lealtad.core import testing
    from lealtad.customers.models import Membership

    made = testing.make_customer(shop, first_name=IMG, last_name=SVG)
    return Membership.objects.get(customer=made.customer, merchant=shop.merchant)
