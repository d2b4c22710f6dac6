"""Mark and unmark a favourite merchant. Both are idempotent: marking twice keeps one row (the
unique constraint decides, not a lookup first), unmarking what is not marked does nothing."""

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from lealtad.core.errors import NotFound
from lealtad.core.ids import parse_id
from lealtad.customers.models import Customer
from lealtad.favourites.models import Favourite
from lealtad.network.models import Merchant


def network_merchant(merchant_id) -> Merchant:
    """An active merchant of the network, as a customer may see it; NotFound otherwise."""
    try:
        return Merchant.objects.get(pk=parse_id(merchant_id), active=True)
    except Merchant.DoesNotExist:
        raise NotFound(_("Merchant not found.")) from None


def mark_favourite(customer: Customer, merchant: Merchant, now=None) -> Favourite:
    now = now or timezone.now()
    try:
        with transaction.atomic():
            return Favourite.objects.create(customer=customer, merchant=merchant, created_at=now)
    except IntegrityError:
        return Favourite.objects.get(customer=customer, merchant=merchant)


def unmark_favourite(customer: Customer, merchant: Merchant) -> bool:
    """True when a favourite was removed."""
    deleted, _rows = Favourite.objects.filter(customer=customer, merchant=merchant).delete()
    return bool(deleted)


def toggle_favourite(customer: Customer, merchant: Merchant, on: bool, now=None) -> bool:
    """Set the favourite to `on`; the state afterwards."""
    if on:
        mark_favourite(customer, merchant, now)
    else:
        unmark_favourite(customer, merchant)
    return on


def favourite_ids(customer: Customer) -> set:
    return set(Favourite.objects.filter(customer=customer).values_list("merchant_id", flat=True))


def is_favourite(customer: Customer, merchant: Merchant) -> bool:
    return Favourite.objects.filter(customer=customer, merchant=merchant).exists()
