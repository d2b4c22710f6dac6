"""R3 at the till: "Promociones con monedas". The list is on an acceptor's customer card
(`lealtad.coins.promotions.till_card`); taking one asks the cashier to confirm, then pays for it
with the same coin payment as an invoice (held now, captured with the customer's code)."""

from django.http import Http404
from django.utils import timezone

from lealtad.cashier.views import _customer_context, _page, staff_view
from lealtad.customers import actions as customers


def _row(context, promotion_id):
    row = next(
        (r for r in context["coin_promotions"] if str(r["promotion"].pk) == str(promotion_id)),
        None,
    )
    if row is None:
        raise Http404  # not this merchant's, or no longer on sale
    return row


@staff_view
def coin_promotion(request, customer_id, promotion_id):
    membership = customers.get_membership_for(request.merchant, customer_id)
    context = _customer_context(request, membership)
    row = _row(context, promotion_id)
    context.update(coin_confirm=row["promotion"], now=timezone.now())
    return _page(request, "cashier/customer.html", **context)
