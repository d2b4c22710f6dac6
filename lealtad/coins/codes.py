"""One-time codes a customer gives the cashier (K3 coin payments; P6 remote redemptions next).

A code comes from `secrets`, is kept only as an HMAC-SHA256 (keyed from SECRET_KEY) of the
purpose, the object's binding string (for a payment: merchant, invoice, amount, coins) and the
code, so a code read from one payment confirms no other; it is compared with
`hmac.compare_digest`, lives 10 minutes and is used once. A customer gets at most 10 codes a day
across the network, whoever asks (counted in codes, not in payments). The attempts and resends
allowed are the caller's (a payment: 3 and 3). docs/security.md explains why 4 digits suffice.
"""

import datetime as dt
import hmac
import secrets

from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from lealtad.coins.models import OneTimeCode
from lealtad.core import inputs
from lealtad.core.errors import TooManyCodes
from lealtad.customers.models import Customer

CODE_TTL = dt.timedelta(minutes=10)
MAX_CODES_PER_DAY = 10


def digits_for(merchant) -> int:
    """The network's setting: 4 digits (market practice) or 6."""
    return 6 if merchant.network.payment_code_digits == 6 else 4


def _hash(purpose: str, binding: str, code: str) -> str:
    return salted_hmac(
        "lealtad.coins.codes", f"{purpose}\0{binding}\0{code}", algorithm="sha256"
    ).hexdigest()


def normalize(code) -> str:
    return inputs.digits(code, 8)


def codes_sent_today(customer: Customer, now) -> int:
    return OneTimeCode.objects.filter(
        customer=customer, created_at__gt=now - dt.timedelta(days=1)
    ).count()


def issue(
    *,
    customer: Customer,
    merchant,
    purpose: str,
    subject: str,
    binding: str,
    text,
    now=None,
    expires_at=None,
    first: bool = False,
) -> OneTimeCode:
    """A fresh code for `subject` (replacing its earlier one), delivered to the customer.
    `text(code)` gives the message in the merchant's language. It lives CODE_TTL, or until
    `expires_at` when the object's own deadline comes first (a resent code does not extend it).
    Raises TooManyCodes past the customer's daily cap. Call it inside the transaction that makes
    the object. `first`: the subject was made in this transaction, so no earlier code of it can
    exist to replace (a coin payment's first code)."""
    now = now or timezone.now()
    if codes_sent_today(customer, now) >= MAX_CODES_PER_DAY:
        raise TooManyCodes(_("Too many codes were sent to this customer today; try tomorrow."))
    digits = digits_for(merchant)
    code = f"{secrets.randbelow(10**digits):0{digits}d}"
    if not first:
        OneTimeCode.objects.filter(purpose=purpose, subject=subject, used_at__isnull=True).update(
            replaced=True
        )
    # Delivered (enqueued in this transaction) before the row is written, so that the row is
    # written once, with where the code went.
    sent_to = deliver(customer, merchant=merchant, text=text(code), purpose=purpose, now=now)
    return OneTimeCode.objects.create(
        purpose=purpose,
        subject=subject,
        customer=customer,
        merchant=merchant,
        code_hash=_hash(purpose, binding, code),
        created_at=now,
        expires_at=min(now + CODE_TTL, expires_at) if expires_at else now + CODE_TTL,
        sent_to=sent_to,
    )


def check(*, purpose: str, subject: str, binding: str, code, now=None) -> bool:
    """Whether `code` is the live code of `subject`; a match uses it up."""
    now = now or timezone.now()
    row = (
        OneTimeCode.objects.filter(
            purpose=purpose, subject=subject, used_at__isnull=True, replaced=False
        )
        .order_by("-created_at", "-pk")
        .first()
    )
    # Computed even without a live code, so the answer takes the same time either way.
    given = _hash(purpose, binding, normalize(code))
    if row is None or row.expires_at <= now:
        return False
    if not hmac.compare_digest(given, row.code_hash):
        return False
    row.used_at = now
    row.save(update_fields=["used_at"])
    return True


def deliver(customer: Customer, *, merchant, text: str, purpose: str, now=None) -> str:
    """Send `text` to the customer (SMS to the mobile when SMS_URL names a provider, else
    e-mail), written in the caller's transaction: a rolled-back payment sends nothing. Returns
    the masked destination; 409 `no_code_destination` when the customer has neither."""
    from lealtad.notifications import sms

    return sms.send_code(customer, merchant=merchant, text=text, purpose=purpose, now=now)
