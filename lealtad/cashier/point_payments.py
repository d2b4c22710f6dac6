"""The till's "Pagar con puntos" (P7): points off an invoice where the merchant takes points as
money. One form on the customer's card, a quote as it is typed (what the points are worth, the
most usable), one POST that pays at most once per form token, and a receipt the till prints."""

from decimal import Decimal

from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from lealtad.cashier import forms
from lealtad.cashier.views import _customer_context, _once, _page, _typed_amount, staff_view
from lealtad.core import inputs, money
from lealtad.core.errors import LealtadError, ValidationFailed
from lealtad.customers import actions as customers
from lealtad.ledger import point_payments


def _shown(merchant, amount: Decimal) -> str:
    return money.display_amount(amount, merchant.country, merchant.currency)


def _receipt(request, paid: point_payments.Paid) -> dict:
    """Plain values (kept in the session for a resend of the same form)."""
    merchant, txn, payment = request.merchant, paid.movement.transaction, paid.payment
    return {
        "id": str(txn.pk),
        "at": txn.created_at.isoformat(),
        "invoice_number": txn.invoice_number or "",
        "invoice_amount": _shown(merchant, payment.invoice_amount),
        "points": paid.points,
        "value": _shown(merchant, payment.value),
        "to_pay": _shown(merchant, payment.invoice_amount - payment.value),
        "balance": paid.movement.available,
    }


@staff_view
@require_POST
def pay(request, customer_id):
    membership = customers.get_membership_for(request.merchant, customer_id)
    try:
        point_payments.check_enabled(request.merchant)
    except LealtadError as exc:  # the setting went off since the card was drawn
        context = _customer_context(request, membership)
        return _page(request, "cashier/customer.html", **context, notice=str(exc.detail))
    form = forms.PayWithPointsForm(request.POST, prefix="pp")
    receipt = None
    if form.is_valid():
        data = form.cleaned_data
        try:
            amount = _typed_amount(request, data["amount"])

            def make():
                return _receipt(
                    request,
                    point_payments.pay_with_points(
                        membership=membership,
                        invoice_amount=amount,
                        points=data["points"],
                        invoice_number=data["invoice_number"],
                        branch=request.branch,
                        staff=request.user,
                        document_checked=data["document_checked"],
                    ),
                )

            receipt = _once(request, "points_paid", make)
        except money.InvalidAmount as exc:
            form.add_error("amount", str(exc))
        except ValidationFailed as exc:
            errors = [
                {**e, "field": "amount" if e["field"] == "invoice_amount" else e["field"]}
                for e in exc.errors
            ]
            forms.add_errors(form, errors)
        except LealtadError as exc:
            field = "points" if exc.code == "insufficient_points" else None
            form.add_error(field, str(exc.detail))
    context = _customer_context(request, membership)
    if receipt is None:
        context["pay_form"] = form
    else:
        context["points_receipt"] = receipt
    return _page(request, "cashier/customer.html", **context)


@staff_view
def quote(request, customer_id):
    """As the amount and the points are typed (HTMX): what the points are worth and the most
    this invoice takes, from the customer's balance."""
    membership = customers.get_membership_for(request.merchant, customer_id)
    merchant = request.merchant
    if not merchant.points_as_money:
        return redirect("cashier:customer", customer_id=membership.customer_id)
    from lealtad.api.views import points_of

    available = points_of(membership)["available"]
    context = {"error": None, "most": None, "value": None, "points": None}
    text = request.GET.get("pp-amount", "").strip()[:40]
    if text:
        try:
            amount = _typed_amount(request, text)
        except money.InvalidAmount as exc:
            context["error"] = str(exc)
        else:
            most = point_payments.max_points(merchant, amount, available)
            context.update(
                most=most, most_value=_shown(merchant, point_payments.value_of(merchant, most))
            )
    typed = request.GET.get("pp-points", "").strip()[:14]
    if inputs.is_number(typed) and int(typed) > 0:
        context.update(
            points=int(typed), value=_shown(merchant, point_payments.value_of(merchant, int(typed)))
        )
    context["currency"] = merchant.currency
    return render(request, "cashier/partials/points_quote.html", context)
