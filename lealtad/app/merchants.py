"""A6: the network's merchants by city and zone, with the customer's balance at each, and the
favourite button (HTMX: the button swaps itself; without HTMX the page reloads)."""

from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from lealtad.app import queries
from lealtad.app.auth import customer_required
from lealtad.app.scoped import not_found_is_404
from lealtad.favourites import actions as favourites


@customer_required
def merchants(request):
    choices = queries.places_filter()
    city = request.GET.get("city", "").strip()
    zone = request.GET.get("zone", "").strip()
    if city not in choices:
        city, zone = "", ""
    if zone not in choices.get(city, []):
        zone = ""
    return render(
        request,
        "app/merchants.html",
        {
            "places": queries.merchants(request.customer, city=city, zone=zone),
            "cities": sorted(choices),
            "zones": choices.get(city, []),
            "city": city,
            "zone": zone,
        },
    )


@require_POST
@customer_required
@not_found_is_404
def favourite(request, merchant_id):
    merchant = favourites.network_merchant(merchant_id)
    on = favourites.toggle_favourite(request.customer, merchant, request.POST.get("on") == "1")
    if request.headers.get("HX-Request"):
        return render(
            request, "app/partials/favourite.html", {"merchant": merchant, "favourite": on}
        )
    return redirect("app:merchants")
