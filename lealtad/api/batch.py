"""`POST /api/v1/accruals/batch` (issue 12): a POS syncing after being offline sends up to 500
accruals at once; each item answers on its own what the single `POST /accruals` would answer.

Never twice (duplicate orders after an offline sync are the open wound of Odoo's POS):
- invoice numbers hold across batch and single calls (the same unique constraint);
- an item's own `idempotency_key` is kept in the same records as the single call's
  `Idempotency-Key` header (same merchant, credential, path and fingerprint), so a retried batch
  gets each item's first answer, 201 and body, and a single call with that key after the batch
  replays the item (and the other way round);
- the batch's own `Idempotency-Key` header replays the whole response (the middleware: the batch
  then runs in one transaction, each item in a savepoint).

Without that header the items commit in chunks of `CHUNK`, each item in its own savepoint: one
commit (one WAL flush) per chunk instead of per item makes the batch faster (docs/benchmark.md),
and a chunk holds its customers' account rows for well under a second on a quiet server, so a
till accruing for one of them meanwhile hardly waits. A batch cut short keeps the chunks it
committed; its retry answers those items from their keys (or as duplicate invoices, for items
without a key) and does the rest.

On PostgreSQL the common items (an existing member, no fraud rule, no accrual promotion) of each
window of `SET_CHUNK` are posted set-based first, in a few statements for the whole window
(`bulk_batch`, `ledger.bulk`; issue 15); the rest go item by item as above. SQLite keeps the
per-item path.
"""

import json
from typing import Annotated, Any

import pydantic
from django.db import OperationalError, transaction
from django.http import Http404, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import Field, Router, Schema
from ninja.errors import ValidationError as NinjaValidationError
from pydantic import StrictStr, StringConstraints, WithJsonSchema, field_validator

from lealtad.api import schemas as s
from lealtad.api.accruals import Members, accrue_for
from lealtad.api.auth import merchant_actor
from lealtad.api.idempotency import answer_from, credential_of, fingerprint, recorded, run_once
from lealtad.core.errors import LealtadError

router = Router(tags=["points"])
PROBLEMS = {code: s.Problem for code in (400, 401, 403, 404, 409, 422, 429)}
MAX_ITEMS = 500
CHUNK = 50  # items per transaction (see above)
# PostgreSQL: items decided and posted set-based at once, in one transaction (bulk_batch): a few
# statements whatever their number, so the window's accounts stay locked about as long as a
# per-item chunk's.
SET_CHUNK = 250
SET_BASED = True  # off: every item by the per-item path (the tests compare the two)
SINGLE_PATH = "/api/v1/accruals"  # where an item's key is recorded, as the single call's is
# PostgreSQL's "try again" states: a deadlock or a serialization failure broke off this item only.
TRANSIENT_SQLSTATES = ("40P01", "40001")


ItemKey = Annotated[StrictStr, StringConstraints(min_length=1, max_length=255)]


class BatchItemIn(s.AccrualIn):
    idempotency_key: ItemKey | None = None

    @field_validator("idempotency_key")
    @classmethod
    def _printable(cls, value):
        if value is not None and not value.isprintable():
            raise ValueError("must be 1 to 255 printable characters")
        return value


def _valid_key(value) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= 255 and value.isprintable()


class BatchIn(Schema):
    # Items are read one by one (`BatchItemIn`), so that a bad one fails only itself.
    accruals: Annotated[
        list[Any],
        Field(min_length=1, max_length=MAX_ITEMS),
        WithJsonSchema(
            {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_ITEMS,
                "items": BatchItemIn.model_json_schema(),
            }
        ),
    ]


class BatchResult(Schema):
    status: int
    body: dict


class BatchOut(Schema):
    results: list[BatchResult]


class ItemConflict(LealtadError):
    code, status, title = (
        "concurrent_request",
        409,
        gettext_lazy("Another request was changing the same data"),
    )


@router.post("/accruals/batch", response={200: BatchOut, **PROBLEMS})
def accrue_batch(request, payload: BatchIn):
    """Up to 500 accruals, each the body of `POST /accruals` plus an optional `idempotency_key`
    (1–255 characters). → 200 `{"results": [{"status": 201, "body": {...}} | {"status": 409,
    "body": problem}, ...]}` in the order sent; each item on its own (one bad item fails only
    itself, with the problem the single call gives).

    Retry safely: an item's `idempotency_key` replays its first answer, in this batch or a
    single call sent with that key as `Idempotency-Key` (and the other way round); the batch's
    own `Idempotency-Key` header replays the whole response. Invoice numbers hold across both.
    An item that met another request changing the same data at that instant answers 409
    `concurrent_request` (nothing done, nothing recorded): send it again."""
    actor = merchant_actor(request)
    items = payload.accruals
    members = Members(
        actor.merchant, [item.get("customer_id") for item in items if isinstance(item, dict)]
    )
    keys = [item.get("idempotency_key") for item in items if isinstance(item, dict)]
    replays = recorded(actor.merchant, credential_of(actor), {k for k in keys if _valid_key(k)})
    from lealtad.api import bulk_batch  # it builds on this module

    set_based = SET_BASED and bulk_batch.supported()
    window = SET_CHUNK if set_based else CHUNK
    results = []
    for start in range(0, len(items), window):
        part = items[start : start + window]
        done = {}
        if set_based:
            with transaction.atomic():
                done = bulk_batch.post_chunk(request, actor, part, members, replays)
        # The rest one by one, in order, in chunks; they share no account, invoice number or key
        # with the items just posted (bulk_batch), so coming after them changes no answer.
        rest = [offset for offset in range(len(part)) if offset not in done]
        for first in range(0, len(rest), CHUNK):
            with transaction.atomic():
                for offset in rest[first : first + CHUNK]:
                    done[offset] = _answer(request, actor, part[offset], members, replays)
        for offset in range(len(part)):
            response = done[offset]
            results.append({"status": response.status_code, "body": json.loads(response.content)})
    return {"results": results}


def _answer(request, actor, item, members: Members, replays: dict) -> HttpResponse:
    key = item.get("idempotency_key") if isinstance(item, dict) else None
    try:
        if not _valid_key(key):  # none, or a bad one: the item's validation says so
            with transaction.atomic():
                return _accrue(request, actor, item, members)
        body = {name: value for name, value in item.items() if name != "idempotency_key"}
        signed = fingerprint("POST", SINGLE_PATH, body)
        if key in replays:  # done before this batch began: its first answer, or 422
            return answer_from(replays[key], signed)
        return run_once(
            actor.merchant,
            credential_of(actor),
            key,
            "POST",
            SINGLE_PATH,
            signed,
            lambda: _accrue(request, actor, item, members),
        )
    except OperationalError as exc:
        # Raised out of the item's savepoint, which rolled back: the batch goes on, and nothing
        # of this item, its key included, was kept.
        if getattr(exc.__cause__, "sqlstate", None) not in TRANSIENT_SQLSTATES:
            raise
        detail = _("Another request was changing this customer or invoice; send it again.")
        return _problem(request, ItemConflict(detail))


def _accrue(request, actor, item, members: Members) -> HttpResponse:
    """The item's answer, rendered as the single `POST /accruals` renders its own."""
    try:
        payload = BatchItemIn.model_validate(item)
    except pydantic.ValidationError as exc:
        return _problem(request, NinjaValidationError(exc.errors(include_url=False)))
    try:
        body = accrue_for(actor, payload, members)
    except (LealtadError, Http404) as exc:
        return _problem(request, exc)
    return created(request, body)


def created(request, body: dict) -> HttpResponse:
    """An accrual's 201, as the single `POST /accruals` renders it."""
    from lealtad.api.api import api  # api.py imports this module

    return api.create_response(request, s.AccrualOut.model_validate(body).model_dump(), status=201)


def _problem(request, exc) -> HttpResponse:
    from lealtad.api import api as endpoints

    if isinstance(exc, NinjaValidationError):
        return endpoints.on_validation_error(request, exc)
    if isinstance(exc, Http404):
        return endpoints.on_not_found(request, exc)
    return endpoints.on_domain_error(request, exc)
