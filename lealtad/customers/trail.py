"""The memberships' changes in the audit trail (issue 16), in the change's transaction."""

from lealtad.audit import actions as audit
from lealtad.audit.models import Action
from lealtad.customers.models import Membership


def card_fields(membership: Membership) -> dict:
    return {
        "card_number": membership.card_number,
        "redeem_policy": membership.redeem_policy,
        "holder": str(membership.holder_id) if membership.holder_id else None,
        "category": str(membership.category_id) if membership.category_id else None,
    }


def record(action, membership: Membership, before, after) -> None:
    audit.record(
        action,
        merchant=membership.merchant,
        target=membership.customer,
        label=str(membership.customer)[:200],
        customer_id=membership.customer_id,
        before=before,
        after=after,
    )


def anonymised(customer, memberships: list[Membership], by, now, personal: set[str]) -> None:
    """C12: the customer's personal values leave the trail; each merchant's entry says so."""
    audit.redact_customer(customer, personal, str(customer)[:200])
    for m in memberships:
        audit.record(
            Action.CUSTOMER_ANONYMISE,
            merchant=m.merchant_id,
            target=customer,
            label=str(customer)[:200],
            customer_id=customer.pk,
            after={"fields": sorted(personal)},
            staff=by,
            now=now,
        )
