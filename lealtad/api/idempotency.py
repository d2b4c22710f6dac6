"""Idempotency-Key for POSTs that move value (see API.md).

A repeat with the same key and body within 24 hours gets the first response and moves nothing;
the same key with another body gets 422; a repeat while the first still runs gets 409.
"""

import contextlib
import hashlib
import json
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from lealtad.api.auth import actor_from_request
from lealtad.api.models import IdempotencyRecord
from lealtad.api.problems import problem

IDEMPOTENT_PATHS = (
    "/api/v1/accruals",
    "/api/v1/redemptions",
    "/api/v1/customers",
    "/api/v1/transactions/",
    "/api/v1/promotions/",
    "/api/v1/gift-offers/",
)
KEEP = timedelta(hours=24)


def _fingerprint(request) -> str:
    body = request.body
    # The same JSON with other spacing or key order is the same request.
    with contextlib.suppress(ValueError, UnicodeDecodeError):
        body = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(
        request.method.encode() + request.path.encode() + b"\0" + body
    ).hexdigest()


def _replay(record: IdempotencyRecord):
    reply = HttpResponse(
        bytes(record.response_body or b""),
        status=record.status_code,
        content_type=record.content_type or "application/json",
    )
    reply["Idempotent-Replayed"] = "true"
    return reply


class IdempotencyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        key = request.headers.get("Idempotency-Key")
        if key is None or request.method != "POST" or not request.path.startswith(IDEMPOTENT_PATHS):
            return self.get_response(request)
        if not 1 <= len(key) <= 255:
            return problem(
                422,
                "validation_error",
                "The data sent is not valid",
                "Idempotency-Key must be 1 to 255 characters.",
                errors=[{"field": "Idempotency-Key", "message": _("From 1 to 255 characters.")}],
            )
        actor = actor_from_request(request)
        if actor is None or actor.merchant is None:
            return self.get_response(request)  # the endpoint answers 401/403
        now = timezone.now()
        fingerprint = _fingerprint(request)
        for _attempt in range(2):
            try:
                # Committed on its own, before the work starts: simultaneous repeats see it.
                with transaction.atomic():
                    record = IdempotencyRecord.objects.create(
                        merchant=actor.merchant,
                        key=key,
                        method=request.method,
                        path=request.path[:255],
                        request_hash=fingerprint,
                        created_at=now,
                    )
                break
            except IntegrityError:
                existing = IdempotencyRecord.objects.filter(
                    merchant=actor.merchant, key=key
                ).first()
                if existing is None:
                    continue
                if existing.created_at < now - KEEP:
                    IdempotencyRecord.objects.filter(pk=existing.pk).delete()
                    continue
                if existing.request_hash != fingerprint:
                    return problem(
                        422,
                        "idempotency_key_reused",
                        "Idempotency-Key reused",
                        "This Idempotency-Key was used with a different request.",
                    )
                if not existing.completed:
                    return problem(
                        409,
                        "idempotency_in_progress",
                        "Request in progress",
                        "A request with this Idempotency-Key is still running; retry shortly.",
                    )
                return _replay(existing)
        else:
            return problem(409, "idempotency_in_progress", "Request in progress")
        try:
            with transaction.atomic():
                response = self.get_response(request)
                if response.status_code >= 500:
                    raise _ServerError(response)
                IdempotencyRecord.objects.filter(pk=record.pk).update(
                    completed=True,
                    status_code=response.status_code,
                    response_body=response.content,
                    content_type=response.get("Content-Type", ""),
                )
        except _ServerError as failure:
            # Nothing was done: free the key so that the client may retry.
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
            return failure.response
        except BaseException:
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
            raise
        return response


class _ServerError(Exception):
    def __init__(self, response):
        self.response = response
