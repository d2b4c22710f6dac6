"""A4: what the customer does with an offer in the app. Accepting a points gift is the R2
redemption itself (`offers.actions.redeem_gift`): the same conditional update, the same ledger
credit and webhook, with no branch and no cashier. Product and discount gifts are handed over at
the till, which checks them out of the same offer."""

from django.utils.translation import gettext as _

from lealtad.app import queries
from lealtad.core.errors import GiftUnavailable
from lealtad.customers.models import Customer
from lealtad.offers.actions import redeem_gift
from lealtad.offers.models import GiftOffer


def accept_gift(customer: Customer, offer_id, now=None) -> GiftOffer:
    """Take a points gift offered to `customer` (NotFound for anyone else's; GiftUnavailable
    when it is not a points gift, already taken or expired; the gate's errors when the customer
    may not take anything at that merchant)."""
    offer = queries.gift_offer_for(customer, offer_id)
    if not queries.acceptable(offer):
        raise GiftUnavailable(_("Show this gift at the till to receive it."))
    return redeem_gift(membership=offer.membership, offer_id=offer.pk, branch=None, now=now)
