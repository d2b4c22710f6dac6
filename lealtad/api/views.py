"""How the API renders customers, rewards and transactions for the calling merchant."""

from datetime import timedelta

from django.utils import timezone

from lealtad.customers import completeness
from lealtad.customers.lookup import Found
from lealtad.customers.models import Customer, Membership
from lealtad.ledger import ledger
from lealtad.ledger.models import Account, Transaction
from lealtad.network.models import Merchant
from lealtad.network.service_lines import suspension_notice
from lealtad.program.models import Reward

EXPIRING_WINDOW = timedelta(days=30)


def points_of(
    membership: Membership | None, now=None, fresh_account: Account | None = None
) -> dict:
    """The membership's points; `fresh_account` is its account row when the caller has just
    loaded it with the membership (a search), which saves a query."""
    if membership is None:
        return {"available": 0, "pending": 0, "expiring_30d": 0}
    now = now or timezone.now()
    if membership.holder_id:  # a dependent's points live in the holder's account
        fresh_account = None
    account_id = membership.spending_account_id
    b = ledger.balances(account_id, now, now + EXPIRING_WINDOW, fresh_account)
    return {"available": b["available"], "pending": b["pending"], "expiring_30d": b["expiring"]}


def coins_of(customer: Customer) -> dict:
    """The network wallet: {"available", "held", "expiring_30d"} (lealtad.coins)."""
    from lealtad.coins.actions import wallet_of

    return wallet_of(customer)


def customer_out(
    membership: Membership | None,
    customer: Customer,
    merchant: Merchant,
    fresh_account: Account | None = None,
) -> dict:
    return _member_out(
        customer,
        merchant,
        points=points_of(membership, fresh_account=fresh_account),
        coins=coins_of(customer),
        category=(
            {"id": str(membership.category_id), "name": membership.category.name}
            if membership
            else None
        ),
        blocked=bool(membership and membership.blocked),
    )


def found_out(found: Found, merchant: Merchant) -> dict:
    """`customer_out` of a member `lookup.lookup` found, from the figures its one query read."""
    return _member_out(
        found.customer,
        merchant,
        points=found.points,
        coins=found.coins,
        category={"id": found.category_id, "name": found.category_name},
        blocked=found.blocked,
    )


def _member_out(
    customer: Customer, merchant: Merchant, *, points, coins, category, blocked
) -> dict:
    missing = completeness.missing_fields(customer, merchant)
    return {
        "id": str(customer.pk),
        # Only members get this shape; a search shows others as a masked card (member: false).
        "member": True,
        "document_type": customer.document_type,
        "document_number": customer.document_number,
        "country": customer.country,
        "email": customer.email,
        "mobile": customer.mobile,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "city": customer.city,
        "gender": customer.gender,
        "birth_date": customer.birth_date,
        # C4: complete as this merchant asks it (its CEP and address, the person type's rule).
        "profile_complete": not missing,
        "missing_fields": missing,
        "points": points,
        "coins": coins,
        "category": category,
        "blocked": blocked,
        "suspended": customer.suspended,
        "suspension_message": (
            suspension_notice(customer, merchant) if customer.suspended else None
        ),
    }


def reward_rows(
    merchant: Merchant, membership: Membership | None, available: int | None = None, now=None
) -> list[dict]:
    """The merchant's prizes on offer today, each against the points `available` (the
    membership's, looked up when the caller has not just read them)."""
    from lealtad.ledger.actions import reward_available

    now = now or timezone.now()
    if available is None:
        available = points_of(membership, now)["available"]
    rows = []
    for reward in Reward.objects.filter(merchant=merchant, active=True):
        if not reward_available(reward, now):
            continue
        missing = max(reward.points_cost - available, 0)
        rows.append(
            {
                "id": str(reward.pk),
                "name": reward.name,
                "description": reward.description,
                "points_cost": reward.points_cost,
                "stock": reward.stock,
                "affordable": missing == 0 and reward.stock != 0,
                "points_missing": missing,
            }
        )
    return rows


def transaction_out(txn: Transaction) -> dict:
    return {
        "id": str(txn.pk),
        "kind": txn.kind,
        "status": txn.status,
        "points": txn.points,
        "balance": txn.balance_after,
        "at": txn.posted_at or txn.created_at,
        "customer_id": str(txn.customer_id),
        "reverses": str(txn.reverses_id) if txn.reverses_id else None,
        "reason": txn.reason,
        "invoice_number": txn.invoice_number,
        "branch_id": str(txn.branch_id) if txn.branch_id else None,
    }
