"""A1: the app's sign-in (address → code → signed in), joining the network, signing out and the
account page. Thin: the work is in lealtad.app.actions and lealtad.customers."""

from django import forms
from django.conf import settings
from django.core import signing
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from lealtad.app import actions
from lealtad.app.auth import (
    customer_required,
    safe_next,
    session_from_request,
    sign_in_response,
    sign_out,
)
from lealtad.core.errors import LealtadError, ValidationFailed
from lealtad.network.signin import client_address


def describe_agent(user_agent: str) -> str:
    """ "Chrome · Android" from a User-Agent header; "" when it says nothing known."""
    ua = user_agent or ""
    browser = next(
        (
            name
            for token, name in (
                ("SamsungBrowser", "Samsung Internet"),
                ("Edg/", "Edge"),
                ("OPR/", "Opera"),
                ("Firefox/", "Firefox"),
                ("CriOS", "Chrome"),
                ("Chrome/", "Chrome"),
                ("Safari/", "Safari"),
            )
            if token in ua
        ),
        "",
    )
    system = next(
        (
            name
            for token, name in (
                ("Android", "Android"),
                ("iPhone", "iPhone"),
                ("iPad", "iPad"),
                ("Windows", "Windows"),
                ("Mac OS X", "macOS"),
                ("Linux", "Linux"),
            )
            if token in ua
        ),
        "",
    )
    return " · ".join(part for part in (browser, system) if part)


ADDRESS_SALT = "lealtad.app.signin-address"
ADDRESS_MAX_AGE = 60 * 60  # the code page's link works for an hour (the code for 10 minutes)


class AddressForm(forms.Form):
    address = forms.CharField(
        label=gettext_lazy("E-mail or mobile number"),
        max_length=254,
        widget=forms.TextInput(
            attrs={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"}
        ),
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=12,
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "pattern": "[0-9 ]*",
                "maxlength": "7",
                "autofocus": True,
            }
        ),
    )


def _field_errors(form, exc: ValidationFailed, field: str) -> None:
    for error in exc.errors:
        form.add_error(field, error["message"])


def _address_arguments(kind: str, address: str) -> dict:
    return {"email": address} if kind == "email" else {"mobile": address}


def _send(request, form, raw: str, next_url: str):
    """Ask the code; on success the code page for this address, else None (errors on `form`)."""
    try:
        address = actions.request_code(mobile=raw, ip=client_address(request))
    except ValidationFailed as exc:
        if "@" not in raw and any(ch.isalpha() for ch in raw):
            # Letters and no @: neither an e-mail nor a phone; say what the box takes.
            form.add_error(
                "address", _("Type an e-mail (like name@example.com) or a mobile number.")
            )
        else:
            _field_errors(form, exc, "address")
        return None
    except actions.TooManyAttempts as exc:
        form.add_error("address", str(exc.detail))
        return None
    return redirect(code_page("email" if "@" in address else "mobile", address, next_url))


def code_page(kind: str, address: str, next_url: str, joined=False) -> str:
    """The code page's URL for this address: the address travels signed, not in a session."""
    token = signing.dumps({"k": kind, "a": address}, salt=ADDRESS_SALT, compress=True)
    query = {"t": token, "next": next_url, **({"joined": 1} if joined else {})}
    return f"{reverse('app:signin_code')}?{urlencode(query)}"


def signin(request):
    """The address (e-mail or mobile): a code goes there. The same answer for anyone."""
    next_url = safe_next(request)
    if session_from_request(request) is not None and request.method == "GET":
        return redirect(next_url)
    form = AddressForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        response = _send(request, form, form.cleaned_data["address"], next_url)
        if response is not None:
            return response
    return render(request, "app/signin.html", {"form": form, "next": next_url})


def _address_from(request) -> tuple[str, str] | None:
    token = request.POST.get("t") or request.GET.get("t") or ""
    try:
        value = signing.loads(token, salt=ADDRESS_SALT, max_age=ADDRESS_MAX_AGE)
        return value["k"], value["a"]
    except (signing.BadSignature, KeyError, TypeError):
        return None


def signin_code(request):
    """The six digits. Right: signed in and back to `next`. The "send a new code" button posts
    here with `resend`."""
    found = _address_from(request)
    next_url = safe_next(request)
    if found is None:  # an old or tampered link: start again
        return redirect(f"{reverse('app:signin')}?{urlencode({'next': next_url})}")
    kind, address = found
    token = request.POST.get("t") or request.GET.get("t")
    form = CodeForm(request.POST if "code" in request.POST else None)
    resent, resend_error = False, None
    if request.method == "POST" and "resend" in request.POST:
        try:
            actions.request_code(**_address_arguments(kind, address), ip=client_address(request))
        except LealtadError as exc:
            resend_error = str(exc.detail)
        else:
            resent = True
    elif request.method == "POST" and form.is_valid():
        try:
            _session, session_token = actions.verify_code(
                **_address_arguments(kind, address),
                code=form.cleaned_data["code"],
                ip=client_address(request),
                user_agent=request.headers.get("User-Agent", ""),
            )
        except LealtadError as exc:
            form.add_error("code", str(exc.detail))
        else:
            return sign_in_response(redirect(next_url), session_token)
    return render(
        request,
        "app/signin_code.html",
        {
            "form": form,
            "address": address,
            "kind": kind,
            "token": token,
            "next": next_url,
            "resent": resent,
            "resend_error": resend_error,
        },
    )


def signout(request):
    """GET: the button; POST: this phone's session ends and the cookie goes."""
    if request.method == "POST":
        return sign_out(request, redirect(f"{reverse('app:signin')}?signed_out=1"))
    return render(request, "app/signout.html", {"signed_in": session_from_request(request)})


@customer_required
def account(request):
    """The profile, the phones and tokens signed in (sign out everywhere), the language."""
    return render(
        request,
        "app/account.html",
        {
            "customer": request.customer,
            "sessions": [
                (session, describe_agent(session.user_agent))
                for session in actions.live_sessions(request.customer)
            ],
            "current": request.customer_session,
            "languages": settings.LANGUAGES,
        },
    )


@require_POST
@customer_required
def signout_everywhere(request):
    actions.revoke_all(request.customer)
    return sign_out(request, redirect(f"{reverse('app:signin')}?signed_out=1"))


def join(request):
    from lealtad.app.join import join as join_view  # it imports code_page from here

    return join_view(request)
