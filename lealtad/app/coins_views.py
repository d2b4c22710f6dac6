"""A8, A9 in the customer's app: the coin wallet, giving coins to a cause, the partner points
converted into coins, and buying an acceptor's coin products (paid at once; the voucher's QR and
short code are shown at the till, which hands the product over once). Thin: the rules are
`lealtad.coins` (causes.donate, vouchers.buy_in_app); another customer's voucher is 404."""

import uuid

from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from lealtad.app.auth import customer_required
from lealtad.coins import causes, conversion_requests, vouchers
from lealtad.coins.actions import wallet_of
from lealtad.coins.models import Cause, Partner, PartnerConversion
from lealtad.core import inputs
from lealtad.core.errors import LealtadError, NotFound, ValidationFailed


def _once(request, key, work):
    """A double tap (or a resent form) does it once: the answer is kept by the form's token."""
    token = request.POST.get("token", "")
    done = request.session.setdefault(key, {})
    if token and token in done:
        return done[token]
    result = work()
    if token:
        done[token] = result
        for old in list(done)[:-20]:
            del done[old]
        request.session.modified = True
    return result


def _context(request, **extra):
    customer = request.customer
    wallet = wallet_of(customer)
    context = {
        "wallet": wallet,
        "causes": Cause.objects.filter(active=True).order_by("name"),
        "partners": Partner.objects.filter(active=True).order_by("name"),
        "conversions": PartnerConversion.objects.filter(customer=customer)
        .select_related("partner")
        .order_by("-created_at")[:20],
        "products": [
            {"promotion": p, "missing": max(p.coins_price - wallet["available"], 0)}
            for p in vouchers.on_sale_in_app()
        ],
        "app_partners": conversion_requests.app_partners(),
        "conversion_requests": conversion_requests.requests_of(customer)[:20],
        "vouchers": vouchers.vouchers_of(customer)[:20],
        "token": uuid.uuid4().hex,
        "errors": {},
        "values": {},
        "notice": "",
    }
    context.update(extra)
    return context


@customer_required
def coins(request):
    notice = ""
    if request.GET.get("donated"):
        notice = _("Thank you! Your coins were given.")
    elif request.GET.get("requested"):
        notice = _("Your request was sent. The coins arrive when the program confirms it.")
    return render(request, "app/more/coins.html", _context(request, notice=notice))


@customer_required
@require_POST
def donate(request):
    raw_cause, raw_coins = request.POST.get("cause", ""), request.POST.get("coins", "").strip()
    values = {"cause": raw_cause, "coins": raw_coins}
    errors = {}
    cause = None
    if inputs.is_number(raw_cause) and len(raw_cause) <= 9:  # within the column's range
        cause = Cause.objects.filter(pk=int(raw_cause)).first()
    if cause is None:
        errors["cause"] = _("Choose a cause.")
    coins = int(raw_coins) if inputs.is_number(raw_coins) and len(raw_coins) <= 12 else None
    if coins is None:
        errors["coins"] = _("A whole number above zero.")
    if not errors:
        try:
            _once(
                request, "app_donations", lambda: causes.donate(request.customer, cause, coins).pk
            )
        except ValidationFailed as exc:
            errors = {e["field"]: e["message"] for e in exc.errors}
        except LealtadError as exc:
            errors = {"coins": str(exc.detail)}
    if errors:
        context = _context(request, errors=errors, values=values)
        return render(request, "app/more/coins.html", context, status=422)
    return redirect("/app/coins/?donated=1")


@customer_required
@require_POST
def convert(request):
    """A8: ask a partner that allows it to convert points (`coins.conversion_requests`)."""
    raw_partner = request.POST.get("partner", "")
    raw_points = request.POST.get("partner_points", "").strip()
    values = {"partner": raw_partner, "partner_points": raw_points}
    errors = {}
    if not inputs.is_number(raw_partner) or len(raw_partner) > 18:
        errors["partner"] = _("Choose a program.")
    points = int(raw_points) if inputs.is_number(raw_points) and len(raw_points) <= 13 else None
    if points is None:
        errors["partner_points"] = _("A whole number above zero.")
    if not errors:

        def work():
            return conversion_requests.request_conversion(request.customer, raw_partner, points).pk

        try:
            _once(request, "app_conversion_requests", work)
        except ValidationFailed as exc:
            errors = {e["field"]: e["message"] for e in exc.errors}
        except NotFound as exc:
            errors = {"partner": str(exc.detail)}
        except LealtadError as exc:
            errors = {"partner_points": str(exc.detail or exc.title)}
    if errors:
        context = _context(request, errors=errors, values=values)
        return render(request, "app/more/coins.html", context, status=422)
    return redirect("/app/coins/?requested=1")


@customer_required
@require_POST
def buy(request, promotion_id):
    def work():
        return str(vouchers.buy_in_app(promotion_id, customer=request.customer).pk)

    try:
        voucher_id = _once(request, "app_vouchers", work)
    except NotFound:
        raise Http404 from None
    except LealtadError as exc:
        context = _context(request, errors={"buy": str(exc.detail)})
        return render(request, "app/more/coins.html", context, status=422)
    return redirect("app:voucher", voucher_id=voucher_id)


@customer_required
def voucher(request, voucher_id):
    try:
        voucher = vouchers.get_voucher_for(request.customer, voucher_id)
    except NotFound:
        raise Http404 from None
    return render(
        request,
        "app/more/voucher.html",
        {
            "voucher": voucher,
            "code": vouchers.display(voucher.code),
            "qr_svg": vouchers.qr_svg(voucher),
        },
    )
