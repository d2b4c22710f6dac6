"""A7 in the customer's app: the claims sent and their answer, and the form to send one."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from lealtad.app.auth import customer_required
from lealtad.claims import actions
from lealtad.claims.forms import ClaimForm
from lealtad.core.errors import LealtadError


@customer_required
def claim_list(request):
    claims = actions.customer_claims(request.customer)
    rows = [(claim, actions.outcome(claim)) for claim in claims]
    return render(request, "claims/app_list.html", {"rows": rows})


@customer_required
def claim_new(request):
    form = ClaimForm(request.POST or None, request.FILES or None, customer=request.customer)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                actions.submit_claim(
                    customer=request.customer,
                    merchant_id=data["merchant"],
                    branch_id=data["branch"],
                    invoice_number=data["invoice_number"],
                    amount=data["amount"],
                    purchased_on=data["purchased_on"],
                    photo=data["photo"],
                )
            except LealtadError as exc:
                form.add_refusal(exc)
            else:
                messages.success(
                    request,
                    _("Claim sent. The merchant will review it and you will see the answer here."),
                )
                return redirect("app:claims")
        status = 422
    return render(
        request,
        "claims/app_new.html",
        {"form": form},
        status=status,
    )
