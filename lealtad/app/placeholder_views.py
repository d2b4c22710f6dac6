"""Stand-ins for the app's home, QR, prizes and merchants screens (the "home" screens replace
them): each is a real, signed-in page of the shell. Delete this file when they are wired."""

from django.shortcuts import render

from lealtad.app.auth import customer_required


def _page(request, title_key, template="app/placeholder.html"):
    return render(request, template, {"page": title_key})


@customer_required
def home(request):
    return render(request, "app/home.html", {})


@customer_required
def qr(request):
    """The identification QR (A3), kept by the service worker for offline reading."""
    import io

    import segno

    from lealtad.customers.actions import qr_payload

    buffer = io.BytesIO()
    segno.make(qr_payload(request.customer), error="m").save(
        buffer, kind="svg", scale=8, border=2, xmldecl=False, svgns=True, omitsize=True
    )
    return render(request, "app/qr.html", {"svg": buffer.getvalue().decode()})


@customer_required
def prizes(request):
    return _page(request, "prizes")


@customer_required
def merchants(request):
    return _page(request, "merchants")
