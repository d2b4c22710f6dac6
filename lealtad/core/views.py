from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache


@never_cache
def healthz(request):
    """200 only when the database answers, so a load balancer takes a broken node out."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return JsonResponse({"status": "unavailable", "database": "down"}, status=503)
    return JsonResponse({"status": "ok", "database": "up"})


def home(request):
    """Staff go straight to their screen; everyone else sees where things are."""
    user = request.user
    if user.is_authenticated and getattr(user, "merchant_id", None):
        return redirect("cashier:home")
    return render(request, "core/home.html")


def favicon(request):
    """Browsers and the admin ask /favicon.ico whatever the page links: send them to the icon."""
    from django.templatetags.static import static

    return redirect(static("core/favicon.ico"), permanent=True)
