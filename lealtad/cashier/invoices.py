"""Cajero Light (I2, I3): the POS sends the invoice, the cashier only says whose it is.

The cashier picks a waiting invoice (the panel on the open till, or the transaction history);
the pick lives in their session and turns the search into a POST to `identify`; identifying the
customer loads the invoice through `invoices.actions.assign_invoice`, at once or after one
confirming key (`Merchant.invoice_load_confirm`). The action locks the invoice row, so a double
submit or two tills loading one invoice give one accrual; the second answer is the first one's
receipt when it went to the same customer, and says it was loaded already otherwise."""

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from lealtad.cashier import invoice_panel
from lealtad.cashier.views import _customer_page, _page, search_page, staff_view
from lealtad.core.errors import LealtadError
from lealtad.customers import actions as customers
from lealtad.invoices import actions as invoice_actions
from lealtad.invoices.models import InvoiceStatus

# The history's lists: the latest of each kind.
HISTORY_LIMIT = 50


def _invoice(request, invoice_id):
    invoice = invoice_panel.get_invoice(request, invoice_id)
    if invoice is None:  # another merchant's, another branch's or no invoice: the same 404
        raise Http404
    return invoice


def _unclaimable_message(invoice) -> str:
    if invoice.status in (InvoiceStatus.LOADED, InvoiceStatus.HELD):
        return _("Invoice %(number)s is no longer waiting: it was loaded already.") % {
            "number": invoice.invoice_number
        }
    return _("Invoice %(number)s waited too long: it expired and cannot be loaded.") % {
        "number": invoice.invoice_number
    }


def _load(request, invoice, membership):
    """Load `invoice` to this customer and show their card with the result."""
    extra = {}
    try:
        loaded = invoice_actions.assign_invoice(
            invoice.pk,
            merchant=request.merchant,
            customer=membership.customer,
            staff=request.user,
        )
    except LealtadError as exc:
        fresh = invoice_panel.get_invoice(request, invoice.pk)
        if (
            fresh is not None
            and fresh.status in (InvoiceStatus.LOADED, InvoiceStatus.HELD)
            and fresh.customer_id == membership.customer_id
        ):
            # A double submit (or another till did the same): it is loaded to this customer.
            invoice_panel.clear(request)
            extra["pos_loaded"] = fresh
        else:
            extra["pos_error"] = str(exc.detail)
            if fresh is not None and exc.code in ("invoice_already_loaded", "invoice_expired"):
                extra["pos_error"] = _unclaimable_message(fresh)
            # A refused customer (suspended, blocked) leaves the invoice waiting and picked: the
            # cashier can identify someone else for it. A loaded or expired one is forgotten.
            if fresh is None or not invoice_panel.is_claimable(fresh):
                invoice_panel.clear(request)
    else:
        invoice_panel.clear(request)
        extra["pos_loaded"] = invoice_panel.get_invoice(request, loaded.pk) or loaded
    return _customer_page(request, membership.customer_id, **extra)


def _home_with(request, **context):
    response = _page(request, "cashier/home.html", **context)
    response["HX-Push-Url"] = reverse("cashier:home")
    return response


@staff_view
def panel(request):
    """The waiting invoices, polled every 1.5 s: 204 (HTMX swaps nothing) when nothing changed."""
    customer = None
    if customer_id := request.GET.get("customer"):
        customer = customers.get_membership_for(request.merchant, customer_id).customer
    context = invoice_panel.panel_context(request, customer)
    if not context["pos_panel"] or request.GET.get("v") == context["pos_version"]:
        return HttpResponse(status=204)
    context.update(merchant=request.merchant, customer=customer)
    return render(request, "cashier/partials/pos_invoices.html", context)


@staff_view
@require_POST
def pick(request, invoice_id):
    """A waiting invoice picked from the panel or the history: on a customer's card it loads to
    them (or asks once); elsewhere the till asks whose it is."""
    invoice = _invoice(request, invoice_id)
    membership = None
    if customer_id := request.POST.get("customer"):
        membership = customers.get_membership_for(request.merchant, customer_id)
    if not invoice_panel.is_claimable(invoice):
        message = _unclaimable_message(invoice)
        if membership is not None:
            return _customer_page(request, membership.customer_id, pos_error=message)
        return _home_with(request, pos_error=message)
    invoice_panel.select(request, invoice)
    if membership is None:
        return _home_with(request)
    if request.merchant.invoice_load_confirm:
        return _customer_page(request, membership.customer_id)  # the card asks "Cargar factura"
    return _load(request, invoice, membership)


@staff_view
@require_POST
def identify(request, invoice_id):
    """The search while an invoice is picked: one customer of this merchant found (typed or a
    scanned QR) → the invoice loads to them; anything else is the usual search answer."""
    invoice = _invoice(request, invoice_id)
    q = request.POST.get("q", "").strip()[:200]
    found = customers.find_customers(q, country=request.merchant.country)
    members = customers.memberships_at(request.merchant, found)
    if len(found) != 1 or found[0].pk not in members:
        return search_page(request, q, found, members)
    membership = customers.get_membership_for(request.merchant, found[0].pk)
    if not invoice_panel.is_claimable(invoice):
        invoice_panel.clear(request)
        return _customer_page(
            request, membership.customer_id, pos_error=_unclaimable_message(invoice)
        )
    if request.merchant.invoice_load_confirm:
        invoice_panel.select(request, invoice)
        return _customer_page(request, membership.customer_id)
    return _load(request, invoice, membership)


@staff_view
@require_POST
def load(request, invoice_id, customer_id):
    """The confirming key: "Cargar factura" on the customer's card."""
    invoice = _invoice(request, invoice_id)
    membership = customers.get_membership_for(request.merchant, customer_id)
    return _load(request, invoice, membership)


@staff_view
@require_POST
def drop(request):
    """Esc or "Quitar": the till forgets the picked invoice (it stays waiting)."""
    invoice_panel.clear(request)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, {request.get_host()}) or not back.startswith(
        "/cashier/"
    ):
        back = reverse("cashier:home")
    response = HttpResponse(status=303)
    response["Location"] = back
    return response


@staff_view
def history(request):
    """I3 "Consultar histórico de transacciones": this branch's latest invoices, three lists."""
    now = timezone.now()
    invoices = invoice_panel.scoped(request).select_related("customer", "loaded_by", "transaction")
    waiting = list(
        invoices.filter(status=InvoiceStatus.WAITING).order_by("-created_at")[:HISTORY_LIMIT]
    )
    loaded = invoices.filter(status__in=[InvoiceStatus.LOADED, InvoiceStatus.HELD]).order_by(
        "-loaded_at", "-created_at"
    )[:HISTORY_LIMIT]
    expired = [i for i in waiting if i.expires_at <= now]
    # One waiting past its limit is expired for the till even before the worker marks it.
    expired += list(
        invoices.filter(status=InvoiceStatus.EXPIRED).order_by("-created_at")[:HISTORY_LIMIT]
    )
    return _page(
        request,
        "cashier/invoices.html",
        waiting=[i for i in waiting if i.expires_at > now],
        loaded=loaded,
        expired=expired[:HISTORY_LIMIT],
    )


@staff_view
def detail(request, invoice_id):
    """ "Ver factura": the amount, number, time and the POS's line items."""
    invoice = _invoice(request, invoice_id)
    return _page(
        request,
        "cashier/invoice.html",
        invoice=invoice,
        claimable=invoice_panel.is_claimable(invoice),
    )
