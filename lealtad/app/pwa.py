"""The installable shell: the web manifest and the service worker, both served from /app/ so
the worker's scope is the app (`Service-Worker-Allowed: /app/`)."""

import json

from django.http import HttpResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from lealtad.app.staticfiles import SHELL_ASSETS, SW_SOURCE, cache_version

THEME_COLOUR = "#0f5c4d"
BACKGROUND_COLOUR = "#f6f7f5"


@require_safe
def manifest(request):
    body = {
        "name": _("Lealtad: my points and coins"),
        "short_name": "Lealtad",
        "description": _("Your points, coins, QR and prizes at every merchant of the network."),
        "lang": getattr(request, "LANGUAGE_CODE", "es"),
        "start_url": "/app/",
        "scope": "/app/",
        "id": "/app/",
        "display": "standalone",
        "orientation": "portrait",
        "theme_color": THEME_COLOUR,
        "background_color": BACKGROUND_COLOUR,
        "icons": [
            {"src": static("app/icons/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static("app/icons/icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {
                "src": static("app/icons/maskable-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
    }
    response = HttpResponse(
        json.dumps(body, ensure_ascii=False), content_type="application/manifest+json"
    )
    response["Cache-Control"] = "no-cache"
    return response


@require_safe
def service_worker(request):
    shell = ["/app/", "/app/qr/", "/app/offline/", *[static(path) for path in SHELL_ASSETS]]
    source = (
        SW_SOURCE.read_text()
        .replace("/*SHELL*/[]", json.dumps(shell))
        .replace('/*VERSION*/"dev"', json.dumps(cache_version()))
    )
    response = HttpResponse(source, content_type="text/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = "/app/"
    response["Cache-Control"] = "no-cache"
    return response


@require_safe
def offline(request):
    """What the worker shows for a page it cannot fetch nor has kept."""
    return render(request, "app/offline.html", {})
