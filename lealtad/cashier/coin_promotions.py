"""R3 at the till: "Promociones con monedas". The list is on an acceptor's customer card
(`lealtad.coins.promotions.till_card`); taking one asks the cashier to confirm, then pays for it
with the same coin payment as an invoice (`lealtad.coins.purchases.buy_promotion`): the coins
held and a unit reserved, the code sent to the customer, typed on the till's coin payment page
(`cashier.coin_payments`) with "Reenviar código", "Cancelar" and the printable receipt, as for any
coin payment."""

from django.http import Http404
from django.shortcuts import redirect

from lealtad.cashier.views import _customer_context, _once, _page, staff_view
from lealtad.coins import promotions
from lealtad.coins.purchases import buy_promotion
from lealtad.core.errors import LealtadError
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
    """GET: the confirm step for one promotion on sale. POST: start its coin payment and go on
    to the code step; a refusal (sold out meanwhile, not enough coins, the document not
    checked…) is said in the dialog, and nothing is held."""
    membership = customers.get_membership_for(request.merchant, customer_id)
    context = _customer_context(request, membership)
    if request.method != "POST":
        context.update(coin_confirm=_row(context, promotion_id)["promotion"])
        return _page(request, "cashier/customer.html", **context)
    promotion = promotions.get_promotion(promotion_id, merchant=request.merchant)

    def start():
        payment = buy_promotion(
            promotion.pk,
            merchant=request.merchant,
            customer=membership.customer,
            branch=request.branch,
            staff=request.user,
            document_checked=bool(request.POST.get("document_checked")),
        )
        return str(payment.pk)

    try:
        # A double click or a resend of the form starts one payment, not two.
        payment_id = _once(request, "coin_promotions_started", start)
    except LealtadError as exc:
        context = _customer_context(request, membership)
        context.update(coin_confirm=promotion, coin_confirm_error=str(exc.detail))
        return _page(request, "cashier/customer.html", **context)
    # The same page as any coin payment: the code step, resend, cancel, the receipt.
    return redirect("cashier:coin_payment", payment_id=payment_id)
