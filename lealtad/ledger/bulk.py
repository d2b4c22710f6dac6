"""Set-based accruals for a batch (issue 15), PostgreSQL only: the common case of
`POST /accruals/batch` (an existing member, no fraud rule, no accrual promotion running) posted
for a whole chunk in a handful of statements instead of nine to twelve an item.

Each accrual here is exactly what `accrual.accrue_points` would post for it: the same points
(`quote_accrual`), the same rows (transaction, lot, entry), the same balances, the same e-mails,
rating invitations and webhook events. What the caller decides before calling `post_many`:

- `points_if_plain` says whether an accrual is the common case, and its points; anything else
  (a first accrual, a held or refused one, a promotion, a suspended customer) goes through the
  per-item path;
- the invoice numbers are locked (`lock_numbers`, sorted, the single call's advisory lock) and
  looked up (`numbers_in_use`) before anything is written, so an accrual posted here never meets a
  standing accrual or a waiting POS invoice of its number. The unique constraint still holds: an
  IntegrityError rolls the chunk back for the per-item path.

Lock order, the single call's: invoice numbers, then accounts (here all of the chunk's, in
primary-key order), so a batch and a single accrual cannot deadlock on them.
"""

import dataclasses
import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection

from lealtad.audit import actions as audit
from lealtad.audit.models import Action, AuditEntry
from lealtad.core.errors import AmountBelowMinimum
from lealtad.customers.models import Membership
from lealtad.ledger.accrual import INVOICE_KINDS, quote_accrual
from lealtad.ledger.bonus import points_expiry
from lealtad.ledger.models import Account, Entry, Kind, Lot, LotStatus, Status, Transaction
from lealtad.network.models import Branch, Merchant, User
from lealtad.notifications import actions as mail
from lealtad.offers import promotions
from lealtad.offers.models import Promotion, PromotionUse, Target
from lealtad.program import fraud
from lealtad.program.models import AuditMode
from lealtad.ratings import actions as ratings
from lealtad.webhooks import events, payloads


def supported() -> bool:
    """SQLite keeps the per-item path (one writer at a time: nothing to win there)."""
    return connection.vendor == "postgresql"


@dataclass
class Accrual:
    membership: Membership
    amount: Decimal
    branch: Branch
    invoice_number: str | None  # as typed (`invoices.display_number`)
    invoice_key: str | None  # `invoices.invoice_key`
    points: int
    applied: list = dataclasses.field(default_factory=list)  # (promotion, extra points)
    # Set by `post_many`: the transaction's id and the account's balances right after it.
    transaction_id: uuid.UUID | None = None
    available: int = 0
    pending: int = 0

    @property
    def account_id(self) -> int:
        return self.membership.spending_account_id


def points_if_plain(
    merchant: Merchant, membership: Membership, amount, now, rules: dict, promos=()
) -> promotions.AccrualPoints | None:
    """The quote of this accrual when it is the common case, else None (the per-item path
    decides it). `promos`: the accrual promotions that apply to this member today
    (`promotions_for`; none when `promotions.accrual_promotions_may_apply` says so). `rules`:
    category id → its fraud rules, filled as categories come (a query a category at most)."""
    category = membership.category
    if membership.customer.suspended or category.audit_mode == AuditMode.MANUAL:
        return None
    if category.pk not in rules:
        rules[category.pk] = fraud.rules_for(category)
    if rules[category.pk]:
        return None  # judged under the account's lock, one accrual at a time
    try:
        return quote_accrual(merchant, membership, amount, now, promos=list(promos))
    except AmountBelowMinimum:
        return None


def promotions_for(merchant: Merchant, memberships, now) -> dict | None:
    """`promotions.applicable(merchant, m, now, kinds=ACCRUAL_KINDS)` of each membership, in a
    few queries for all of them (by membership id). None when a running promotion limits its
    uses per customer: those are judged under the account's lock, one accrual at a time."""
    from lealtad.favourites.models import Favourite

    today = promotions.local_date(merchant, now)
    running = list(
        Promotion.objects.filter(
            merchant=merchant,
            active=True,
            starts_on__lte=today,
            ends_on__gte=today,
            kind__in=promotions.ACCRUAL_KINDS,
        ).select_related("reward")
    )
    if any(p.uses_per_customer for p in running):
        return None
    for promo in running:
        promo.uses_left = None
    memberships = [m for m in memberships if m is not None]
    ids = [p.pk for p in running]
    targets = {p.target for p in running}
    categories = chosen = fans = set()
    if Target.CATEGORIES in targets:
        categories = set(
            Promotion.categories.through.objects.filter(promotion_id__in=ids).values_list(
                "promotion_id", "category_id"
            )
        )
    if Target.CUSTOMERS in targets:
        chosen = set(
            Promotion.members.through.objects.filter(
                promotion_id__in=ids, membership_id__in=[m.pk for m in memberships]
            ).values_list("promotion_id", "membership_id")
        )
    if Target.FAVOURITES in targets:
        fans = set(
            Favourite.objects.filter(
                merchant=merchant, customer_id__in=[m.customer_id for m in memberships]
            ).values_list("customer_id", flat=True)
        )
    out = {}
    for m in memberships:
        birth = m.customer.birth_date
        birthday = birth is not None and birth.month == today.month
        out[m.pk] = [
            p
            for p in running
            if p.target == Target.EVERYONE
            or (p.target == Target.CATEGORIES and (p.pk, m.category_id) in categories)
            or (p.target == Target.CUSTOMERS and (p.pk, m.pk) in chosen)
            or (p.target == Target.FAVOURITES and m.customer_id in fans)
            or (p.target == Target.BIRTHDAY and birthday)
        ]
    return out


def lock_numbers(merchant_id, keys) -> None:
    """`invoices.lock_number` for many numbers in one statement, in a fixed order."""
    names = sorted({f"invoice:{merchant_id}:{key}" for key in keys if key})
    if not names:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(n, 0)) FROM unnest(%s::text[]) AS n",
            [names],
        )
        cursor.fetchall()


def numbers_in_use(merchant: Merchant, keys) -> set[str]:
    """The invoice keys of `keys` that a standing accrual or coin earning holds, or that a POS
    invoice (not expired) waits under: those accruals go the per-item path, which answers
    `duplicate_invoice` or loads the invoice (I3). Call it under `lock_numbers`."""
    from lealtad.invoices.models import Invoice, InvoiceStatus

    keys = sorted({key for key in keys if key})
    if not keys:
        return set()
    standing = (
        Transaction.objects.filter(merchant=merchant, kind__in=INVOICE_KINDS, invoice_key__in=keys)
        .exclude(status=Status.REJECTED)
        .values_list("invoice_key", flat=True)
    )
    waiting = (
        Invoice.objects.filter(merchant_id=merchant.pk, invoice_key__in=keys)
        .exclude(status=InvoiceStatus.EXPIRED)
        .values_list("invoice_key", flat=True)
    )
    return set(standing.union(waiting))


def _add_to_accounts(totals: dict[int, int], now) -> dict[int, tuple[int, int]]:
    """Lock the accounts in primary-key order, then add each its total in one UPDATE; their
    balances after it, by id."""
    table = connection.ops.quote_name(Account._meta.db_table)
    ids = sorted(totals)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {table} WHERE id = ANY(%s) ORDER BY id FOR UPDATE", [ids])
        cursor.execute(
            f"UPDATE {table} AS a SET balance = a.balance + v.points, updated_at = %s"
            " FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, points)"
            " WHERE a.id = v.id RETURNING a.id, a.balance, a.pending",
            [connection.ops.adapt_datetimefield_value(now), ids, [totals[i] for i in ids]],
        )
        return {pk: (balance, pending) for pk, balance, pending in cursor.fetchall()}


def post_many(merchant: Merchant, staff: User | None, accruals: list[Accrual], now) -> None:
    """Post `accruals` (each `points_if_plain`, their numbers locked and free, in the order
    given) as `accrual._post` posts each: sets each one's transaction and balances."""
    if not accruals:
        return
    totals: dict[int, int] = {}
    for item in accruals:
        totals[item.account_id] = totals.get(item.account_id, 0) + item.points
    after = _add_to_accounts(totals, now)
    # Each accrual's balance as if posted one after the other: the account's balance before
    # the chunk, plus the accruals up to and including this one.
    running = {pk: after[pk][0] - total for pk, total in totals.items()}
    txns = []
    for item in accruals:
        running[item.account_id] += item.points
        item.available, item.pending = running[item.account_id], after[item.account_id][1]
        txns.append(
            {
                "id": uuid.uuid4(),
                "account_id": item.account_id,
                "kind": Kind.ACCRUAL,
                "status": Status.POSTED,
                "points": item.points,
                "balance_after": item.available,
                "merchant_id": merchant.pk,
                "branch_id": item.branch.pk,
                "staff_id": staff.pk if staff is not None else None,
                "customer_id": item.membership.customer_id,
                "amount": item.amount,
                "currency": merchant.currency,
                "invoice_number": item.invoice_number,
                "invoice_key": item.invoice_key,
                "hold_rule": "",
                "created_at": now,
                "posted_at": now,
            }
        )
    insert_rows(Transaction, txns)
    lot_ids = insert_rows(
        Lot,
        [
            {
                "account_id": item.account_id,
                "transaction_id": txn["id"],
                "points": item.points,
                "remaining": item.points,
                "status": LotStatus.ACTIVE,
                "earned_at": now,
                "expires_at": points_expiry(item.membership, merchant, now),
            }
            for item, txn in zip(accruals, txns, strict=True)
        ],
        returning="id",
    )
    insert_rows(
        Entry,
        [
            {
                "account_id": item.account_id,
                "transaction_id": txn["id"],
                "lot_id": lot_id,
                "points": item.points,
                "created_at": now,
            }
            for item, txn, lot_id in zip(accruals, txns, lot_ids, strict=True)
        ],
    )
    uses = [
        {
            "promotion_id": promo.pk,
            "membership_id": item.membership.pk,
            "transaction_id": txn["id"],
            "points": extra,
            "branch_id": item.branch.pk,
            "staff_id": staff.pk if staff is not None else None,
            "at": now,
        }
        for item, txn in zip(accruals, txns, strict=True)
        for promo, extra in item.applied
    ]
    if uses:
        insert_rows(PromotionUse, uses)
    insert_rows(
        AuditEntry,
        [
            _audit_row(merchant, staff, item, txn, now)
            for item, txn in zip(accruals, txns, strict=True)
        ],
    )
    for item, txn in zip(accruals, txns, strict=True):
        item.transaction_id = txn["id"]
    _side_effects(merchant, staff, accruals, txns, now)


def _audit_row(merchant, staff, item: Accrual, txn: dict, now) -> dict:
    """The accrual's audit entry (issue 16), as `_post` writes it, for the chunk's one INSERT."""
    entry = audit.entry(
        Action.POINTS_ACCRUE,
        merchant=merchant,
        target_type="transaction",
        target_id=txn["id"],
        label=item.invoice_number or "",
        customer_id=item.membership.customer_id,
        after={"points": item.points, "amount": item.amount, "status": Status.POSTED},
        staff=staff,
        branch=item.branch,
        now=now,
    )
    return {f.attname: getattr(entry, f.attname) for f in AuditEntry._meta.concrete_fields}


def _saved(txn: Transaction, merchant, item: Accrual, staff) -> Transaction:
    """The posted row as `objects.create` would have left it (for the e-mails and events)."""
    txn._state.adding = False
    txn.merchant, txn.branch, txn.customer = merchant, item.branch, item.membership.customer
    if staff is not None:
        txn.staff = staff
    return txn


def insert_rows(model, rows: list[dict], returning: str | None = None) -> list:
    """`INSERT INTO <model's table> SELECT * FROM unnest(<one array a column>)`: a handful of
    parameters whatever the number of rows (a Django bulk_create of 250 rows binds thousands,
    and building them costs more than the database's work). Each row gives values by attname;
    a column it leaves out gets its field's default, prepared as `save()` prepares it. Returns
    the `returning` column of the rows in their order."""
    quote = connection.ops.quote_name
    columns, arrays, params = [], [], []
    for column in model._meta.concrete_fields:
        if column.primary_key and column.db_returning:  # an auto-increment id: the database's
            continue
        name = column.attname
        default = None if all(name in row for row in rows) else column.get_default()
        columns.append(quote(column.column))
        arrays.append(f"%s::{column.db_type(connection)}[]")
        params.append([column.get_db_prep_save(row.get(name, default), connection) for row in rows])
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(columns)})"
        f" SELECT * FROM unnest({', '.join(arrays)})"
    )
    if returning:
        sql += f" RETURNING {quote(returning)}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()] if returning else []


def _side_effects(merchant: Merchant, staff, accruals: list[Accrual], txns: list[dict], now):
    """The e-mails, invitations and webhook events `_post` writes for a posted accrual, in the
    same transaction. Each is skipped, as there, when it would write nothing: the merchant's
    flags and the customers' addresses are known, and one query says whether any endpoint
    subscribes (then each event is written by `events.emit` itself)."""
    customers = [item.membership.customer for item in accruals]
    mails = any(c.email for c in customers) and (
        merchant.email_on_accrual or merchant.rating_invite
    )
    hooked = events.subscribed(merchant.pk, "accrual.posted")
    if not (mails or hooked):
        return
    posted = [
        _saved(Transaction(**txn), merchant, item, staff)
        for item, txn in zip(accruals, txns, strict=True)
    ]
    if mails:
        for item, customer, txn in zip(accruals, customers, posted, strict=True):
            mail.queue(
                mail.Event.ACCRUAL,
                merchant,
                customer,
                now=now,
                points=item.points,
                balance=item.available,
            )
            ratings.invite_after_visit(txn, now)
    if not hooked:
        return
    for item, txn in zip(accruals, posted, strict=True):
        data = payloads.accrual(txn, item.available, item.pending)
        events.emit(merchant, "accrual.posted", data, now=now)
