"""A2: the coin wallet's history with its running balance."""

from django.shortcuts import render

from lealtad.app import queries
from lealtad.app.auth import customer_required


def _page_number(request) -> int:
    try:
        return max(1, int(request.GET.get("page") or 1))
    except ValueError:
        return 1


@customer_required
def wallet(request):
    lines, page = queries.coins_history(request.customer, _page_number(request))
    return render(
        request,
        "app/wallet.html",
        {"coins": queries.home(request.customer).coins, "lines": lines, "page": page},
    )
