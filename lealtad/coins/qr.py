"""K3: the customer app's payment QR: signed, bound to the customer, short-lived, used once.

Not the static identification QR: a payment QR carries the customer's id and QR version, a
random nonce and when it was issued, signed with Django's signing (HMAC over SECRET_KEY). It is
refused after 2 minutes, for another customer, when forged, and once it has paid. Only the
customer mints one (the app's `GET /api/v1/me/payment-qr`, a later issue): no staff or POS
endpoint calls `mint_payment_qr`.
"""

import datetime as dt
import secrets

from django.core import signing
from django.utils import timezone
from django.utils.translation import gettext as _

from lealtad.core.errors import InvalidQr

SALT = "lealtad.coins.payment-qr"
PREFIX = "LPQ1:"
LIFE = dt.timedelta(minutes=2)
CLOCK_SKEW = dt.timedelta(seconds=30)


def mint_payment_qr(customer, now=None) -> str:
    now = now or timezone.now()
    body = {
        "c": str(customer.pk),
        "v": customer.qr_version,
        "n": secrets.token_urlsafe(16),
        "t": int(now.timestamp()),
    }
    return PREFIX + signing.dumps(body, salt=SALT)


def _read(payload):
    """(customer id, QR version, nonce, issued) of a genuine payment QR; InvalidQr otherwise."""
    if not isinstance(payload, str) or not payload.startswith(PREFIX) or len(payload) > 1000:
        raise InvalidQr(_("This is not a payment QR of the customer app."))
    try:
        body = signing.loads(payload[len(PREFIX) :], salt=SALT)
        customer_id, version, nonce = str(body["c"]), int(body["v"]), str(body["n"])
        issued = dt.datetime.fromtimestamp(int(body["t"]), tz=dt.UTC)
    except (signing.BadSignature, KeyError, TypeError, ValueError, OverflowError, OSError):
        raise InvalidQr(_("This payment QR is not valid.")) from None
    return customer_id, version, nonce, issued


def _check_live(issued, now):
    if issued > now + CLOCK_SKEW or now - issued > LIFE:
        raise InvalidQr(_("This payment QR has expired: ask the customer to show a new one."))


def customer_id_of(payload, now=None) -> str:
    """The customer a live, genuine payment QR names (the till's search opens their card with
    it); InvalidQr otherwise. Paying still checks it against the customer (verify_payment_qr)."""
    customer_id, _version, _nonce, issued = _read(payload)
    _check_live(issued, now or timezone.now())
    return customer_id


def verify_payment_qr(payload, customer, now=None) -> str:
    """The QR's nonce when `payload` is a live payment QR of `customer`; InvalidQr otherwise.
    (Whether it already paid is the payment's check: its nonce is recorded with it.)"""
    customer_id, version, nonce, issued = _read(payload)
    if customer_id != str(customer.pk) or version != customer.qr_version:
        raise InvalidQr(_("This payment QR belongs to another customer."))
    _check_live(issued, now or timezone.now())
    return nonce
