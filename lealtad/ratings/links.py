"""F1/F4: the signed link a customer rates a visit and follows the conversation with, no sign-in
needed. It carries the visit's transaction id and when it was issued, signed with Django's
signing (HMAC over SECRET_KEY, its own salt): a forged or altered link does not load."""

import datetime as dt

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone

SALT = "lealtad.ratings.link"
VALID = dt.timedelta(days=7)


class BadLink(Exception):
    """The link was forged or altered."""


def make_token(transaction_id, now=None) -> str:
    issued = int((now or timezone.now()).timestamp())
    return signing.dumps({"t": str(transaction_id), "i": issued}, salt=SALT)


def read_token(token: str) -> tuple[str, dt.datetime]:
    """(transaction id, when it was issued), or BadLink. Its age is judged by the caller: rating
    needs a link younger than 7 days, following a conversation 7 days after the last reply."""
    try:
        body = signing.loads(token, salt=SALT)
        return str(body["t"]), dt.datetime.fromtimestamp(int(body["i"]), tz=dt.UTC)
    except (signing.BadSignature, KeyError, TypeError, ValueError, OverflowError, OSError):
        raise BadLink() from None


def url_for(transaction_id, now=None) -> str:
    path = reverse("ratings:page", args=[make_token(transaction_id, now)])
    return settings.SITE_URL.rstrip("/") + path
