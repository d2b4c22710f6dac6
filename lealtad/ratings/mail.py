"""The ratings' e-mails to customers (invitation, the merchant's reply, the automatic reply),
written to the notifications outbox in the causing transaction, in the merchant's language."""

import datetime as dt

from django.template.loader import render_to_string
from django.utils import timezone, translation

from lealtad.notifications.actions import language_for
from lealtad.notifications.models import Event, OutgoingEmail
from lealtad.ratings import links


def write(event: str, *, merchant, customer, link_for, now, send_at=None, **context):
    """One outbox row; its send task is enqueued by notifications.apps (for `send_at` when
    given, which also keeps the sweep and `send-emails` from sending it earlier)."""
    if not customer.email:
        return None
    context.update(merchant=merchant, customer=customer, link=links.url_for(link_for, now))
    with translation.override(language_for(merchant)):
        subject = render_to_string(f"ratings/email/{event}_subject.txt", context)
        body = render_to_string(f"ratings/email/{event}.txt", context)
    return OutgoingEmail.objects.create(
        merchant=merchant,
        customer=customer,
        event=event,
        to=customer.email,
        subject=" ".join(subject.split())[:200],
        body=body.strip() + "\n",
        created_at=now,
        next_attempt_at=send_at,
        # Its retries (M3) are counted from when it is meant to go, not from when it was written.
        retry_from=send_at,
    )


def invitation(txn, now):
    merchant = txn.merchant
    send_at = now + dt.timedelta(minutes=merchant.rating_invite_delay_minutes)
    if send_at + links.VALID <= timezone.now():
        # A visit recorded long after it happened (an import, the demo's history): its link
        # would be dead on arrival.
        return None
    return write(
        Event.RATING_INVITE,
        merchant=merchant,
        customer=txn.customer,
        link_for=txn.pk,
        now=now,
        send_at=send_at if send_at > now else None,
        visit_at=timezone.localtime(txn.created_at, _tz(merchant)),
        branch=txn.branch.name if txn.branch_id else "",
    )


def reply(rating, message, now):
    return write(
        Event.RATING_REPLY,
        merchant=rating.merchant,
        customer=rating.customer,
        link_for=rating.transaction_id,
        now=now,
        message=message,
        gift=message.gift_offer.gift if message.gift_offer_id else None,
    )


def auto_reply(rating, auto, now):
    return write(
        Event.AUTO_REPLY,
        merchant=rating.merchant,
        customer=rating.customer,
        link_for=rating.transaction_id,
        now=now,
        subject=auto.subject,
        body=auto.body,
    )


def _tz(merchant):
    import zoneinfo

    return zoneinfo.ZoneInfo(merchant.timezone)
