"""A2: the app's home (the wallet and every membership) and a membership's history."""

from django.shortcuts import render

from lealtad.app import queries
from lealtad.app.auth import customer_required
from lealtad.app.scoped import not_found_is_404


@customer_required
def home(request):
    return render(request, "app/home.html", {"home": queries.home(request.customer)})


@customer_required
@not_found_is_404
def membership(request, merchant_id):
    found = queries.membership_for(request.customer, merchant_id)
    lines, page = queries.points_history(found, request.GET.get("page") or 1)
    return render(
        request,
        "app/membership.html",
        {
            "membership": found,
            "merchant": found.merchant,
            "points": queries.points_of(found),
            "lines": lines,
            "page": page,
        },
    )
