"""R3 bought in the customer's app: the customer shows a voucher (QR or short code); the till
scans it into the search box or types it here, sees what was paid, and hands the product over,
once (`lealtad.coins.vouchers.hand_over`). Another merchant's voucher is not found here."""

from django.shortcuts import redirect
from django.utils.translation import gettext as _

from lealtad.cashier.views import _page, staff_view
from lealtad.coins import vouchers
from lealtad.core.errors import LealtadError, NotFound, ValidationFailed


@staff_view
def voucher(request):
    """GET ?code=: the voucher with its product and whether it was handed over; POST: hand it
    over (a second time says when it was)."""
    code = (request.POST.get("code") or request.GET.get("code") or "").strip()[:64]
    context = {"code": code, "voucher": None, "error": "", "handed": False}
    if not code:
        return _page(request, "cashier/voucher.html", **context)
    try:
        context["voucher"] = vouchers.find_voucher(code, merchant=request.merchant)
    except NotFound as exc:
        context["error"] = str(exc.detail)
        return _page(request, "cashier/voucher.html", **context)
    except ValidationFailed:
        context["error"] = _("Type the voucher's code.")
        return _page(request, "cashier/voucher.html", **context)
    if request.method == "POST":
        try:
            context["voucher"] = vouchers.hand_over(
                code, merchant=request.merchant, staff=request.user, branch=request.branch
            )
            context["handed"] = True
        except LealtadError as exc:
            context["error"] = str(exc.detail)
    context["code_shown"] = vouchers.display(context["voucher"].code)
    return _page(request, "cashier/voucher.html", **context)


def from_search(request, q):
    """The search box held a voucher of this merchant (scanned or typed): its page, or None."""
    if not vouchers.looks_like_voucher(q):
        return None
    try:
        found = vouchers.find_voucher(q, merchant=request.merchant)
    except LealtadError:
        return None
    return redirect(f"{_voucher_url()}?code={found.code}")


def _voucher_url():
    from django.urls import reverse

    return reverse("cashier:voucher")
