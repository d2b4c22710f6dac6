"""Tests read the confirmation codes where the customer would: the e-mail or SMS outbox."""

import re

from lealtad.customers.models import IdentityChange
from lealtad.notifications.models import OutgoingEmail, OutgoingSms


def code_in(text: str) -> str:
    return re.search(r"\b(\d{6})\b", text).group(1)


def last_code(to: str) -> str:
    if "@" in to:
        return code_in(OutgoingEmail.objects.filter(to=to, event="code").latest("pk").body)
    return code_in(OutgoingSms.objects.filter(to=to, purpose="contact-code").latest("pk").body)


def codes_of(change_id) -> dict:
    """The confirm body the customer's codes make: `code` (new address, or the document's) and,
    for a contact change, `owner_code` (the contact on file)."""
    row = IdentityChange.objects.get(pk=change_id)
    body = {"code": last_code(row.sent_to)}
    if row.owner_sent_to:
        body["owner_code"] = last_code(row.owner_sent_to)
    return body


def wrong(code: str) -> str:
    return "000000" if code != "000000" else "111111"
