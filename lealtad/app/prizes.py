"""A4: prizes per merchant with the points still missing, prizes already claimed, the
promotions and gifts that reach this customer; accepting a points gift."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from lealtad.app import queries
from lealtad.app.auth import customer_required
from lealtad.app.offers import accept_gift
from lealtad.app.scoped import not_found_is_404
from lealtad.core.errors import LealtadError, NotFound


@customer_required
def prizes(request):
    """Every membership's prizes, promotions and gifts, one section per merchant."""
    data = queries.home(request.customer)
    sections = queries.offers(request.customer, data.memberships)
    following = queries.favourite_offers(request.customer)
    return render(request, "app/prizes.html", {"sections": sections, "following": following})


@customer_required
@not_found_is_404
def merchant_prizes(request, merchant_id):
    try:
        membership = queries.membership_for(request.customer, merchant_id)
    except NotFound:
        # Not a member: a favourite's offers still reach the customer (A6).
        section = queries.favourite_offers_at(request.customer, merchant_id)
    else:
        card = queries.MembershipCard(
            membership, membership.merchant, queries.points_of(membership)
        )
        (section,) = queries.offers(request.customer, [card])
    return render(request, "app/merchant_prizes.html", vars(section))


@require_POST
@customer_required
@not_found_is_404
def gift_accept(request, offer_id):
    try:
        offer = accept_gift(request.customer, offer_id)
    except NotFound:
        raise
    except LealtadError as exc:
        offer = queries.gift_offer_for(request.customer, offer_id)
        messages.error(request, str(exc.detail))
    else:
        messages.success(
            request,
            _("Gift accepted: %(gift)s.") % {"gift": offer.gift.summary},
        )
    return redirect("app:merchant_prizes", merchant_id=offer.membership.merchant_id)
