"""R3 at the till: "Promociones con monedas". The list is on an acceptor's customer card
(`lealtad.coins.promotions.till_card`); taking one asks the cashier to confirm, then pays for it
with the same coin payment as an invoice (`lealtad.coins.purchases.buy_promotion`): the coins
held and a unit reserved, the code sent to the customer, typed here to pay; "Reenviar código"
and "Cancelar" as for any coin payment; a receipt the till prints."""

from django.http import Http404
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from lealtad.cashier.views import _customer_context, _once, _page, staff_view
from lealtad.coins import payments, promotions
from lealtad.coins.models import PaymentStatus
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
    return redirect(
        "cashier:coin_promotion_payment", customer_id=membership.customer_id, payment_id=payment_id
    )


def _payment(request, membership, payment_id):
    payment = payments.get_payment(payment_id, merchant=request.merchant)
    if payment.customer_id != membership.customer_id or payment.promotion_id is None:
        raise Http404
    return payment


def _payment_page(request, membership, payment, **extra):
    context = _customer_context(request, membership)
    context.update(coin_payment=payment, coin_payment_promotion=payment.promotion, **extra)
    return _page(request, "cashier/customer.html", **context)


@staff_view
def coin_promotion_payment(request, customer_id, payment_id):
    """The code step (awaiting the code), the receipt (paid) or why it was cancelled."""
    membership = customers.get_membership_for(request.merchant, customer_id)
    return _payment_page(request, membership, _payment(request, membership, payment_id))


@staff_view
@require_POST
def coin_promotion_payment_action(request, customer_id, payment_id, action):
    membership = customers.get_membership_for(request.merchant, customer_id)
    payment = _payment(request, membership, payment_id)
    extra = {}
    try:
        if action == "confirm":
            payment = payments.confirm_payment(
                payment.pk, merchant=request.merchant, code=request.POST.get("code", "")[:12]
            )
        elif action == "resend":
            payment = payments.resend_code(payment.pk, merchant=request.merchant)
            extra["coin_code_resent"] = True
        elif action == "cancel":
            payment = payments.cancel_payment(payment.pk, merchant=request.merchant)
        else:
            raise Http404
    except LealtadError as exc:
        extra["coin_code_error"] = str(exc.detail)
        payment = payments.get_payment(payment.pk, merchant=request.merchant)
    if payment.status == PaymentStatus.CANCELLED and action == "cancel":
        return redirect("cashier:customer", customer_id=membership.customer_id)
    return _payment_page(request, membership, payment, **extra)
