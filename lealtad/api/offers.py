"""R1 free items and R2 gifts through the API: the same actions as the till, so the same exit
gate (customers/gate.py) answers a blocked, suspended or incomplete customer with problem+json."""

from ninja import Router, Schema, Status

from lealtad.api import schemas as s
from lealtad.api.auth import merchant_actor
from lealtad.api.views import points_of
from lealtad.customers import actions as customers
from lealtad.offers import actions as offers

router = Router(tags=["offers"])
PROBLEMS = {code: s.Problem for code in (400, 401, 403, 404, 409, 422, 429)}


class TakeIn(Schema):
    customer_id: s.Id
    branch_id: s.Id | None = None


class FreeItemOut(Schema):
    id: int
    promotion_id: str
    customer_id: str
    item: str


class GiftRedemptionOut(Schema):
    id: str
    gift_id: str
    customer_id: str
    status: str
    points: int
    transaction_id: str | None
    balance: s.Balance


def _branch(actor, branch_id):
    # api.py adds this router at its end, so its helpers are imported when called.
    from lealtad.api.api import _branch as branch_of

    return branch_of(actor, branch_id)


@router.post("/promotions/{promotion_id}/uses", response={201: FreeItemOut, **PROBLEMS})
def take_free_item(request, promotion_id: str, payload: TakeIn):
    """R1: hand over a free-item promotion to a customer (counts one use)."""
    actor = merchant_actor(request)
    branch = _branch(actor, payload.branch_id)
    membership = customers.get_membership_for(actor.merchant, payload.customer_id)
    use = offers.give_free_item(
        membership=membership, promotion_id=promotion_id, branch=branch, staff=actor.user
    )
    body = {
        "id": use.pk,
        "promotion_id": str(use.promotion_id),
        "customer_id": str(membership.customer_id),
        "item": use.promotion.item,
    }
    return Status(201, body)


@router.post("/gift-offers/{offer_id}/redemption", response={201: GiftRedemptionOut, **PROBLEMS})
def redeem_gift(request, offer_id: str, payload: TakeIn):
    """R2: the customer takes a gift offered to them; a points gift is credited at once."""
    actor = merchant_actor(request)
    branch = _branch(actor, payload.branch_id)
    membership = customers.get_membership_for(actor.merchant, payload.customer_id)
    offer = offers.redeem_gift(
        membership=membership, offer_id=offer_id, branch=branch, staff=actor.user
    )
    points = points_of(membership)
    body = {
        "id": str(offer.pk),
        "gift_id": str(offer.gift_id),
        "customer_id": str(membership.customer_id),
        "status": offer.status,
        "points": offer.gift.points or 0,
        "transaction_id": str(offer.transaction_id) if offer.transaction_id else None,
        "balance": {"available": points["available"], "pending": points["pending"]},
    }
    return Status(201, body)
