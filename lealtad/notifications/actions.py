import logging

import django
from django.conf import settings
from django.core import mail
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from lealtad.customers.models import Customer
from lealtad.network.models import Merchant
from lealtad.notifications.models import Event, OutgoingEmail

log = logging.getLogger("lealtad.mail")
MAX_ATTEMPTS = 5
FLAGS = {
    Event.JOIN: "email_on_join",
    Event.ACCRUAL: "email_on_accrual",
    Event.REDEMPTION: "email_on_redemption",
}


def language_for(merchant: Merchant) -> str:
    from lealtad.core.languages import language_for_country

    return language_for_country(merchant.country)


def queue(event: str, merchant: Merchant, customer: Customer, now=None, **context):
    """Write the e-mail for `event` if the merchant sends it and the customer has an address.
    Call it inside the transaction that moves the value."""
    if not customer.email or not getattr(merchant, FLAGS[event]):
        return None
    context.update(merchant=merchant, customer=customer)
    with translation.override(language_for(merchant)):
        subject = render_to_string(f"notifications/{event}_subject.txt", context)
        body = render_to_string(f"notifications/{event}.txt", context)
    return OutgoingEmail.objects.create(
        merchant=merchant,
        customer=customer,
        event=event,
        to=customer.email,
        subject=" ".join(subject.split())[:200],
        body=body.strip() + "\n",
        created_at=now or timezone.now(),
    )


def deliver(batch: int = 100, now=None) -> tuple[int, int]:
    """Send what waits in the outbox, oldest first; returns (sent, failed). Several senders
    may run at once on PostgreSQL: each takes rows the others have not locked."""
    sent = failed = 0
    with transaction.atomic():
        rows = OutgoingEmail.objects.filter(
            sent_at__isnull=True, attempts__lt=MAX_ATTEMPTS
        ).order_by("created_at")
        if connection.features.has_select_for_update_skip_locked:
            rows = rows.select_for_update(skip_locked=True)
        rows = list(rows[:batch])
        if not rows:
            return 0, 0
        mailer = _mailer()
        try:
            mailer.open()
        except Exception as exc:  # the mail server is down: every row waits for the next pass
            for row in rows:
                _failed(row, exc)
            return 0, len(rows)
        try:
            for row in rows:
                message = EmailMessage(row.subject, row.body, settings.DEFAULT_FROM_EMAIL, [row.to])
                try:
                    mailer.send_messages([message])
                except Exception as exc:  # any failure of the mail server: retried later
                    _failed(row, exc)
                    failed += 1
                else:
                    row.sent_at = now or timezone.now()
                    row.attempts += 1
                    row.save(update_fields=["sent_at", "attempts"])
                    sent += 1
        finally:
            mailer.close()
    return sent, failed


def _mailer():
    """The configured mail backend: `mailers` from Django 6.1 on, `get_connection` before."""
    if django.VERSION >= (6, 1):
        return mail.mailers["default"]
    return mail.get_connection()


def _failed(row: OutgoingEmail, exc: Exception) -> None:
    row.attempts += 1
    row.last_error = f"{type(exc).__name__}: {exc}"[:300]
    row.save(update_fields=["attempts", "last_error"])
    log.warning("e-mail %s not sent (attempt %d): %s", row.pk, row.attempts, exc)
