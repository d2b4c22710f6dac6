"""The till's and the point of sale's lookup (C5, `GET /api/v1/customers?q=`) in one query.

`find_customers` then `memberships_at` then a balance per account cost five to eight round trips
a lookup (the customers, their memberships, the points' lots, the wallet, its row and lots, the
holds). `lookup` asks one SELECT for all of it: the customers the text can be, each with this
merchant's membership, category and points account (a dependent's: the holder's), the network
wallet, and per account the lots due, the lots expiring within the window and the pending holds
as scalar subqueries answered by the partial indexes `lot_open_by_account_idx` and
`hold_pending_idx`. Plain SQL (joins and scalar subqueries, no LATERAL), so SQLite runs the same
statement; the figures follow `ledger.balances` exactly (tests compare them).
"""

import uuid
from dataclasses import dataclass

from django.db import connection

from lealtad.customers.models import Customer, Membership
from lealtad.ledger.models import Account, AccountKind, Hold, HoldStatus, Lot, LotStatus
from lealtad.network.models import Merchant
from lealtad.program.models import Category

_CUSTOMER_COLUMNS = [f.column for f in Customer._meta.concrete_fields]


@dataclass(frozen=True)
class Found:
    """A customer the text matched, and what this merchant's screens show of them."""

    customer: Customer
    member: bool
    category_id: str | None = None
    category_name: str | None = None
    blocked: bool = False
    points: dict | None = None  # {"available", "pending", "expiring_30d"}
    coins: dict | None = None  # {"available", "held", "expiring_30d"}


def _account_sums(account: str, alias: str) -> str:
    """Due lots, lots expiring by the horizon and pending holds of the account `account` names,
    as `<alias>_due`, `<alias>_expiring`, `<alias>_reserved`. The status and the zero are
    literals, not parameters, so that the partial indexes' predicates are proved."""
    lot, hold = Lot._meta.db_table, Hold._meta.db_table
    open_lots = (
        f"FROM {lot} l WHERE l.account_id = {account} AND l.status = '{LotStatus.ACTIVE}'"
        " AND l.remaining > 0"
    )
    return (
        f"(SELECT COALESCE(SUM(l.remaining), 0) {open_lots} AND l.expires_at <= %(now)s)"
        f" AS {alias}_due,"
        f" (SELECT COALESCE(SUM(l.remaining), 0) {open_lots} AND l.expires_at <= %(horizon)s)"
        f" AS {alias}_expiring,"
        f" (SELECT COALESCE(SUM(h.points), 0) FROM {hold} h WHERE h.account_id = {account}"
        f" AND h.status = '{HoldStatus.PENDING}') AS {alias}_reserved"
    )


def _sql(where: str) -> str:
    customer_columns = ", ".join(f"c.{name}" for name in _CUSTOMER_COLUMNS)
    membership, account = Membership._meta.db_table, Account._meta.db_table
    return (
        f"SELECT {customer_columns},"
        " m.id AS m_id, m.category_id AS m_category_id, cat.name AS m_category_name,"
        " m.blocked AS m_blocked,"
        # C8: a dependent's points are the holder's account.
        " COALESCE(ha.balance, a.balance) AS p_balance,"
        " COALESCE(ha.pending, a.pending) AS p_pending,"
        f" {_account_sums('COALESCE(hm.account_id, m.account_id)', 'p')},"
        " w.id AS w_id, w.balance AS w_balance, w.pending AS w_pending,"
        f" {_account_sums('w.id', 'w')}"
        f" FROM {Customer._meta.db_table} c"
        f" LEFT JOIN {membership} m ON m.customer_id = c.id AND m.merchant_id = %(merchant)s"
        f" LEFT JOIN {Category._meta.db_table} cat ON cat.id = m.category_id"
        f" LEFT JOIN {account} a ON a.id = m.account_id"
        f" LEFT JOIN {membership} hm ON hm.id = m.holder_id"
        f" LEFT JOIN {account} ha ON ha.id = hm.account_id"
        f" LEFT JOIN {account} w ON w.customer_id = c.id"
        f" AND w.kind = '{AccountKind.COINS}' AND w.merchant_id IS NULL"
        f" WHERE {where} ORDER BY c.created_at LIMIT %(limit)s"
    )


def _where(alternatives: list[dict]) -> tuple[str, dict]:
    """`(a = x AND b = y) OR …` over the customer's columns, with its parameters."""
    params, ors = {}, []
    for n, alternative in enumerate(alternatives):
        ands = []
        for name, value in alternative.items():
            field = Customer._meta.get_field(name)
            params[f"v{n}_{name}"] = field.get_db_prep_value(value, connection)
            ands.append(f"c.{field.column} = %(v{n}_{name})s")
        ors.append("(" + " AND ".join(ands) + ")")
    return " OR ".join(ors), params


def _balance(balance, pending, due, expiring, reserved) -> tuple[int, int, int]:
    """`ledger.balances`' rule: available less what is due but not yet swept by the expiry
    run (less the due coins a pending hold reserves), pending, and what expires in the window."""
    due, expiring = int(due), int(expiring)
    swept = max(due - int(reserved), 0) if due else 0
    return int(balance) - swept, int(pending), expiring - due


def lookup(merchant, alternatives: list[dict], now, horizon, limit: int = 10) -> list[Found]:
    """The customers matching any of `alternatives` (see `actions.search_terms`), oldest first,
    as `merchant` sees them; balances as of `now`, expiring up to `horizon`."""
    if not alternatives:
        return []
    where, params = _where(alternatives)
    params.update(
        merchant=Merchant._meta.pk.get_db_prep_value(merchant.pk, connection),
        now=connection.ops.adapt_datetimefield_value(now),
        horizon=connection.ops.adapt_datetimefield_value(horizon),
        limit=limit,
    )
    found = []
    # raw(): the customer's columns come back through the fields' converters (SQLite's text
    # UUIDs and dates); the rest are read below.
    for row in Customer.objects.raw(_sql(where), params):
        if row.m_id is None:  # not a member here
            found.append(Found(customer=row, member=False))
            continue
        available, pending, expiring = _balance(
            row.p_balance, row.p_pending, row.p_due, row.p_expiring, row.p_reserved
        )
        coins = {"available": 0, "held": 0, "expiring_30d": 0}  # no wallet yet reads as zeros
        if row.w_id is not None:
            w = _balance(row.w_balance, row.w_pending, row.w_due, row.w_expiring, row.w_reserved)
            coins = {"available": w[0], "held": w[1], "expiring_30d": w[2]}
        found.append(
            Found(
                customer=row,
                member=True,
                category_id=str(_uuid(row.m_category_id)),
                category_name=row.m_category_name,
                blocked=bool(row.m_blocked),
                points={"available": available, "pending": pending, "expiring_30d": expiring},
                coins=coins,
            )
        )
    return found


def _uuid(value) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(value)
