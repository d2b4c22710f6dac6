"""The app's session cookie: `lealtad_app` (HttpOnly, Secure off DEBUG, SameSite=Lax) holds the
token of a `CustomerSession`. Staff sign-in (Django's session) has nothing to do with it: a
cashier or admin signed in to the console is never `request.customer`."""

from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme

from lealtad.app import actions
from lealtad.app.models import CustomerSession

COOKIE = "lealtad_app"
COOKIE_AGE = int(actions.SESSION_TTL.total_seconds())


def session_from_request(request) -> CustomerSession | None:
    """The live session of the request's cookie, resolved once per request."""
    if not hasattr(request, "_customer_session"):
        request._customer_session = actions.session_for_token(request.COOKIES.get(COOKIE))
    return request._customer_session


def customer_required(view):
    """Sets `request.customer` and `request.customer_session`; without a live session, a
    redirect to the sign-in with `?next=` back here (HTMX gets HX-Redirect)."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        session = session_from_request(request)
        if session is None:
            target = f"{reverse('app:signin')}?{urlencode({'next': request.get_full_path()})}"
            response = HttpResponseRedirect(target)
            if request.headers.get("HX-Request"):
                response["HX-Redirect"] = target
            return response
        request.customer_session = session
        request.customer = session.customer
        if settings.LANGUAGE_COOKIE_NAME not in request.COOKIES and not request.headers.get(
            "Accept-Language"
        ):
            # No language chosen, none from the phone: the customer's country's (pt-BR in
            # Brazil, else Spanish).
            from lealtad.core.languages import language_for_country

            language = language_for_country(session.customer.country)
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return view(request, *args, **kwargs)

    return wrapped


def sign_in_response(response, session_token: str):
    """Set the app's cookie on `response` (a redirect after the code, usually)."""
    response.set_cookie(
        COOKIE,
        session_token,
        max_age=COOKIE_AGE,
        httponly=True,
        secure=not settings.DEBUG,
        samesite="Lax",
        path="/",
    )
    return response


def sign_out(request, response):
    """Revoke this request's session (if any) and clear the cookie."""
    session = session_from_request(request)
    if session is not None:
        actions.revoke(session)
    response.delete_cookie(COOKIE, path="/", samesite="Lax")
    return response


def safe_next(request, default=None) -> str:
    """`?next=` (or the form's `next`) when it stays on this site under /app/, else home."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if (
        target.startswith("/app/")
        and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
        and not target.startswith("/app/signin")
    ):
        return target
    return default or reverse("app:home")
