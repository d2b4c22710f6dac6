"""The one gate for every way out of the program (C4, C11, P6, R1, R2, K3, P7).

Prizes, free items, gifts, and payments with coins or points all ask `check_exit` before they
move anything, so a rule added here holds for every exit at once. It raises a typed error whose
`code` is the reason: `customer_suspended` (the operator's network-wide suspension),
`customer_blocked` (this merchant's block, or the holder's for a dependent), `forbidden` (a
dependent whose holder does not share), `profile_incomplete` (with the missing fields, by name
for machines and by label for people).
"""

from django.utils.translation import gettext as _

from lealtad.core.errors import CustomerBlocked, Forbidden, ProfileIncomplete
from lealtad.customers import completeness
from lealtad.customers.models import Customer, Membership, RedeemPolicy
from lealtad.network.service_lines import suspended


class Exit:
    """What leaves the program; carried in errors so a caller can tell which exit was refused."""

    REWARD = "reward"
    FREE_ITEM = "free_item"
    GIFT = "gift"
    COIN_PAYMENT = "coin_payment"
    POINTS_PAYMENT = "points_payment"


def check_exit(membership: Membership, exit: str = Exit.REWARD) -> None:
    """Refuse, with the reason, a customer who may not take anything out at this merchant."""
    customer = membership.customer
    _check_not_suspended(customer, membership.merchant)
    if membership.blocked:
        raise CustomerBlocked(membership.blocked_reason or None, exit=exit)
    if membership.holder_id:
        if membership.holder.blocked:
            raise CustomerBlocked(membership.holder.blocked_reason or None, exit=exit)
        if membership.holder.redeem_policy != RedeemPolicy.ALL_CARDS:
            raise Forbidden(_("Only the card holder may redeem these points."), exit=exit)
    _check_complete(customer, membership.merchant, exit)


def check_coin_exit(customer: Customer, merchant) -> None:
    """K3: coins are the network's, so a customer who never joined this merchant may pay with
    them; if they did join, this merchant's block holds for coins as for prizes."""
    membership = (
        Membership.objects.select_related("customer", "merchant", "holder")
        .filter(customer=customer, merchant=merchant)
        .first()
    )
    if membership is not None:
        check_exit(membership, Exit.COIN_PAYMENT)
        return
    _check_not_suspended(customer, merchant)
    _check_complete(customer, merchant, Exit.COIN_PAYMENT)


def _check_not_suspended(customer: Customer, merchant) -> None:
    if customer.suspended:
        # The operator's message and the service line of the customer's country (issue 9).
        raise suspended(customer, merchant)


def _check_complete(customer: Customer, merchant, exit: str) -> None:
    missing = completeness.missing_fields(customer, merchant)
    if missing:
        labels = [completeness.label(name, customer.person_type) for name in missing]
        raise ProfileIncomplete(
            _("Complete the profile first. Missing: %(fields)s.") % {"fields": ", ".join(labels)},
            missing_fields=missing,
            missing_labels=labels,
            exit=exit,
        )
