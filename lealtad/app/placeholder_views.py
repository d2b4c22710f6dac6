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
    return _page(request, "qr")


@customer_required
def prizes(request):
    return _page(request, "prizes")


@customer_required
def merchants(request):
    return _page(request, "merchants")
