"""A1: sign-in with a one-time code, and the customer's long, revocable sessions.

- `request_code` sends a 6-digit code (10 minutes, 5 tries, single use) to an e-mail or a mobile.
  The caller always gets the same answer: an address that belongs to no customer gets a row too
  (nothing is sent), so neither the answer nor the rate limits tell who is a customer.
  Codes go by SMS to a mobile when an SMS provider is configured (SMS_URL), else by e-mail to
  the customer's e-mail; the outbox row (and its task) is written in the same transaction.
- `verify_code` turns a right code into a `CustomerSession` and its token (shown once).
- `session_for_token` reads the cookie or the bearer token; each use slides the expiry (written
  at most once a minute).
"""

import datetime as dt
import hmac
import secrets

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from lealtad.app.models import (
    TOKEN_PREFIX,
    AddressKind,
    CustomerSession,
    SessionKind,
    SignInCode,
)
from lealtad.core import inputs, throttle
from lealtad.core.errors import LealtadError, ValidationFailed
from lealtad.core.languages import language_for_country
from lealtad.customers import documents
from lealtad.customers.models import Customer

CODE_DIGITS = 6
CODE_TTL = dt.timedelta(minutes=10)
MAX_ATTEMPTS = 5
# Codes asked per hour per address (known or not, the same) and per IP, and wrong codes per hour
# per IP (guessing many people's codes) and per address (across its codes): settings
# CUSTOMER_CODES_PER_ADDRESS_HOUR, CUSTOMER_CODES_PER_IP_HOUR, CUSTOMER_WRONG_CODES_PER_IP_HOUR,
# CUSTOMER_WRONG_CODES_PER_ADDRESS_HOUR (issue 16; lealtad/core/throttle.py). As configured at
# start (tests that override the settings read them from settings):
CODES_PER_ADDRESS_HOUR = settings.CUSTOMER_CODES_PER_ADDRESS_HOUR
CODES_PER_IP_HOUR = settings.CUSTOMER_CODES_PER_IP_HOUR
WRONG_CODES_PER_IP_HOUR = settings.CUSTOMER_WRONG_CODES_PER_IP_HOUR
SESSION_TTL = dt.timedelta(days=180)
TOUCH_EVERY = dt.timedelta(minutes=1)


class TooManyAttempts(LealtadError):
    code, status, title = "too_many_attempts", 429, gettext_lazy("Too many attempts")

    def __init__(self, detail=None, retry_after: int = 3600):
        self.retry_after = retry_after
        super().__init__(
            detail or _("Too many codes were asked; wait a while and try again."),
            retry_after=retry_after,
        )


class InvalidCode(LealtadError):
    code, status, title = "invalid_code", 401, gettext_lazy("Wrong or expired code")

    def __init__(self, detail=None):
        super().__init__(
            detail or _("This code is wrong or expired. Check it, or ask for a new one."),
        )


# --- addresses ------------------------------------------------------------------------------


def countries() -> list[str]:
    """The countries of the network's merchants (Colombia at least)."""
    from lealtad.network.models import Merchant

    found = list(Merchant.objects.values_list("country", flat=True).distinct().order_by())
    return sorted(set(found) | {"CO"})


def normalise(*, email=None, mobile=None, country=None) -> tuple[str, str]:
    """(kind, normalised address); ValidationFailed naming the field when it is not one.
    A national mobile is read in `country`, else in each country of the network."""
    email = (email or "").strip()
    mobile = (mobile or "").strip()
    if email and not mobile:
        try:
            return AddressKind.EMAIL, documents.normalize_email(email)
        except ValueError as exc:
            raise ValidationFailed([{"field": "email", "message": str(exc)}]) from None
    if mobile and not email:
        if "@" in mobile:  # an e-mail typed in the one box of the sign-in screen
            return normalise(email=mobile)
        error = None
        for where in [country] if country else [None] if mobile.startswith("+") else countries():
            try:
                return AddressKind.MOBILE, documents.normalize_mobile(mobile, where or "")
            except ValueError as exc:
                error = error or exc
        raise ValidationFailed([{"field": "mobile", "message": str(error)}])
    raise ValidationFailed(
        [{"field": "email", "message": _("Enter your e-mail or your mobile number.")}]
    )


def customer_for(kind: str, address: str) -> Customer | None:
    return (
        Customer.objects.filter(**{kind: address}, anonymised_at__isnull=True)
        .order_by("created_at")
        .first()
    )


def _hash(kind: str, address: str, code: str) -> str:
    return salted_hmac(
        "lealtad.app.signin", f"{kind}\0{address}\0{code}", algorithm="sha256"
    ).hexdigest()


def _digits(code) -> str:
    return inputs.digits(code, 12)


# --- codes ----------------------------------------------------------------------------------


def request_code(*, email=None, mobile=None, ip, now=None, country=None) -> str:
    """Send a sign-in code; returns the normalised address (the same whether it belongs to a
    customer or not). Raises ValidationFailed for what is no address, TooManyAttempts past the
    hourly limits (per address and per IP, counted alike for unknown addresses)."""
    now = now or timezone.now()
    kind, address = normalise(email=email, mobile=mobile, country=country)
    hour_ago = now - dt.timedelta(hours=1)
    recent = SignInCode.objects.filter(created_at__gt=hour_ago)
    if (
        recent.filter(kind=kind, address=address).count()
        >= settings.CUSTOMER_CODES_PER_ADDRESS_HOUR
    ):
        raise TooManyAttempts()
    if ip and recent.filter(ip=ip).count() >= settings.CUSTOMER_CODES_PER_IP_HOUR:
        raise TooManyAttempts()
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    customer = customer_for(kind, address)
    with transaction.atomic():
        # A new code replaces the earlier ones: only the newest works.
        SignInCode.objects.filter(kind=kind, address=address, used_at__isnull=True).update(
            used_at=now
        )
        SignInCode.objects.create(
            kind=kind,
            address=address,
            customer=customer,
            code_hash=_hash(kind, address, code),
            created_at=now,
            expires_at=now + CODE_TTL,
            ip=ip or None,
        )
        if customer is not None:
            _deliver(customer, kind, address, code, now)
    return address


def _deliver(customer: Customer, kind: str, address: str, code: str, now) -> None:
    from lealtad.notifications import sms
    from lealtad.notifications.models import Event, OutgoingEmail

    with translation.override(language_for_country(customer.country)):
        text = _(
            "Your Lealtad sign-in code is %(code)s. It is valid for 10 minutes. "
            "If you did not ask for it, ignore this message."
        ) % {"code": code}
        subject = _("Your Lealtad sign-in code: %(code)s") % {"code": code}
    if kind == AddressKind.MOBILE and sms.sms_enabled():
        sms.queue_sms(address, text, purpose="app_signin", customer=customer, now=now)
        return
    to = address if kind == AddressKind.EMAIL else customer.email
    if not to:
        return  # a mobile without SMS and no e-mail: nothing can carry the code
    OutgoingEmail.objects.create(  # its send task is enqueued by notifications.apps
        merchant=None,
        customer=customer,
        event=Event.CODE,
        to=to,
        subject=subject[:200],
        body=text + "\n",
        created_at=now,
    )


def _wrong(ip, kind, address) -> None:
    throttle.count("code-wrong-ip", ip)
    throttle.count("code-wrong-address", f"{kind}:{address}")


def _check(ip, kind, address) -> None:
    wait = max(
        throttle.wait("code-wrong-ip", ip, settings.CUSTOMER_WRONG_CODES_PER_IP_HOUR),
        throttle.wait(
            "code-wrong-address",
            f"{kind}:{address}",
            settings.CUSTOMER_WRONG_CODES_PER_ADDRESS_HOUR,
        ),
    )
    if wait:
        raise TooManyAttempts(
            _("Too many wrong codes; wait a while and try again."), retry_after=wait
        )


def verify_code(
    *,
    email=None,
    mobile=None,
    code,
    ip,
    user_agent="",
    kind=SessionKind.WEB,
    now=None,
    country=None,
) -> tuple[CustomerSession, str]:
    """The newest live code of the address, right → a new session and its token (once).
    Wrong, expired, used, 5 tries, or an address of nobody → InvalidCode."""
    now = now or timezone.now()
    address_kind, address = normalise(email=email, mobile=mobile, country=country)
    _check(ip, address_kind, address)
    row = (
        SignInCode.objects.filter(kind=address_kind, address=address, used_at__isnull=True)
        .order_by("-created_at", "-pk")
        .first()
    )
    # Computed even without a live code, so the answer takes the same time either way.
    given = _hash(address_kind, address, _digits(code))
    if row is None or row.expires_at <= now or row.attempts >= MAX_ATTEMPTS:
        _wrong(ip, address_kind, address)
        raise InvalidCode()
    if not hmac.compare_digest(given, row.code_hash):
        # Counted outside any transaction the caller may roll back on the error.
        SignInCode.objects.filter(pk=row.pk).update(attempts=F("attempts") + 1)
        _wrong(ip, address_kind, address)
        raise InvalidCode()
    with transaction.atomic():
        used = SignInCode.objects.filter(pk=row.pk, used_at__isnull=True).update(used_at=now)
        customer = customer_for(address_kind, address)
        if not used or customer is None or customer.pk != row.customer_id:
            # Nobody's address (nothing was sent), or a race used it first.
            raise InvalidCode()
        return open_session(customer, ip=ip, user_agent=user_agent, kind=kind, now=now)


def open_session(
    customer: Customer, *, ip=None, user_agent="", kind=SessionKind.WEB, now=None
) -> tuple[CustomerSession, str]:
    """A new session for `customer` and its token, which is kept only as a hash."""
    now = now or timezone.now()
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session = CustomerSession.objects.create(
        customer=customer,
        token_hash=CustomerSession.hash(token),
        created_at=now,
        last_seen_at=now,
        expires_at=now + SESSION_TTL,
        user_agent=(user_agent or "")[:300],
        ip=ip or None,
        kind=kind,
    )
    return session, token


# --- sessions -------------------------------------------------------------------------------


def session_for_token(token, now=None) -> CustomerSession | None:
    """The live session of a cookie or bearer token, its customer loaded; None otherwise. A use
    slides the expiry to 180 days from now, written at most once a minute."""
    if not token or not isinstance(token, str) or len(token) > 200:
        return None
    if not token.startswith(TOKEN_PREFIX):
        return None
    now = now or timezone.now()
    session = (
        CustomerSession.objects.select_related("customer")
        .filter(
            token_hash=CustomerSession.hash(token),
            revoked_at__isnull=True,
            expires_at__gt=now,
            customer__anonymised_at__isnull=True,
        )
        .first()
    )
    if session is None:
        return None
    if now - session.last_seen_at >= TOUCH_EVERY:
        CustomerSession.objects.filter(pk=session.pk).filter(
            Q(last_seen_at__lt=now - TOUCH_EVERY)
        ).update(last_seen_at=now, expires_at=now + SESSION_TTL)
        session.last_seen_at = now
        session.expires_at = now + SESSION_TTL
    return session


def revoke(session: CustomerSession, now=None) -> None:
    now = now or timezone.now()
    CustomerSession.objects.filter(pk=session.pk, revoked_at__isnull=True).update(revoked_at=now)
    session.revoked_at = session.revoked_at or now


def revoke_all(customer: Customer, now=None) -> int:
    """Sign out everywhere: every session and API token of the customer."""
    return CustomerSession.objects.filter(customer=customer, revoked_at__isnull=True).update(
        revoked_at=now or timezone.now()
    )


def live_sessions(customer: Customer, now=None):
    now = now or timezone.now()
    return CustomerSession.objects.filter(
        customer=customer, revoked_at__isnull=True, expires_at__gt=now
    ).order_by("-last_seen_at")
