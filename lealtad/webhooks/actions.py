"""I4: what merchant admins do with webhooks (the API and the console call these)."""

import base64
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from lealtad.core.errors import LealtadError, NotFound, ValidationFailed
from lealtad.core.ids import parse_id
from lealtad.webhooks import targets
from lealtad.webhooks.events import EVENT_TYPES, TEST_EVENT, _write
from lealtad.webhooks.models import Delivery, DisabledReason, Endpoint
from lealtad.webhooks.targets import WebhookUrlNotAllowed

__all__ = [
    "ROTATION_OVERLAP",
    "EndpointDisabled",
    "WebhookUrlNotAllowed",
    "create_endpoint",
    "delete_endpoint",
    "disable_endpoint",
    "enable_endpoint",
    "get_endpoint",
    "new_secret",
    "redeliver",
    "rotate_secret",
    "send_test_event",
    "update_endpoint",
]
# After a rotation the old secret signs too for this long: receivers switch without a gap.
ROTATION_OVERLAP = timedelta(hours=24)


class EndpointDisabled(LealtadError):
    code, status = "webhook_endpoint_disabled", 409
    title = gettext_lazy("This webhook endpoint is disabled: enable it first")


def new_secret() -> str:
    """ "whsec_" + base64 of 24 random bytes (192 bits), the Standard Webhooks form."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def _clean_events(events) -> list[str]:
    if not isinstance(events, list | tuple) or not events:
        raise ValidationFailed([{"field": "events", "message": _("Choose at least one event.")}])
    unknown = [e for e in events if not isinstance(e, str) or e not in EVENT_TYPES]
    if unknown:
        raise ValidationFailed(
            [
                {
                    "field": "events",
                    "message": _("Unknown event: %(event)s.") % {"event": str(unknown[0])},
                }
            ]
        )
    return list(dict.fromkeys(events))  # without repeats, in the order given


def _clean_description(description) -> str:
    description = (description or "").strip()
    if len(description) > 200:
        raise ValidationFailed([{"field": "description", "message": _("200 characters at most.")}])
    return description


def create_endpoint(
    merchant, *, url: str, events, description: str = "", staff=None
) -> tuple[Endpoint, str]:
    """A new endpoint receiving `events`; returns it and its secret (shown once)."""
    url = targets.check(url)
    events = _clean_events(events)
    description = _clean_description(description)
    secret = new_secret()
    endpoint = Endpoint.objects.create(
        merchant=merchant,
        url=url,
        events=events,
        description=description,
        secret=secret,
        created_by=staff,
    )
    return endpoint, secret


def get_endpoint(merchant, endpoint_id) -> Endpoint:
    """The merchant's endpoint; another merchant's (or none) → NotFound."""
    pk = parse_id(endpoint_id, "webhook endpoint")
    try:
        return Endpoint.objects.get(merchant=merchant, pk=pk)
    except Endpoint.DoesNotExist:
        raise NotFound(_("Webhook endpoint not found.")) from None


def update_endpoint(merchant, endpoint_id, *, url=None, events=None, description=None) -> Endpoint:
    """Change what is given (None: unchanged); the URL is checked again."""
    changes = {}
    if url is not None:
        changes["url"] = targets.check(url)
    if events is not None:
        changes["events"] = _clean_events(events)
    if description is not None:
        changes["description"] = _clean_description(description)
    with transaction.atomic():
        endpoint = get_endpoint(merchant, endpoint_id)
        endpoint = Endpoint.objects.select_for_update().get(pk=endpoint.pk)
        for name, value in changes.items():
            setattr(endpoint, name, value)
        if changes:
            endpoint.save(update_fields=list(changes))
    return endpoint


def delete_endpoint(merchant, endpoint_id) -> None:
    """Gone with its deliveries (their tasks find nothing to send); the events stay."""
    get_endpoint(merchant, endpoint_id).delete()


def rotate_secret(endpoint: Endpoint, now=None) -> str:
    """A new secret, returned (shown once); the current one keeps signing beside it for 24 h,
    so every delivery carries both signatures while the receiver switches."""
    now = now or timezone.now()
    secret = new_secret()
    with transaction.atomic():
        row = Endpoint.objects.select_for_update().get(pk=endpoint.pk)
        row.previous_secret, row.previous_secret_until = row.secret, now + ROTATION_OVERLAP
        row.secret = secret
        row.save(update_fields=["secret", "previous_secret", "previous_secret_until"])
    endpoint.secret, endpoint.previous_secret = row.secret, row.previous_secret
    endpoint.previous_secret_until = row.previous_secret_until
    return secret


def enable_endpoint(endpoint: Endpoint) -> Endpoint:
    """Active again (after 410 Gone, too many failures or a manual stop); its failure clock
    starts from zero. Deliveries cancelled meanwhile stay cancelled: `redeliver` sends one."""
    Endpoint.objects.filter(pk=endpoint.pk).update(
        active=True, disabled_reason="", disabled_at=None, failing_since=None
    )
    endpoint.refresh_from_db()
    return endpoint


def disable_endpoint(endpoint: Endpoint, reason=DisabledReason.MANUAL, now=None) -> bool:
    """Stop sending to it and cancel what waits for it; False if it was already disabled."""
    now = now or timezone.now()
    with transaction.atomic():
        changed = Endpoint.objects.filter(pk=endpoint.pk, active=True).update(
            active=False, disabled_reason=reason, disabled_at=now
        )
        Delivery.objects.filter(endpoint=endpoint, status=Delivery.Status.PENDING).update(
            status=Delivery.Status.CANCELLED, next_attempt_at=None
        )
    endpoint.refresh_from_db()
    return bool(changed)


def redeliver(delivery: Delivery, now=None) -> Delivery:
    """Send this delivery again now, whatever became of it: the same event, so the same
    `webhook-id` and body (a receiver that saw it already can tell). One attempt is added;
    if it fails, it is retried as the schedule still allows after its attempts so far."""
    from lealtad.webhooks.delivery import enqueue

    now = now or timezone.now()
    with transaction.atomic():
        row = Delivery.objects.select_for_update().select_related("endpoint").get(pk=delivery.pk)
        if not row.endpoint.active:
            raise EndpointDisabled()
        row.status = Delivery.Status.PENDING
        row.next_attempt_at = now
        row.save(update_fields=["status", "next_attempt_at"])
        enqueue(row.pk)
    return row


def send_test_event(endpoint: Endpoint, now=None) -> Delivery:
    """An event of type `webhook.test` to this endpoint only (even if it subscribes to
    nothing of the kind): shows the receiver's set-up works. Returns its delivery."""
    if not endpoint.active:
        raise EndpointDisabled()
    data = {
        "endpoint_id": endpoint.pk,
        "merchant_id": endpoint.merchant_id,
        "message": "Lealtad webhook test",
    }
    event = _write(endpoint.merchant, TEST_EVENT, data, [endpoint.pk], now)
    return event.deliveries.get()
