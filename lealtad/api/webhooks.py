"""I4 through the API: a merchant admin's webhook endpoints and their deliveries (API.md Part 2,
"Webhooks"). The same actions as the console (lealtad.webhooks.actions). Cashiers and POS keys
get 403: an endpoint decides where the merchant's customers' data goes."""

from typing import Annotated

from django.http import HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import StrictBool, StrictStr, StringConstraints

from lealtad.api import paging
from lealtad.api import schemas as s
from lealtad.api.auth import merchant_actor
from lealtad.core import inputs
from lealtad.core.errors import NotFound, ValidationFailed
from lealtad.network.models import Role
from lealtad.webhooks import actions
from lealtad.webhooks.models import Delivery

router = Router(tags=["webhooks"])
PROBLEMS = {code: s.Problem for code in (400, 401, 403, 404, 409, 422, 429)}

Url = Annotated[StrictStr, StringConstraints(min_length=1, max_length=2000, strip_whitespace=True)]
EventName = Annotated[StrictStr, StringConstraints(max_length=60)]
Description = Annotated[StrictStr, StringConstraints(max_length=200)]


class EndpointIn(Schema):
    url: Url = Field(examples=["https://pos.example.com/hooks/lealtad"])
    events: Annotated[list[EventName], Field(min_length=1, max_length=20)] = Field(
        examples=[["accrual.posted", "redemption.created"]]
    )
    description: Description = ""


class EndpointPatch(Schema):
    url: Url | None = None
    events: Annotated[list[EventName], Field(min_length=1, max_length=20)] | None = None
    description: Description | None = None
    active: StrictBool | None = None


class EndpointOut(Schema):
    id: str
    url: str
    events: list[str]
    description: str
    active: bool
    disabled_reason: str | None = Field(description="gone | failing | manual, or null")
    disabled_at: str | None
    created_at: str


class EndpointCreated(EndpointOut):
    secret: str = Field(description="whsec_<base64>: shown only here (and on rotation)")


class EndpointList(Schema):
    results: list[EndpointOut]


class SecretOut(Schema):
    secret: str
    previous_secret_valid_until: str = Field(
        description="The old secret signs beside the new one until then (24 hours)."
    )


class DeliveryOut(Schema):
    id: str
    event_id: str = Field(description="The webhook-id header, the same on every attempt.")
    type: str
    endpoint_id: str
    status: str = Field(description="pending | delivered | failed | cancelled")
    attempts: int
    last_status_code: int | None
    last_error: str | None
    last_attempt_at: str | None
    next_attempt_at: str | None
    delivered_at: str | None
    created_at: str


class DeliveryList(Schema):
    results: list[DeliveryOut]
    next_before: str | None = Field(description="Pass as `before` for the next (older) page.")


def _admin(request):
    actor = merchant_actor(request)
    actor.require(Role.MERCHANT_ADMIN)
    return actor


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None


def endpoint_out(endpoint) -> dict:
    return {
        "id": str(endpoint.pk),
        "url": endpoint.url,
        "events": list(endpoint.events),
        "description": endpoint.description,
        "active": endpoint.active,
        "disabled_reason": endpoint.disabled_reason or None,
        "disabled_at": _iso(endpoint.disabled_at),
        "created_at": endpoint.created_at.isoformat(),
    }


def delivery_out(delivery) -> dict:
    return {
        "id": str(delivery.pk),
        "event_id": delivery.event_id,
        "type": delivery.event.type,
        "endpoint_id": str(delivery.endpoint_id),
        "status": delivery.status,
        "attempts": delivery.attempts,
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error or None,
        "last_attempt_at": _iso(delivery.last_attempt_at),
        "next_attempt_at": _iso(delivery.next_attempt_at),
        "delivered_at": _iso(delivery.delivered_at),
        "created_at": delivery.created_at.isoformat(),
    }


@router.post("/webhooks", response={201: EndpointCreated, **PROBLEMS})
def create(request, payload: EndpointIn):
    """A new endpoint receiving `events` (API.md's event types). The secret is in this answer
    only. 422 `webhook_url_not_allowed` (not https, or a private, loopback or link-local
    address); 422 `validation_error` on `events` for an unknown event."""
    actor = _admin(request)
    endpoint, secret = actions.create_endpoint(
        actor.merchant,
        url=payload.url,
        events=payload.events,
        description=payload.description,
        staff=actor.user,
    )
    return Status(201, {**endpoint_out(endpoint), "secret": secret})


@router.get("/webhooks", response={200: EndpointList, **PROBLEMS})
def list_endpoints(
    request, response: HttpResponse, limit: paging.Limit = 100, offset: paging.Offset = 0
):
    """The merchant's endpoints, oldest first (no secrets)."""
    actor = _admin(request)
    rows = actor.merchant.webhook_endpoints.order_by("created_at", "pk")
    rows, _next = paging.page(request, response, rows, limit, offset)
    return {"results": [endpoint_out(e) for e in rows]}


@router.get("/webhooks/{endpoint_id}", response={200: EndpointOut, **PROBLEMS})
def get(request, endpoint_id: str):
    actor = _admin(request)
    return endpoint_out(actions.get_endpoint(actor.merchant, endpoint_id))


@router.patch("/webhooks/{endpoint_id}", response={200: EndpointOut, **PROBLEMS})
def update(request, endpoint_id: str, payload: EndpointPatch):
    """Change the URL (checked again), the events or the description; `active: false` stops it
    (its waiting deliveries are cancelled), `active: true` starts it again."""
    actor = _admin(request)
    endpoint = actions.update_endpoint(
        actor.merchant,
        endpoint_id,
        url=payload.url,
        events=payload.events,
        description=payload.description,
    )
    if payload.active is False and endpoint.active:
        actions.disable_endpoint(endpoint)
    elif payload.active is True and not endpoint.active:
        actions.enable_endpoint(endpoint)
    return endpoint_out(endpoint)


@router.delete("/webhooks/{endpoint_id}", response={204: None, **PROBLEMS})
def delete(request, endpoint_id: str):
    actor = _admin(request)
    actions.delete_endpoint(actor.merchant, endpoint_id)
    return Status(204, None)


@router.post("/webhooks/{endpoint_id}/rotate-secret", response={200: SecretOut, **PROBLEMS})
def rotate(request, endpoint_id: str):
    """A new secret, shown once; the old one keeps signing beside it for 24 hours."""
    actor = _admin(request)
    endpoint = actions.get_endpoint(actor.merchant, endpoint_id)
    secret = actions.rotate_secret(endpoint)
    return {
        "secret": secret,
        "previous_secret_valid_until": endpoint.previous_secret_until.isoformat(),
    }


@router.post("/webhooks/{endpoint_id}/test", response={202: DeliveryOut, **PROBLEMS})
def send_test(request, endpoint_id: str):
    """A `webhook.test` event to this endpoint only. 409 `webhook_endpoint_disabled`."""
    actor = _admin(request)
    endpoint = actions.get_endpoint(actor.merchant, endpoint_id)
    return Status(202, delivery_out(actions.send_test_event(endpoint)))


MAX_PAGE = 100


@router.get("/webhooks/{endpoint_id}/deliveries", response={200: DeliveryList, **PROBLEMS})
def deliveries(
    request,
    endpoint_id: str,
    limit: int = Query(50, ge=1, le=MAX_PAGE),
    before: str | None = None,
):
    """The endpoint's deliveries, newest first, `limit` a page (1–100, default 50); `before`
    (a delivery id, the previous page's `next_before`) gives the older ones."""
    actor = _admin(request)
    endpoint = actions.get_endpoint(actor.merchant, endpoint_id)
    rows = Delivery.objects.filter(endpoint=endpoint).select_related("event")
    if before is not None:
        if not inputs.is_number(before) or len(before) > 18:
            message = _("A delivery id, as given in next_before.")
            raise ValidationFailed([{"field": "before", "message": message}])
        rows = rows.filter(pk__lt=int(before))
    page = list(rows.order_by("-pk")[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    return {
        "results": [delivery_out(d) for d in page],
        "next_before": str(page[-1].pk) if more else None,
    }


@router.post("/webhooks/deliveries/{delivery_id}/retry", response={202: DeliveryOut, **PROBLEMS})
def retry(request, delivery_id: str):
    """Send this delivery again now (the same event: the same `webhook-id` and body).
    409 `webhook_endpoint_disabled`."""
    actor = _admin(request)
    found = None
    if inputs.is_number(delivery_id) and len(delivery_id) <= 18:
        found = (
            Delivery.objects.select_related("event")
            .filter(pk=int(delivery_id), endpoint__merchant=actor.merchant)
            .first()
        )
    if found is None:
        raise NotFound(_("Webhook delivery not found."))
    row = actions.redeliver(found)
    row.event = found.event
    return Status(202, delivery_out(row))
