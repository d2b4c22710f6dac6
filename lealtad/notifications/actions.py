import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from email.utils import make_msgid

import django
from django.conf import settings
from django.core import mail
from django.core.mail import EmailMessage
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone, translation

from lealtad.customers.models import Customer
from lealtad.network.models import Merchant
from lealtad.notifications.models import Event, OutgoingEmail, OutgoingSms

log = logging.getLogger("lealtad.mail")
# M3: after a failure an e-mail waits 10 s, 20 s, 40 s, … up to 5 minutes between attempts, and
# is tried until the mail server takes it: an outage of hours loses nothing.
RETRY_FIRST_SECONDS = 10
RETRY_MAX_SECONDS = 300
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
    return OutgoingEmail.objects.create(  # its send task is enqueued by apps._enqueue_new_row
        merchant=merchant,
        customer=customer,
        event=event,
        to=customer.email,
        subject=" ".join(subject.split())[:200],
        body=body.strip() + "\n",
        created_at=now or timezone.now(),
    )


def enqueue(row: OutgoingEmail | OutgoingSms, run_after=None) -> None:
    """M2: the task that sends `row` (an e-mail or an SMS), written in the caller's transaction
    (the database backend stores it as a row): rolled back with the movement, never lost once
    committed."""
    from lealtad.notifications.tasks import send_email, send_sms

    send = send_sms if isinstance(row, OutgoingSms) else send_email
    task = send.using(run_after=run_after) if run_after else send
    task.enqueue(row.pk)


def retry_delay(attempts: int) -> timedelta:
    """How long an e-mail that failed `attempts` times waits: doubling, capped."""
    first = getattr(settings, "EMAIL_RETRY_FIRST_SECONDS", RETRY_FIRST_SECONDS)
    cap = getattr(settings, "EMAIL_RETRY_MAX_SECONDS", RETRY_MAX_SECONDS)
    return timedelta(seconds=min(cap, first * 2 ** min(max(attempts - 1, 0), 30)))


def waiting(now=None, model=OutgoingEmail):
    """E-mails (or SMS) due now: not sent, not cancelled, their backoff over."""
    now = now or timezone.now()
    return model.objects.filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
        sent_at__isnull=True,
        cancelled_at__isnull=True,
        failed_at__isnull=True,
    )


# Issue 16: how long a worker holds the message it sends (`claim`); it must outlast the longest
# send (the SMTP or SMS time-outs, 10 s each step by default).
LEASE_SECONDS = 60
SEND_TASKS = {
    OutgoingEmail: "lealtad.notifications.tasks.send_email",
    OutgoingSms: "lealtad.notifications.tasks.send_sms",
}


def lease() -> timedelta:
    return timedelta(seconds=getattr(settings, "OUTBOX_LEASE_SECONDS", LEASE_SECONDS))


def resend_stuck(now=None, batch: int = 500) -> int:
    """Enqueue a new task for every e-mail or SMS whose task was lost (django-tasks-db leaves a
    killed worker's task RUNNING for good): its worker died holding it (the lease ran out, the
    message unsent), or it has been due for a lease and nobody took it (the worker died between
    taking the task and the message) — in both cases with no task waiting for it. A duplicate
    is harmless: `claim` gives a message to one worker at a time."""
    from django_tasks_db.models import DBTaskResult

    now = now or timezone.now()
    due_before = now - lease()
    count = 0
    for model, task_path in SEND_TASKS.items():
        dead = Q(leased_until__lt=now)
        never_taken = Q(leased_until__isnull=True) & (
            Q(next_attempt_at__lte=due_before)
            | Q(next_attempt_at__isnull=True, created_at__lte=due_before)
        )
        pks = list(
            model.objects.filter(
                dead | never_taken,
                sent_at__isnull=True,
                cancelled_at__isnull=True,
                failed_at__isnull=True,
            )
            .order_by("created_at")
            .values_list("pk", flat=True)[:batch]
        )
        if not pks:
            continue
        waiting_tasks = set(
            DBTaskResult.objects.filter(
                status="READY", task_path=task_path, args_kwargs__args__0__in=pks
            ).values_list("args_kwargs__args__0", flat=True)
        )
        lost = [pk for pk in pks if pk not in waiting_tasks]
        with transaction.atomic():
            for pk in lost:
                enqueue(model(pk=pk))
        if lost:
            log.warning(
                "%d %s had lost their task (a worker died?): enqueued again",
                len(lost),
                model._meta.verbose_name_plural,
            )
        count += len(lost)
    return count


def claim(model, pk: int):
    """Issue 16, the first of three steps (claim → send → record): take one outbox message (an
    `OutgoingEmail` or `OutgoingSms`) for this worker in a short transaction, committed before
    anything is sent, so no lock is held while a mail server or an SMS provider answers. Returns
    the row, or None when it is sent, cancelled, failed, or held by another worker's lease.
    A lease that ran out with the message unsent is a worker that died mid-send: the row counts
    it (`interrupted`) and goes again, an e-mail with the Message-ID chosen here the first time."""
    now = timezone.now()
    with transaction.atomic():
        row = (
            model.objects.select_for_update()
            .filter(pk=pk, sent_at__isnull=True, cancelled_at__isnull=True)
            .filter(failed_at__isnull=True)
            .first()
        )
        if row is None:
            return None
        if row.leased_until is not None:
            if row.leased_until > now:
                return None  # another worker is sending it
            row.interrupted += 1
            # About when the first attempt in doubt began (kept until the message is sent).
            row.doubt_since = row.doubt_since or row.leased_until - lease()
            log.warning(
                "%s %s: the worker sending it died; sending it again (it may have arrived)",
                row._meta.verbose_name,
                row.pk,
            )
        row.leased_until = now + lease()
        fields = ["leased_until", "interrupted", "doubt_since"]
        if isinstance(row, OutgoingEmail) and not row.message_id:
            row.message_id = new_message_id(row)
            fields.append("message_id")
        row.save(update_fields=fields)
    return row


def record(write, deadline: float):
    """Issue 16, the third step: write what the send did (`write` runs in a transaction). The
    receiver has it already, so a lost database connection (a restarted server, a terminated
    backend) must not lose the record: reconnect and write again until `deadline` (monotonic
    time: the lease's end, after which another worker may send it again)."""
    while True:
        try:
            with transaction.atomic():
                return write()
        except (OperationalError, InterfaceError):
            if connection.in_atomic_block or time.monotonic() >= deadline:
                raise
            log.warning("the database was lost while recording a sent message: again")
            connection.close()
            time.sleep(0.5)


def record_sent(row, now, **fields) -> None:
    """Mark a claimed outbox message sent (its lease released), surviving a lost connection."""
    fields.update(
        sent_at=now,
        attempts=F("attempts") + 1,
        next_attempt_at=None,
        leased_until=None,
        doubt_since=None,
    )
    deadline = time.monotonic() + max(1.0, (row.leased_until - timezone.now()).total_seconds())
    record(lambda: type(row).objects.filter(pk=row.pk).update(**fields), deadline)


def record_failed(row, exc: Exception, now, *, hours: int, final: bool = False) -> str:
    """A claimed message was not sent: its error and its next attempt (`record_failure`), the
    lease released, and the task of that attempt enqueued, in one transaction."""

    def write():
        found = type(row).objects.select_for_update().get(pk=row.pk)
        if found.sent_at is not None:
            return found.status
        record_failure(found, exc, now, hours=hours, final=final)
        if found.failed_at is None:
            enqueue(found, run_after=found.next_attempt_at)
        return found.status

    deadline = time.monotonic() + max(1.0, (row.leased_until - timezone.now()).total_seconds())
    return record(write, deadline)


def new_message_id(row: OutgoingEmail) -> str:
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].strip("> ") or "lealtad.local"
    return make_msgid(idstring=f"outbox{row.pk}", domain=domain)


def send_one(email_id: int, now=None) -> str:
    """The task's work: send one e-mail if it still waits; on failure record the error and
    enqueue the next attempt after the backoff, or mark it failed once EMAIL_RETRY_HOURS have
    passed. Claim → send → record (issue 16): the claim is committed before the SMTP
    conversation and the record after it, so two tasks for one e-mail (a "try again now" beside
    the retry already queued) send it once, and no row lock waits on the mail server."""
    now = now or timezone.now()
    row = claim(OutgoingEmail, email_id)
    if row is None:
        return "done"
    mailer = _mailer()
    try:
        mailer.open()
        _send_message(mailer, row)
    except Exception as exc:  # any failure of the mail server: retried later
        _close_quietly(mailer)
        return record_failed(row, exc, now, hours=getattr(settings, "EMAIL_RETRY_HOURS", 48))
    record_sent(row, now)  # before QUIT: the server has the message once it answered the data
    _close_quietly(mailer)
    return "sent"


def _message(row: OutgoingEmail) -> EmailMessage:
    headers = {"Message-ID": row.message_id} if row.message_id else None
    return EmailMessage(
        row.subject, row.body, settings.DEFAULT_FROM_EMAIL, [row.to], headers=headers
    )


def _send_message(mailer, row: OutgoingEmail) -> None:
    if not mailer.send_messages([_message(row)]):
        # A backend that swallows its error says so only by counting 0.
        raise RuntimeError("the mail backend sent nothing")


def _close_quietly(mailer) -> None:
    try:
        mailer.close()
    except Exception:  # the message is sent or its failure recorded: a failed QUIT changes nothing
        log.info("closing the mail connection failed", exc_info=True)


def _send(mailer, row: OutgoingEmail, now) -> None:
    """`deliver`'s send: the row is locked by its transaction for the whole pass."""
    if not row.message_id:
        row.message_id = new_message_id(row)
    _send_message(mailer, row)
    row.sent_at = now
    row.attempts += 1
    row.next_attempt_at = None
    row.leased_until = row.doubt_since = None
    fields = ["sent_at", "attempts", "next_attempt_at", "leased_until", "doubt_since"]
    row.save(update_fields=[*fields, "message_id"])


def deliver(batch: int = 100, now=None) -> tuple[int, int]:
    """Send what is due in the outbox, oldest first; returns (sent, failed). Several senders
    may run at once on PostgreSQL: each takes rows the others have not locked."""
    now = now or timezone.now()
    sent = failed = 0
    with transaction.atomic():
        # Not what a worker holds (its lease): it is sending it now.
        rows = waiting(now).exclude(leased_until__gt=timezone.now()).order_by("created_at")
        if connection.features.has_select_for_update_skip_locked:
            rows = rows.select_for_update(skip_locked=True)
        rows = list(rows[:batch])
        if not rows:
            return 0, 0
        mailer = _mailer()
        try:
            mailer.open()
        except Exception as exc:  # the mail server is down: every row waits for its next turn
            for row in rows:
                _failed(row, exc, now)
            return 0, len(rows)
        try:
            for row in rows:
                try:
                    _send(mailer, row, now)
                except Exception as exc:  # any failure of the mail server: retried later
                    _failed(row, exc, now)
                    failed += 1
                else:
                    sent += 1
        finally:
            mailer.close()
    return sent, failed


def cancel(emails, reason: str, now=None) -> int:
    """Stop e-mails still waiting (the customer was anonymised): the one way one is not sent."""
    return emails.filter(sent_at__isnull=True, cancelled_at__isnull=True).update(
        cancelled_at=now or timezone.now(), next_attempt_at=None, last_error=reason[:300]
    )


def retry_now(emails) -> int:
    """The operator's "try again now", after fixing the mail server (or the SMS provider): a
    failed e-mail or SMS too gets a fresh task (and a fresh EMAIL_RETRY_HOURS, or
    SMS_RETRY_HOURS, of retries, counted from now)."""
    count = 0
    with transaction.atomic():
        for row in emails.filter(sent_at__isnull=True, cancelled_at__isnull=True):
            if row.failed_at is not None:
                row.retry_from = timezone.now()  # the retry window starts again
            row.failed_at = None
            row.next_attempt_at = None
            row.save(update_fields=["retry_from", "failed_at", "next_attempt_at"])
            enqueue(row)
            count += 1
    return count


@dataclass
class OutboxState:
    pending: int  # never tried yet
    failing: int  # tried, not sent, will be tried again
    oldest_failing: object  # created_at of the oldest failing one, or None
    failed: int = 0  # retried for EMAIL_RETRY_HOURS, given up: only the operator sends them


def outbox_state(model=OutgoingEmail) -> OutboxState:
    unsent = model.objects.filter(sent_at__isnull=True, cancelled_at__isnull=True)
    failing = unsent.filter(attempts__gt=0, failed_at__isnull=True)
    oldest = failing.order_by("created_at").values_list("created_at", flat=True).first()
    failed = unsent.filter(failed_at__isnull=False).count()
    return OutboxState(unsent.filter(attempts=0).count(), failing.count(), oldest, failed)


def _mailer():
    """The configured mail backend: `mailers` from Django 6.1 on, `get_connection` before."""
    if django.VERSION >= (6, 1):
        return mail.mailers["default"]
    return mail.get_connection()


def _failed(row: OutgoingEmail, exc: Exception, now) -> None:
    record_failure(row, exc, now, hours=getattr(settings, "EMAIL_RETRY_HOURS", 48))


def record_failure(row, exc: Exception, now, *, hours: int, final: bool = False) -> None:
    """One failed attempt of an outbox message (e-mail or SMS): its error, and the next attempt
    after the backoff, or failed once `hours` of retries have passed (at once when `final`: the
    provider refused the message itself, trying again would change nothing)."""
    row.attempts += 1
    row.leased_until = None  # released: its next task may take it
    row.last_error = f"{type(exc).__name__}: {exc}"[:300]
    row.next_attempt_at = now + retry_delay(row.attempts)
    if final or row.next_attempt_at - (row.retry_from or row.created_at) > timedelta(hours=hours):
        row.failed_at, row.next_attempt_at = now, None  # given up: the operator sees it
    fields = ["attempts", "last_error", "next_attempt_at", "failed_at", "leased_until"]
    row.save(update_fields=fields)
    # Loud, not silent: every failure is logged, and an error once it has failed for long.
    level = logging.ERROR if row.attempts >= 10 or row.failed_at else logging.WARNING
    log.log(
        level,
        "%s %s not sent (attempt %d, next at %s): %s",
        row._meta.verbose_name,
        row.pk,
        row.attempts,
        row.next_attempt_at.isoformat() if row.next_attempt_at else "never: failed",
        exc,
    )
