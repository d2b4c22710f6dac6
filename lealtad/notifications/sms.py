"""M2: SMS to customers, on the same outbox and task engine as the e-mails.

`queue_sms` writes an `OutgoingSms` row in the caller's transaction and its `send_sms` task with
it (apps._enqueue_new_row); the worker hands it to the provider SMS_URL names:

- `twilio://ACCOUNT_SID:AUTH_TOKEN@?from=+573001234567` → Twilio's Messages REST API (plain
  HTTPS, the standard library: no SDK). Options in the query: `from` (the sender number) or
  `messaging_service` (an "MG…" sid instead of a number), `timeout` (seconds, 10), `account`
  (the account sid when the user part is an API key "SK…"). A host after `@` replaces
  api.twilio.com (a regional edge, or a test's fake provider); `scheme=http` is accepted only
  for a loopback host, so a credential never crosses a network in clear.
- `console://` prints each message on the worker's stdout (`lealtad serve` shares its own):
  development.
- unset (empty): no SMS provider; `send_code` sends codes by e-mail, and an SMS queued anyway
  (a new mobile's confirmation code) waits, retried, until a provider is configured.

A provider outage is retried with the e-mail's backoff for SMS_RETRY_HOURS (24), then the SMS is
failed and shown to the operator (admin → Outgoing SMS) who can send it again.
"""

import base64
import email.utils
import json
import logging
import sys
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from lealtad.core.errors import LealtadError
from lealtad.core.sms_url import Provider, parse_sms_url
from lealtad.notifications.models import Event, OutgoingEmail, OutgoingSms

log = logging.getLogger("lealtad.sms")
# How far Twilio's clock may be behind ours when `find_sent` compares its dates with our lease.
CLOCK_SKEW = timedelta(minutes=5)


class NoDestination(LealtadError):
    """The customer has neither a mobile (with an SMS provider) nor an e-mail: a code cannot
    reach them."""

    code, status = "no_code_destination", 409
    title = gettext_lazy("The customer has no mobile or e-mail to send the code to")


class SmsRefused(Exception):
    """The provider refused the message itself (a bad number, …): trying again changes nothing."""


def provider() -> Provider | None:
    return parse_sms_url(getattr(settings, "SMS_URL", ""))


def sms_enabled() -> bool:
    """Whether an SMS provider is configured (SMS_URL): codes go by SMS, else by e-mail."""
    return provider() is not None


def queue_sms(to, body, *, purpose, customer=None, merchant=None, now=None) -> OutgoingSms:
    """Write an SMS to `to` (E.164) in the caller's transaction; its send task is enqueued in
    that same transaction, so a rolled-back movement sends nothing."""
    with transaction.atomic():
        return OutgoingSms.objects.create(
            merchant=merchant,
            customer=customer,
            purpose=purpose[:40],
            to=to,
            body=body[:640],
            created_at=now or timezone.now(),
        )


def send_code(customer, *, merchant, text, purpose, subject=None, now=None) -> str:
    """Send `text` (it carries the code; already in the merchant's language) to the customer:
    by SMS to their mobile when an SMS provider is configured and they have one, else by
    e-mail (an Event.CODE outbox row). Returns the masked destination; raises NoDestination
    when the customer has neither."""
    from lealtad.customers.identity import mask_email, mask_mobile
    from lealtad.notifications.actions import language_for

    if sms_enabled() and customer.mobile:
        queue_sms(
            customer.mobile, text, purpose=purpose, customer=customer, merchant=merchant, now=now
        )
        return mask_mobile(customer.mobile)
    if not customer.email:
        raise NoDestination()
    if subject is None:
        with translation.override(language_for(merchant)):
            subject = _("Your code from %(merchant)s") % {"merchant": merchant.name}
    OutgoingEmail.objects.create(  # its send task is enqueued by apps._enqueue_new_row
        merchant=merchant,
        customer=customer,
        event=Event.CODE,
        to=customer.email,
        subject=" ".join(subject.split())[:200],
        body=text.strip() + "\n",
        created_at=now or timezone.now(),
    )
    return mask_email(customer.email)


def send_one(sms_id: int, now=None) -> str:
    """The `send_sms` task's work: hand one SMS to the provider if it still waits; on failure
    record the error and enqueue the next attempt after the backoff, or mark it failed after
    SMS_RETRY_HOURS (at once when the provider refused the message itself). Claim → send →
    record (issue 16, `actions.claim`): two tasks for one SMS send it once, and no row lock
    waits on the provider."""
    from lealtad.notifications.actions import claim, record_failed, record_sent

    now = now or timezone.now()
    row = claim(OutgoingSms, sms_id)
    if row is None:
        return "done"
    try:
        found = provider()
        if found is None:
            raise RuntimeError("no SMS provider is configured (SMS_URL)")
        provider_id = None
        if row.doubt_since is not None and found.kind == "twilio":
            # A worker died after handing it over, maybe: ask Twilio before sending it again.
            provider_id = find_sent(found, row.to, row.body, since=row.doubt_since - CLOCK_SKEW)
            if provider_id:
                log.warning(
                    "SMS %s: the provider had it already (%s): not sent again", row.pk, provider_id
                )
        provider_id = (provider_id or deliver(found, row.to, row.body))[:64]
    except Exception as exc:  # any failure of the provider: retried later
        hours = getattr(settings, "SMS_RETRY_HOURS", 24)
        return record_failed(row, exc, now, hours=hours, final=isinstance(exc, SmsRefused))
    record_sent(row, now, provider_id=provider_id)
    return "sent"


def deliver(found: Provider, to: str, body: str) -> str:
    """Hand one message to the provider; returns its id for it."""
    if found.kind == "console":
        sys.stdout.write(f"--- SMS to {to} ---\n{body}\n---\n")
        sys.stdout.flush()
        return "console"
    return _twilio(found, to, body)


def _twilio(found: Provider, to: str, body: str) -> str:
    """POST /2010-04-01/Accounts/{sid}/Messages.json, form To/From/Body, basic auth; Twilio
    answers 201 with the message's "sid"."""
    account = urllib.parse.quote(found.account, safe="")
    url = f"{found.base}/2010-04-01/Accounts/{account}/Messages.json"
    form = {"To": to, "Body": body}
    if found.messaging_service:
        form["MessagingServiceSid"] = found.messaging_service
    else:
        form["From"] = found.sender
    request = urllib.request.Request(
        url,
        data=urllib.parse.urlencode(form).encode(),
        method="POST",
        headers={**_headers(found), "Content-Type": "application/x-www-form-urlencoded"},
    )
    try:
        with urllib.request.urlopen(request, timeout=found.timeout) as response:
            answer = _json(response.read())
    except urllib.error.HTTPError as exc:
        answer = _json(exc.read())
        detail = f"Twilio {exc.code}: {answer.get('code', '')} {answer.get('message', '')}"
        # 4xx but 401/403 (our credentials, fixable) and 429 (slow down): the message itself is
        # refused (a bad number, a blocked destination); retrying would send nothing either.
        if 400 <= exc.code < 500 and exc.code not in (401, 403, 408, 429):
            raise SmsRefused(detail.strip()) from None
        raise RuntimeError(detail.strip()) from None
    sid = answer.get("sid")
    if not sid:
        raise RuntimeError("Twilio answered without a message sid")
    return str(sid)


def _headers(found: Provider) -> dict:
    credentials = base64.b64encode(f"{found.username}:{found.password}".encode()).decode()
    return {
        "Authorization": f"Basic {credentials}",
        "Accept": "application/json",
        "User-Agent": "lealtad",
    }


def find_sent(found: Provider, to: str, body: str, since) -> str | None:
    """Issue 16: the provider's id of this message if Twilio took it at `since` or later, else
    None. A worker killed between handing an SMS over and recording it leaves that in doubt;
    Twilio's Messages API has no idempotency key, but its list of messages (to this number,
    newest first, one page of 50) tells: the same body to the same number since that attempt
    began is that message. An error here is a failed attempt like any (retried, still asking)."""
    account = urllib.parse.quote(found.account, safe="")
    query = urllib.parse.urlencode({"To": to, "PageSize": 50})
    url = f"{found.base}/2010-04-01/Accounts/{account}/Messages.json?{query}"
    request = urllib.request.Request(url, method="GET", headers=_headers(found))
    try:
        with urllib.request.urlopen(request, timeout=found.timeout) as response:
            answer = _json(response.read())
    except urllib.error.HTTPError as exc:
        raise RuntimeError(f"Twilio {exc.code} listing messages") from None
    for message in answer.get("messages") or []:
        if not isinstance(message, dict) or (message.get("to"), message.get("body")) != (to, body):
            continue
        try:
            created = email.utils.parsedate_to_datetime(message.get("date_created") or "")
        except (TypeError, ValueError):
            continue
        if created >= since and message.get("sid"):
            return str(message["sid"])
    return None


def _json(raw: bytes) -> dict:
    try:
        value = json.loads(raw or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
