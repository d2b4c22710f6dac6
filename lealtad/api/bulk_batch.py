"""`POST /accruals/batch` at the database's pace (issue 15): on PostgreSQL each chunk's common
items (an existing member, no fraud rule, no accrual promotion today, a free invoice number, an
item key never seen) are decided in Python from data loaded for the whole chunk and posted
set-based (`ledger.bulk.post_many`): a dozen statements a chunk instead of nine to twelve an item.

Every other item goes the per-item path (`batch._answer`), after the set-based write and in the
chunk's order, and answers exactly what the single call answers. So that the order of the two
makes no difference, an item that goes per item takes with it every item of the chunk sharing its
account, its invoice number or its item key, and items sharing a number or a key with each
other all go per item (the first of them posts, the others are duplicates or replays).

An item's key is taken as `run_once` takes it (the same advisory lock, tried, never waited for)
and its record written in the same transaction, with the body the single call would render: a
key held by another request right now, or with a record of any age, goes per item, which answers
409 `idempotency_in_progress`, replays it, or renews an expired one.

The unique constraints stay the backstop: an IntegrityError, a deadlock or a serialization
failure rolls the chunk's set-based write back (a savepoint) and the whole chunk goes per item.
"""

from dataclasses import dataclass

import pydantic
from django.db import IntegrityError, OperationalError, connection, transaction
from django.http import HttpResponse
from django.utils import timezone

from lealtad.api import batch
from lealtad.api.accruals import Members, branch_for
from lealtad.api.idempotency import credential_of, fingerprint, lock_id
from lealtad.api.models import IdempotencyRecord
from lealtad.core import money
from lealtad.core.errors import LealtadError
from lealtad.core.ids import parse_id
from lealtad.ledger import bulk
from lealtad.ledger.invoices import display_number, invoice_key
from lealtad.offers import promotions

supported = bulk.supported


@dataclass
class _Plan:
    offset: int  # in the chunk
    accrual: bulk.Accrual
    key: str | None  # the item's idempotency key
    signed: str | None  # its fingerprint, as the single call's


class _Shared:
    """The accounts, invoice keys and item keys that items going per item may change."""

    def __init__(self):
        self.accounts: set[int] = set()
        self.numbers: set[str] = set()
        self.keys: set[str] = set()

    def add_item(self, item, known: dict) -> None:
        if not isinstance(item, dict):
            return
        try:
            membership = known.get(parse_id(item.get("customer_id")))
        except LealtadError:
            membership = None
        if membership is not None:
            self.accounts.add(membership.spending_account_id)
        number = item.get("invoice_number")
        if isinstance(number, str) and invoice_key(number):
            self.numbers.add(invoice_key(number))
        key = item.get("idempotency_key")
        if isinstance(key, str):
            self.keys.add(key)

    def add_plan(self, plan: _Plan) -> None:
        self.accounts.add(plan.accrual.account_id)
        if plan.accrual.invoice_key:
            self.numbers.add(plan.accrual.invoice_key)
        if plan.key is not None:
            self.keys.add(plan.key)

    def shares(self, plan: _Plan) -> bool:
        return (
            plan.accrual.account_id in self.accounts
            or plan.accrual.invoice_key in self.numbers
            or plan.key in self.keys
        )

    def settle(self, plans: list[_Plan]) -> list[_Plan]:
        """The plans that share nothing with items going per item, nor a number or a key with
        each other; the others join those going per item (until nothing changes)."""
        while True:
            numbers: dict[str, int] = {}
            keys: dict[str, int] = {}
            for plan in plans:
                if plan.accrual.invoice_key:
                    numbers[plan.accrual.invoice_key] = numbers.get(plan.accrual.invoice_key, 0) + 1
                if plan.key is not None:
                    keys[plan.key] = keys.get(plan.key, 0) + 1
            out = [
                p
                for p in plans
                if self.shares(p)
                or numbers.get(p.accrual.invoice_key, 0) > 1
                or keys.get(p.key, 0) > 1
            ]
            if not out:
                return plans
            for plan in out:
                self.add_plan(plan)
            dropped = {id(p) for p in out}
            plans = [p for p in plans if id(p) not in dropped]


def _known(members: Members) -> dict:
    """Every membership the batch preloaded, taken or not (the accounts per-item items touch)."""
    return members.preloaded


def post_chunk(request, actor, chunk: list, members: Members, replays: dict) -> dict:
    """Post the chunk's common items set-based: their answers by offset in the chunk (the rest
    go per item, after it). Call it in a transaction of its own: it commits the window."""
    merchant = actor.merchant
    known = _known(members)
    now = timezone.now()
    promos = None  # none runs today: no member's quote has any
    if promotions.accrual_promotions_may_apply(merchant, now):
        promos = bulk.promotions_for(merchant, _members_named(chunk, members), now)
        if promos is None:
            return {}  # a use limit: judged per item under the account's lock
    shared, plans, branches, rules = _Shared(), [], {}, {}
    for offset, item in enumerate(chunk):
        plan = _plan(actor, item, members, replays, now, branches, rules, promos)
        if plan is None:
            shared.add_item(item, known)
        else:
            plan.offset = offset
            plans.append(plan)
    plans = shared.settle(plans)
    if not plans:
        return {}
    try:
        # One savepoint for the locks too: a deadlock while waiting for a number (another
        # batch sent with its own Idempotency-Key holds earlier windows' locks) sends the
        # window per item, as a deadlock sends a single item to `concurrent_request`.
        with transaction.atomic():
            bulk.lock_numbers(merchant.pk, [p.accrual.invoice_key for p in plans])
            busy = _take_keys(actor, [p.key for p in plans if p.key is not None])
            in_use = bulk.numbers_in_use(merchant, [p.accrual.invoice_key for p in plans])
            for plan in plans:
                if plan.key in busy or plan.accrual.invoice_key in in_use:
                    shared.add_plan(plan)
            plans = shared.settle(plans)
            bulk.post_many(merchant, actor.user, [p.accrual for p in plans], now)
            answers = {p.offset: batch.created(request, _body(p.accrual)) for p in plans}
            _record(actor, plans, answers, now)
    except IntegrityError:
        return {}  # a number or a key taken meanwhile: the per-item path says which
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) not in batch.TRANSIENT_SQLSTATES:
            raise
        return {}
    return answers


def _members_named(chunk: list, members: Members) -> list:
    named = []
    for item in chunk:
        try:
            named.append(members.waiting(parse_id(item.get("customer_id"))))
        except (AttributeError, LealtadError):
            continue
    return named


def _plan(actor, item, members: Members, replays, now, branches, rules, promos) -> _Plan | None:
    """The item as a set-based accrual, or None when it goes per item."""
    if not isinstance(item, dict):
        return None
    key = item.get("idempotency_key")
    if key is not None and (not batch._valid_key(key) or key in replays):
        return None
    try:
        payload = batch.BatchItemIn.model_validate(item)
        amount = money.parse_amount(payload.amount, actor.merchant.currency)
        membership = members.waiting(parse_id(payload.customer_id))
    except (pydantic.ValidationError, money.InvalidAmount, LealtadError):
        return None
    if membership is None:  # not a member yet (the accrual joins), or not preloaded
        return None
    if payload.branch_id not in branches:
        try:
            branches[payload.branch_id] = branch_for(actor, payload.branch_id)
        except LealtadError:
            branches[payload.branch_id] = None
    branch = branches[payload.branch_id]
    if branch is None:
        return None
    mine = promos.get(membership.pk, []) if promos is not None else []
    quote = bulk.points_if_plain(actor.merchant, membership, amount, now, rules, mine)
    if quote is None:
        return None
    number = display_number(payload.invoice_number)
    signed = None
    if key is not None:
        body = {name: value for name, value in item.items() if name != "idempotency_key"}
        signed = fingerprint("POST", batch.SINGLE_PATH, body)
    accrual = bulk.Accrual(
        membership, amount, branch, number, invoice_key(number), quote.points, quote.applied
    )
    return _Plan(0, accrual, key, signed)


def _take_keys(actor, keys: list[str]) -> set[str]:
    """Try `run_once`'s lock of each key at once; the keys not taken, or with a record."""
    if not keys:
        return set()
    merchant, credential = actor.merchant, credential_of(actor)
    ids = {lock_id(merchant.pk, credential, key): key for key in keys}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT k, pg_try_advisory_xact_lock(k) FROM unnest(%s::bigint[]) AS k",
            [sorted(ids)],
        )
        busy = {ids[k] for k, taken in cursor.fetchall() if not taken}
    recorded = IdempotencyRecord.objects.filter(
        merchant=merchant, credential=credential, key__in=[k for k in keys if k not in busy]
    ).values_list("key", flat=True)
    return busy | set(recorded)


def _body(accrual: bulk.Accrual) -> dict:
    return {
        "id": str(accrual.transaction_id),
        "points": accrual.points,
        "status": "posted",
        "balance": {"available": accrual.available, "pending": accrual.pending},
    }


def _record(actor, plans: list[_Plan], answers: dict[int, HttpResponse], now) -> None:
    """The keyed items' records, as `run_once` writes each."""
    credential = credential_of(actor)
    rows = [
        {
            "merchant_id": actor.merchant.pk,
            "credential": credential,
            "key": plan.key,
            "method": "POST",
            "path": batch.SINGLE_PATH[:255],
            "request_hash": plan.signed,
            "completed": True,
            "status_code": answers[plan.offset].status_code,
            "response_body": answers[plan.offset].content,
            "content_type": answers[plan.offset].get("Content-Type", ""),
            "created_at": now,
        }
        for plan in plans
        if plan.key is not None
    ]
    if rows:
        bulk.insert_rows(IdempotencyRecord, rows)
