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


class OutgoingEmail(models.Model):
    merchant = models.ForeignKey(Merchant, null=True, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(
        Customer, null=True, on_delete=models.SET_NULL, related_name="emails"
    )
    event = models.CharField(max_length=12, choices=Event.choices)
    to = models.EmailField()
    subject = models.CharField(max_length=200)
    body = models.TextField()
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    # M3: a failed e-mail waits until then (a capped backoff) and is tried again, for as long
    # as it takes: none is ever given up on. Null: due now.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Only a deliberate act stops an e-mail (the customer was anonymised); `last_error` says why.
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # M3: retried for EMAIL_RETRY_HOURS (48 by default) and then marked failed, `last_error` says
    # why; the operator's "try again now" clears it and enqueues it again.
    failed_at = models.DateTimeField(null=True, blank=True)
    # When the operator's "try again now" started a new retry window (null: at created_at).
    retry_from = models.DateTimeField(null=True, blank=True)

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

    @property
    def status(self) -> str:
        if self.sent_at is not None:
            return "sent"
        if self.cancelled_at is not None:
            return "cancelled"
        if self.failed_at is not None:
            return "failed"
        return "failing" if self.attempts else "pending"


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
