"""M1: the e-mails to customers, written to an outbox in the same transaction as the movement
they tell of (so none is lost and none tells of a movement that was rolled back), and sent by
a task (`tasks.send_email`) enqueued in that transaction and run by `lealtad worker`."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from lealtad.customers.models import Customer
from lealtad.network.models import Merchant


class Event(models.TextChoices):
    JOIN = "join", _("Joining the program")
    ACCRUAL = "accrual", _("Each accrual")
    REDEMPTION = "redemption", _("Each redemption")
    # A confirmation code for a change of contact or document (customers.identity).
    CODE = "code", _("A confirmation code")
    # F1/F4/F6: the invitation to rate a visit, a merchant's reply, the automatic reply.
    RATING_INVITE = "rate_invite", _("An invitation to rate a visit")
    RATING_REPLY = "rate_reply", _("A reply to a rating")
    AUTO_REPLY = "rate_auto", _("The automatic reply to a rating")
    # I4: to the merchant's admins, a webhook endpoint was disabled for failing.
    WEBHOOK = "webhook", _("A webhook endpoint disabled")
    # A7: a purchase claim approved or rejected (lealtad.claims).
    CLAIM = "claim", _("A purchase claim decided")


class Outgoing(models.Model):
    """What every outbox message shares (e-mail, SMS): written in the transaction of what it
    tells, sent by a task, retried with backoff (`actions.record_failure`), then failed and
    shown to the operator, who can send it again."""

    merchant = models.ForeignKey(Merchant, null=True, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    # M3: a failed message waits until then (a capped backoff) and is tried again. Null: due now.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Only a deliberate act stops a message (the customer was anonymised); `last_error` says why.
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # M3: retried for EMAIL_RETRY_HOURS / SMS_RETRY_HOURS and then marked failed, `last_error`
    # says why; the operator's "try again now" clears it and enqueues it again.
    failed_at = models.DateTimeField(null=True, blank=True)
    # When the operator's "try again now" started a new retry window (null: at created_at).
    retry_from = models.DateTimeField(null=True, blank=True)
    # Issue 16: a worker sending it holds it until then (`actions.claim`, committed before the
    # send). A lease that runs out with the message unsent means its worker died mid-send.
    leased_until = models.DateTimeField(null=True, blank=True)
    # How many times a worker died (or lost its database) holding it: each such attempt may
    # have reached the receiver before it was recorded, so a resend may be a duplicate (an
    # e-mail's keeps its Message-ID). The one window "exactly once" cannot close: docs/tasks.md.
    interrupted = models.PositiveSmallIntegerField(default=0)
    # When the last interrupted attempt began, until the message is sent: an SMS asks the
    # provider whether it took the message then before it sends it again (`sms.send_one`).
    doubt_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def status(self) -> str:
        if self.sent_at is not None:
            return "sent"
        if self.cancelled_at is not None:
            return "cancelled"
        if self.failed_at is not None:
            return "failed"
        return "failing" if self.attempts else "pending"


class OutgoingEmail(Outgoing):
    customer = models.ForeignKey(
        Customer, null=True, on_delete=models.SET_NULL, related_name="emails"
    )
    event = models.CharField(max_length=12, choices=Event.choices)
    to = models.EmailField()
    subject = models.CharField(max_length=200)
    body = models.TextField()
    # The Message-ID header, chosen at its first attempt and sent with every attempt: a resend
    # after a worker died mid-send is the same message to the receiver (issue 16).
    message_id = models.CharField(max_length=200, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["next_attempt_at", "created_at"],
                condition=Q(sent_at__isnull=True, cancelled_at__isnull=True),
                name="outbox_waiting",
            )
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.to}"


class OutgoingSms(Outgoing):
    """M2: an SMS to a customer (a payment or redemption code, a contact-change code), sent by
    `tasks.send_sms` through the provider SMS_URL names (`sms.py`)."""

    customer = models.ForeignKey(
        Customer, null=True, on_delete=models.SET_NULL, related_name="sms_messages"
    )
    # What it is for, a short stable word: "contact-code", "coin-payment", "remote-redemption"…
    purpose = models.CharField(max_length=40)
    to = models.CharField(max_length=20)  # E.164
    body = models.CharField(max_length=640)
    # The provider's id for the message (Twilio's "SM…" sid), once it took it.
    provider_id = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("outgoing SMS")
        verbose_name_plural = _("outgoing SMS")
        indexes = [
            models.Index(
                fields=["next_attempt_at", "created_at"],
                condition=Q(sent_at__isnull=True, cancelled_at__isnull=True),
                name="sms_outbox_waiting",
            )
        ]

    def __str__(self) -> str:
        return f"{self.purpose} → {self.to}"


class ScheduledRun(models.Model):
    """M2: one row per (periodic job, period): taking it is what lets one worker, and only one,
    enqueue that period's run (`engine.tick`)."""

    job = models.CharField(max_length=60)
    period = models.CharField(max_length=40)
    enqueued_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "period"], name="scheduled_run_once")]

    def __str__(self) -> str:
        return f"{self.job} {self.period}"
