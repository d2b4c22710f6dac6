"""A1: joining the network from the app (filled in below)."""

from django.shortcuts import render


def join(request):
    return render(request, "app/join.html", {})
