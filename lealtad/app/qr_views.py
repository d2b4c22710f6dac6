"""A3: the identification QR (readable offline: the service worker keeps `/app/qr/`, and the
page shows the QR as inline SVG, no script needed) and the short-lived payment QR, fetched by
HTMX and fetched again before it expires (so the page the service worker keeps never holds a
payment QR that has stopped working)."""

import io

import segno
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from lealtad.app import queries
from lealtad.app.auth import customer_required
from lealtad.coins.qr import LIFE, mint_payment_qr
from lealtad.customers.actions import qr_payload

# The fragment asks for a fresh QR this long before the one shown expires.
REFRESH_MARGIN_SECONDS = 20


def qr_svg(payload: str, scale: int = 8) -> str:
    """The QR as an SVG element: black on white, with the quiet zone scanners need."""
    buffer = io.BytesIO()
    segno.make(payload, error="m").save(
        buffer,
        kind="svg",
        scale=scale,
        border=4,
        xmldecl=False,
        dark="#000",
        light="#fff",
        svgclass="qr-code",
        omitsize=True,  # sized by the page's CSS: as large as the screen allows
    )
    return buffer.getvalue().decode()


def masked_document(customer) -> str:
    """The document with all but its last 3 characters hidden (someone looking over the
    shoulder learns nothing useful)."""
    number = customer.document_number or ""
    return f"{customer.document_type} {'•' * max(len(number) - 3, 3)}{number[-3:]}"


def payment_qr(customer, now=None) -> dict | None:
    """A fresh payment QR (K3) and when it expires; None without coins to pay with."""
    now = now or timezone.now()
    if queries.home(customer, now).coins.available <= 0:
        return None
    payload = mint_payment_qr(customer, now)
    return {
        "payload": payload,
        "svg": qr_svg(payload, scale=6),
        "expires_at": now + LIFE,
        "refresh_seconds": int(LIFE.total_seconds()) - REFRESH_MARGIN_SECONDS,
    }


@customer_required
def qr(request):
    customer = request.customer
    return render(
        request,
        "app/qr.html",
        {
            "svg": qr_svg(qr_payload(customer)),
            "document": masked_document(customer),
            "has_coins": queries.home(customer).coins.available > 0,
        },
    )


@never_cache
@customer_required
def qr_payment(request):
    """The payment QR's fragment (polled by HTMX), or a page of its own without HTMX."""
    context = {"payment": payment_qr(request.customer)}
    if request.headers.get("HX-Request"):
        return render(request, "app/partials/payment_qr.html", context)
    return render(request, "app/qr_payment.html", context)
