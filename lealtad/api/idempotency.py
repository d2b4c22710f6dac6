"""Idempotency-Key for POSTs that move value (see API.md).

A repeat with the same key and body within 24 hours gets the first response and moves nothing;
the same key with another body gets 422; a repeat while the first still runs gets 409.

A key belongs to one owner and one credential: on merchant endpoints the merchant and its POS API
key or the staff member behind a token (a cashier's refusal is never replayed to the admin who
sends the same key); on the customer's own API (/api/v1/me*) the customer behind the app token
(`customer:<id>`: a key survives signing in again, and two customers' keys never meet).

The key is held by a lock that lives exactly as long as the request's transaction, and the stored
response is written in that same transaction. A request whose worker dies (kill -9, OOM, a
terminated database backend) rolls back its work and its lock together, so the client's retry
does the work once: there is no "in progress" row to outlive the request. On PostgreSQL the lock
is `pg_try_advisory_xact_lock`; SQLite's write transactions (IMMEDIATE) serialise on their own.
"""

import hashlib
import json
from datetime import timedelta

from django.db import connection, transaction
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from lealtad.api.auth import actor_from_request
from lealtad.api.models import IdempotencyRecord
from lealtad.api.problems import problem

IDEMPOTENT_PATHS = (
    "/api/v1/accruals",
    "/api/v1/coins/earnings",
    "/api/v1/coin-payments",
    "/api/v1/point-payments",
    "/api/v1/redemptions",
    "/api/v1/customers",
    "/api/v1/transactions/",
    "/api/v1/promotions/",
    "/api/v1/gift-offers/",
    # I2: POST /invoices and /invoices/{id}/assign.
    "/api/v1/invoices",
    "/api/v1/ratings/",  # a reply may carry a gift offer
)
# The customer's own API (A1): coins given, spent and claimed, ratings (which may bring a gift).
CUSTOMER_IDEMPOTENT_PATHS = (
    "/api/v1/me/donations",
    "/api/v1/me/coin-vouchers",
    "/api/v1/me/ratings",
    "/api/v1/me/claims",
    "/api/v1/me/conversion-requests",
)
KEEP = timedelta(hours=24)


IDEMPOTENCY_HEADER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "1 to 255 characters. A repeat with the same key and body within 24 hours returns the "
        "first response (with `Idempotent-Replayed: true`) and moves nothing; the same key with "
        "another body is 422 `idempotency_key_reused`; a repeat while the first still runs is "
        "409 `idempotency_in_progress`."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}


def idempotency_in_schema(schema: dict) -> dict:
    """Every POST the middleware guards documents the `Idempotency-Key` header (OpenAPI)."""
    for path, operations in schema.get("paths", {}).items():
        if not path.startswith(IDEMPOTENT_PATHS + CUSTOMER_IDEMPOTENT_PATHS):
            continue
        operation = operations.get("post")
        if operation is None:
            continue
        parameters = operation.setdefault("parameters", [])
        if not any(p.get("name") == "Idempotency-Key" for p in parameters):
            parameters.append(dict(IDEMPOTENCY_HEADER))
    return schema


def fingerprint(method: str, path: str, data) -> str:
    """What a key is bound to: the method, the path and the body, parsed (the same JSON with other
    spacing or key order is the same request). A batch item is fingerprinted as the single
    `POST /accruals` of its body would be, so that its key holds across both."""
    body = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(method.encode() + path.encode() + b"\0" + body).hexdigest()


def _multipart_fingerprint(request) -> str:
    """A multipart upload (A7's claim with its invoice photo) by its fields and its files'
    contents, not its raw bytes: a client's retry comes with a new boundary, and the body is not
    read into memory (Django streams the files to disk; see InputGuardMiddleware)."""
    files = {}
    for name, uploads in request.FILES.lists():
        files[name] = []
        for upload in uploads:
            digest = hashlib.sha256()
            for chunk in upload.chunks():
                digest.update(chunk)
            upload.seek(0)
            files[name].append([upload.name, digest.hexdigest()])
    fields = {name: values for name, values in request.POST.lists()}
    return fingerprint(request.method, request.path, {"fields": fields, "files": files})


def _fingerprint(request) -> str:
    if request.content_type == "multipart/form-data":
        return _multipart_fingerprint(request)
    try:
        data = json.loads(request.body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return hashlib.sha256(
            request.method.encode() + request.path.encode() + b"\0" + request.body
        ).hexdigest()
    return fingerprint(request.method, request.path, data)


def credential_of(actor) -> str:
    """Who the key belongs to within the merchant: `apikey:<id>` or `user:<id>`. A staff member's
    key survives a new token (tokens last 12 hours, keys 24): a retry after signing in again must
    be answered from the first response, not do the work twice."""
    return str(actor)


def owned_by(owner) -> dict:
    """The filter (and the fields) of the records of a key's owner: a Merchant or a Customer."""
    from lealtad.customers.models import Customer

    return {"customer": owner} if isinstance(owner, Customer) else {"merchant": owner}


def lock_id(owner_id, credential: str, key: str) -> int:
    """A signed 64-bit number for PostgreSQL's advisory lock; a collision only costs a 409. A
    customer's credential (`customer:<id>`) never equals a merchant's, so their locks differ."""
    digest = hashlib.blake2b(f"{owner_id}\0{credential}\0{key}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big", signed=True)


def _try_lock(owner_id, credential: str, key: str) -> bool:
    if connection.vendor != "postgresql":
        return True  # SQLite: the IMMEDIATE transaction already holds the database's write lock
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [lock_id(owner_id, credential, key)])
        return cursor.fetchone()[0]


def _replay(record: IdempotencyRecord):
    reply = HttpResponse(
        bytes(record.response_body or b""),
        status=record.status_code,
        content_type=record.content_type or "application/json",
    )
    reply["Idempotent-Replayed"] = "true"
    return reply


def answer_from(record: IdempotencyRecord, fingerprint: str):
    """What a repeat gets: the first response, or 422 when the key came with another request."""
    if record.request_hash != fingerprint:
        return problem(
            422,
            "idempotency_key_reused",
            "Idempotency-Key reused",
            "This Idempotency-Key was used with a different request.",
        )
    return _replay(record)


def recorded(owner, credential: str, keys) -> dict:
    """The live records of these keys, by key, in one query. A record exists only once its work
    is committed (see above), so answering from it needs no lock: a retried batch replays its
    items from this instead of a lock and a look-up each."""
    keys = list(keys)
    if not keys:
        return {}
    rows = IdempotencyRecord.objects.filter(
        **owned_by(owner),
        credential=credential,
        key__in=keys,
        created_at__gte=timezone.now() - KEEP,
    )
    return {record.key: record for record in rows}


def _in_progress():
    return problem(
        409,
        "idempotency_in_progress",
        "Request in progress",
        "A request with this Idempotency-Key is still running; retry shortly.",
    )


class IdempotencyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        key = request.headers.get("Idempotency-Key")
        if (
            key is None
            or request.method != "POST"
            or not request.path.startswith(IDEMPOTENT_PATHS + CUSTOMER_IDEMPOTENT_PATHS)
        ):
            return self.get_response(request)
        if not 1 <= len(key) <= 255 or not key.isprintable():
            # A control character (NUL above all) cannot be stored: refused, not a 500.
            return problem(
                422,
                "validation_error",
                "The data sent is not valid",
                "Idempotency-Key must be 1 to 255 characters.",
                errors=[{"field": "Idempotency-Key", "message": _("From 1 to 255 characters.")}],
            )
        owner, credential = _owner_of(request)
        if owner is None:
            return self.get_response(request)  # the endpoint answers 401/403
        return run_once(
            owner,
            credential,
            key,
            request.method,
            request.path,
            _fingerprint(request),
            lambda: self.get_response(request),
        )


def _owner_of(request):
    """Whose key this is: (merchant, its credential) for a merchant credential on a merchant path,
    (customer, `customer:<id>`) for a customer's app token on /api/v1/me*; (None, "") for anything
    else (no credential, or one the endpoint will refuse), which is left to the endpoint."""
    if request.path.startswith(CUSTOMER_IDEMPOTENT_PATHS):
        from lealtad.app.actions import session_for_token

        scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
        session = session_for_token(token.strip()) if scheme.lower() == "bearer" else None
        if session is None:
            return None, ""
        return session.customer, f"customer:{session.customer_id}"
    actor = actor_from_request(request)
    if actor is None or actor.merchant is None:
        return None, ""
    return actor.merchant, credential_of(actor)


def run_once(owner, credential: str, key: str, method: str, path: str, fingerprint, work):
    """`work()` (an HttpResponse) done once for this key: the first response replayed to a repeat
    with the same fingerprint, 422 for another fingerprint, 409 while the first still runs. The
    middleware calls it for a request; the batch for each item that carries its own key, inside
    that item's transaction (or savepoint), so that the item's work and its record stand or fall
    together. `owner` is a Merchant or, for the customer's own API, a Customer."""
    now = timezone.now()
    try:
        with transaction.atomic():
            if not _try_lock(owner.pk, credential, key):
                return _in_progress()
            existing = IdempotencyRecord.objects.filter(
                **owned_by(owner), credential=credential, key=key
            ).first()
            if existing is not None and existing.created_at >= now - KEEP:
                return answer_from(existing, fingerprint)
            if existing is not None:  # past its 24 hours: the same key is a new request
                existing.delete()
            response = work()
            if response.status_code >= 500:
                # Nothing is kept: the work and the key roll back, the client may retry.
                raise _ServerError(response)
            IdempotencyRecord.objects.create(
                **owned_by(owner),
                credential=credential,
                key=key,
                method=method,
                path=path[:255],
                request_hash=fingerprint,
                completed=True,
                status_code=response.status_code,
                response_body=response.content,
                content_type=response.get("Content-Type", ""),
                created_at=now,
            )
    except _ServerError as failure:
        return failure.response
    return response


class _ServerError(Exception):
    def __init__(self, response):
        self.response = response
