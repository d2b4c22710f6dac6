"""I4: webhooks (Standard Webhooks). A merchant's `Endpoint`s subscribe to event types; each
`Event` is written in the transaction of the movement it reports (`events.emit`) with one
`Delivery` per subscribed endpoint, and the task engine delivers it, signed, with retries
(`delivery.py`)."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from lealtad.network.models import Merchant


class DisabledReason(models.TextChoices):
    NONE = "", _("Active")
    GONE = "gone", _("The receiver answered 410 Gone")
    FAILING = "failing", _("Failing for too long")
    MANUAL = "manual", _("Disabled by an admin")


class Endpoint(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    merchant = models.ForeignKey(
        Merchant, on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.CharField(_("URL"), max_length=2000)
    description = models.CharField(_("description"), max_length=200, blank=True)
    # The event types it receives (events.EVENT_TYPES), a list of strings.
    events = models.JSONField(_("events"), default=list)
    # "whsec_" + base64 of random bytes. Kept, not hashed: every delivery is signed with it
    # (HMAC needs the key itself); shown to the admin once, at creation or rotation.
    secret = models.CharField(max_length=80)
    # After a rotation the old secret also signs (a second signature) until this time.
    previous_secret = models.CharField(max_length=80, blank=True)
    previous_secret_until = models.DateTimeField(null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)
    disabled_reason = models.CharField(
        max_length=10, choices=DisabledReason.choices, blank=True, default=""
    )
    disabled_at = models.DateTimeField(null=True, blank=True)
    # The first failure since the last success: failing for WEBHOOK_DISABLE_AFTER_HOURS disables.
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        indexes = [models.Index(fields=["merchant", "active"], name="webhook_endpoint_active")]

    def __str__(self) -> str:
        return self.url


class Event(models.Model):
    # "msg_" + random: the `webhook-id` header, the same on every attempt of every endpoint.
    id = models.CharField(primary_key=True, max_length=40, editable=False)
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="+")
    type = models.CharField(max_length=40)
    # The exact body: {"type", "timestamp", "data"}.
    payload = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        indexes = [models.Index(fields=["merchant", "-created_at"], name="webhook_event_recent")]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


class Delivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")  # retried for the whole schedule, given up
        CANCELLED = "cancelled", _("Cancelled")  # the endpoint was disabled

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    last_response = models.CharField(max_length=500, blank=True)  # the first 500 characters
    delivered_at = models.DateTimeField(null=True, blank=True)
    # The lease of the worker sending it now: nobody else sends it before this time, and past
    # it a killed worker's delivery is taken again (delivery.resend_stuck).
    leased_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="webhook_delivery_once")
        ]
        indexes = [
            models.Index(fields=["endpoint", "-created_at"], name="webhook_delivery_recent"),
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.endpoint_id} ({self.status})"
