"""Sign-in throttling: one throttle for every way in.

Every password check goes through `ThrottledModelBackend` (the only authentication backend):
the web sign-in, the operator's admin sign-in, `POST /api/v1/auth/token` and the password-change
forms, which confirm the current password with `authenticate()` too. Failures are counted in the
database, so every server worker sees the same numbers:

- per username and client address (LOGIN_MAX_FAILURES in LOGIN_LOCKOUT_MINUTES): guessing one
  person's password from one place stops soon, while a stranger elsewhere cannot lock that person
  out (their own address has its own count);
- per client address (LOGIN_MAX_FAILURES_PER_ADDRESS, looser): one place guessing many usernames.

While throttled even the right password is refused, and the password is not even checked (a
flood costs no hashing). The client address is REMOTE_ADDR, or the X-Forwarded-For hop added by
a proxy listed in TRUSTED_PROXIES; an IPv6 client counts by its /64 network, which one machine
can rotate through at will.
"""

import copy
import ipaddress
import logging
import math
from datetime import timedelta
from functools import lru_cache

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import authenticate
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.core.validators import MaxLengthValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from lealtad.network.models import LoginFailure

BACKEND = "lealtad.network.signin.ThrottledModelBackend"
log = logging.getLogger(__name__)
_warned: set[str] = set()


# --- the client's address -------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _proxies(entries: tuple[str, ...]) -> tuple:
    try:
        return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)
    except ValueError as exc:
        raise ImproperlyConfigured(f"TRUSTED_PROXIES: {exc}") from exc


def _ip(text):
    try:
        return ipaddress.ip_address((text or "").strip())
    except ValueError:
        return None


def client_address(request) -> str | None:
    """Where the request comes from: REMOTE_ADDR, or — when that is one of our proxies — the
    nearest X-Forwarded-For hop that is not (hops further left are whatever the client wrote)."""
    if request is None:
        return None
    address = _ip(request.META.get("REMOTE_ADDR"))
    if address is None:
        return None
    proxies = _proxies(tuple(settings.TRUSTED_PROXIES))
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = forwarded.split(",")
    untrusted = not any(address in proxy for proxy in proxies)
    # Once per process and address: a private address sending the header is a setup mistake.
    if forwarded and untrusted and address.is_private and str(address) not in _warned:
        _warned.add(str(address))
        log.warning(
            "X-Forwarded-For from %s, which is not in TRUSTED_PROXIES: if it is your proxy, "
            "list it, or every client shares its address for sign-in throttling",
            address,
        )
    while any(address in proxy for proxy in proxies) and hops:
        hop = _ip(hops.pop())
        if hop is None:
            break
        address = hop
    if address.version == 6:
        if address.ipv4_mapped:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Address(int(address) >> 64 << 64))  # its /64 network
    return str(address)


# --- the counts ---------------------------------------------------------------------------------


def _clean_username(username) -> str:
    return str(username).replace("\x00", "")[:150]


def _wait(failures, limit: int, now) -> int:
    """Seconds until fewer than `limit` of these failures are inside the window (0: not now)."""
    window = timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
    recent = list(
        failures.filter(at__gte=now - window).order_by("-at").values_list("at", flat=True)[:limit]
    )
    if limit <= 0 or len(recent) < limit:
        return 0
    return max(1, math.ceil((recent[-1] + window - now).total_seconds()))


def retry_after(username, address: str | None, exclude_pk=None) -> int:
    """Seconds this username from this address must wait before trying again (0: go ahead)."""
    now = timezone.now()
    here = LoginFailure.objects.filter(ip=address) if address else LoginFailure.objects.none()
    if exclude_pk is not None:
        here = here.exclude(pk=exclude_pk)
    pair = (
        here.filter(username=_clean_username(username))
        if address
        else LoginFailure.objects.filter(username=_clean_username(username), ip__isnull=True)
    )
    if exclude_pk is not None:
        pair = pair.exclude(pk=exclude_pk)
    return max(
        _wait(pair, settings.LOGIN_MAX_FAILURES, now),
        _wait(here, settings.LOGIN_MAX_FAILURES_PER_ADDRESS, now),
    )


class ThrottledModelBackend(ModelBackend):
    """Django's password check, counted and throttled (see the module's docstring).

    A refusal raises PermissionDenied, which makes `authenticate()` answer None at once; the
    caller finds the seconds to wait in `request.signin_retry_after` to tell the person."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None or password is None:
            return None
        address = client_address(request)
        if wait := retry_after(username, address):
            self._refuse(request, wait)
        # The attempt is written before the password is checked, then counted with every other
        # attempt already written: simultaneous guesses cannot all slip under the limit.
        attempt = LoginFailure.objects.create(username=_clean_username(username), ip=address)
        if wait := retry_after(username, address, exclude_pk=attempt.pk):
            LoginFailure.objects.filter(pk=attempt.pk).delete()
            self._refuse(request, wait)
        if "\x00" in str(username):
            return None  # no such user, and the database refuses the byte in a lookup
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None:
            # Only this place's count starts again: a success elsewhere (or the attacker's own
            # account) must not reset a count that is slowing someone down.
            LoginFailure.objects.filter(username=attempt.username, ip=address).delete()
        return user

    @staticmethod
    def _refuse(request, wait: int):
        if request is not None:
            request.signin_retry_after = wait
        raise PermissionDenied("too many failed sign-ins")


def throttled_message_for(seconds: int) -> str:
    minutes = math.ceil(seconds / 60)
    return _("Too many failed sign-ins. Try again in %(minutes)s min.") % {"minutes": minutes}


def throttled_message(request) -> str:
    return throttled_message_for(getattr(request, "signin_retry_after", 60))


# --- the forms of every way in ------------------------------------------------------------------

# A password box takes at most this many characters (issue 16): hashing a megabyte is work for
# nothing, and no real password is longer.
PASSWORD_MAX_LENGTH = 4096


def bounded_passwords(cls):
    """Class decorator: every password box of the form (Django's have no max_length) gets
    PASSWORD_MAX_LENGTH; subclasses inherit it."""
    for fields in (cls.declared_fields, cls.base_fields):
        for name, field in list(fields.items()):
            password = isinstance(field.widget, forms.PasswordInput)
            if isinstance(field, forms.CharField) and password and field.max_length is None:
                field = copy.deepcopy(field)
                field.max_length = PASSWORD_MAX_LENGTH
                field.validators = [*field.validators, MaxLengthValidator(PASSWORD_MAX_LENGTH)]
                fields[name] = field
    return cls


class _ThrottleMessage:
    """Says "too many attempts" instead of "wrong password" when the throttle refused."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Django sets the username box's max_length from the column but does not check it.
        username = self.fields["username"]
        username.validators.append(MaxLengthValidator(username.max_length))

    def get_invalid_login_error(self):
        if getattr(self.request, "signin_retry_after", 0):
            return forms.ValidationError(throttled_message(self.request), code="too_many_attempts")
        return super().get_invalid_login_error()


@bounded_passwords
class SignInForm(_ThrottleMessage, AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("Wrong username or password."),
    }


@bounded_passwords
class AdminSignInForm(_ThrottleMessage, AdminAuthenticationForm):
    pass


@bounded_passwords
class ThrottledPasswordChangeForm(PasswordChangeForm):
    """The current password is checked through the throttle too: a session left open must not
    become a place to guess the password at full speed."""

    def __init__(self, user, *args, request=None, **kwargs):
        self.request = request
        super().__init__(user, *args, **kwargs)

    def clean_old_password(self):
        old_password = self.cleaned_data["old_password"]
        username = self.user.get_username()
        user = authenticate(self.request, username=username, password=old_password)
        if user is None or user.pk != self.user.pk:
            # The admin's view gives its form no request: then the count has no address either.
            wait = (
                getattr(self.request, "signin_retry_after", 0)
                if self.request is not None
                else retry_after(username, None)
            )
            if wait:
                raise forms.ValidationError(throttled_message_for(wait), code="too_many_attempts")
            raise forms.ValidationError(
                self.error_messages["password_incorrect"], code="password_incorrect"
            )
        return old_password


class AdminPasswordChangeForm(ThrottledPasswordChangeForm):
    required_css_class = "required"  # as Django's admin form
