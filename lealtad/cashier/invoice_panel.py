"""The till's waiting POS invoices (I2): the invoice the cashier picked, kept in their session
until a customer is identified for it, and the panel that lists this branch's waiting invoices.

Every till page drawn by `views._page` asks here what is picked (one query, only when something
is); the panel polls `invoices.panel` and is answered 204 when nothing changed, so HTMX swaps
nothing and the cashier's cursor never moves."""

import hashlib
import uuid

from django.utils import timezone

from lealtad.invoices import actions as invoice_actions
from lealtad.invoices.models import Invoice, InvoiceStatus

SESSION_KEY = "pos_invoice"
# A till shows the latest few; the rest are in the transaction history.
PANEL_LIMIT = 8
# The pages that show the panel (the open till: home, search results, the customer's card).
PANEL_PAGES = ("cashier/home.html", "cashier/customer.html")


def scoped(request):
    """The invoices this till may see: its merchant's, of its branch when the staff has one."""
    invoices = Invoice.objects.filter(merchant=request.merchant)
    if request.branch is not None:
        invoices = invoices.filter(branch=request.branch)
    return invoices


def get_invoice(request, invoice_id) -> Invoice | None:
    try:
        pk = uuid.UUID(str(invoice_id))
    except ValueError:
        return None
    related = ("transaction", "customer", "loaded_by")
    return scoped(request).select_related(*related).filter(pk=pk).first()


def is_claimable(invoice: Invoice, now=None) -> bool:
    now = now or timezone.now()
    return invoice.status == InvoiceStatus.WAITING and invoice.expires_at > now


def selected(request) -> Invoice | None:
    """The invoice this cashier picked and that can still be loaded; a stale pick is dropped."""
    invoice_id = request.session.get(SESSION_KEY)
    if not invoice_id:
        return None
    invoice = get_invoice(request, invoice_id)
    if invoice is None or not is_claimable(invoice):
        clear(request)
        return None
    return invoice


def select(request, invoice: Invoice) -> None:
    request.session[SESSION_KEY] = str(invoice.pk)


def clear(request) -> None:
    request.session.pop(SESSION_KEY, None)


def panel_context(request, customer=None) -> dict:
    """What the panel draws, and its version: the same rows and pick give the same version, so a
    poll that finds nothing new is answered without a body."""
    if request.branch is None:
        return {"pos_panel": False}
    rows = list(invoice_actions.waiting_invoices(request.branch)[:PANEL_LIMIT])
    picked = request.session.get(SESSION_KEY) or ""
    customer_id = str(customer.pk) if customer is not None else ""
    seed = "|".join([picked, customer_id, *(f"{r.pk}:{r.status}" for r in rows)])
    return {
        "pos_panel": True,
        "pos_invoices": rows,
        "pos_picked_id": picked,
        "pos_customer_id": customer_id,
        "pos_version": hashlib.sha256(seed.encode()).hexdigest()[:16],
    }


def till_context(request, template, context) -> dict:
    extra = {"pos_selected": selected(request)}
    if template in PANEL_PAGES:
        extra.update(panel_context(request, context.get("customer")))
    return extra
