"""What `/api/v1/me/*` answers (API.md "The customer's own API"), built on the same queries as
the screens, so the app and the API never disagree."""

from django.utils import timezone
from django.utils.translation import gettext as _

from lealtad.app import queries
from lealtad.app.qr_views import payment_qr, qr_svg
from lealtad.core.errors import NotFound
from lealtad.customers.actions import qr_payload


def _balance(b: queries.Balance, held_name: str = "pending") -> dict:
    return {
        "available": b.available,
        held_name: b.pending,
        "expiring_30d": b.expiring,
        "expiring_from": b.expires_at,
    }


def memberships_out(customer, now=None) -> dict:
    now = now or timezone.now()
    data = queries.home(customer, now)
    results = []
    for section in queries.offers(customer, data.memberships, now):
        results.append(
            {
                "merchant": {"id": str(section.merchant.pk), "name": section.merchant.name},
                "points": _balance(section.points),
                "prizes": [
                    {
                        "id": str(p.reward.pk),
                        "name": p.reward.name,
                        "description": p.reward.description,
                        "points_cost": p.reward.points_cost,
                        "stock": p.reward.stock,
                        "affordable": p.affordable,
                        "points_missing": p.points_missing,
                    }
                    for p in section.prizes
                ],
                "claimed": [
                    {
                        "transaction_id": str(t.pk),
                        "reward_id": str(t.reward_id) if t.reward_id else None,
                        "name": t.reward.name if t.reward_id else "",
                        "points": t.cost,
                        "at": t.posted_at,
                    }
                    for t in section.claimed
                ],
                "promotions": [
                    {
                        "id": str(p.pk),
                        "name": p.name,
                        "description": p.description,
                        "kind": p.kind,
                        "starts_on": p.starts_on,
                        "ends_on": p.ends_on,
                    }
                    for p in section.promotions
                ],
                "gifts": [
                    {
                        "id": str(o.pk),
                        "name": o.gift.name,
                        "kind": o.gift.kind,
                        "summary": str(o.gift.summary),
                        "points": o.gift.points,
                        "note": o.note,
                        "valid_until": o.valid_until,
                        "acceptable_in_app": o.acceptable_in_app,
                    }
                    for o in section.gifts
                ],
            }
        )
    return {"coins": _balance(data.coins, "held"), "results": results}


def movements_out(customer, merchant_id=None, coins=False, page=1, size=25) -> dict:
    """One page of the points history at `merchant_id`, or of the coin wallet (`coins`)."""
    if coins:
        lines, paged = queries.coins_history(customer, page, size=size)
    elif merchant_id:
        membership = queries.membership_for(customer, merchant_id)
        lines, paged = queries.points_history(membership, page, size=size)
    else:
        raise NotFound(_("Say which merchant (merchant_id), or coins=true."))
    return {
        "results": [
            {
                "id": line.id,
                "at": line.at,
                "kind": line.kind,
                "label": line.label,
                "points": line.points,
                "balance": line.balance,
                "place": line.place,
            }
            for line in lines
        ],
        "page": paged.number,
        "next_page": paged.next_page_number() if paged.has_next() else None,
    }


def qr_out(customer) -> dict:
    payload = qr_payload(customer)
    return {"payload": payload, "svg": qr_svg(payload)}


def payment_qr_out(customer) -> dict | None:
    found = payment_qr(customer)
    if found is None:
        return None
    return {"payload": found["payload"], "svg": found["svg"], "expires_at": found["expires_at"]}
