"""P2: accruals. One quote computes what an amount gives a customer now; the till's preview shows
it and `accrue_points` posts it, so the two can never disagree.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from lealtad.audit import actions as audit
from lealtad.audit.models import Action
from lealtad.core import money
from lealtad.core.errors import (
    AmountBelowMinimum,
    DuplicateInvoice,
    FraudRuleRefused,
    InvoiceReversed,
)
from lealtad.customers.actions import join_merchant
from lealtad.customers.models import Customer, Membership
from lealtad.ledger import ledger
from lealtad.ledger.bonus import points_expiry
from lealtad.ledger.invoices import display_number, invoice_key, lock_number
from lealtad.ledger.models import Kind, Status, Transaction
from lealtad.network.models import Branch, Merchant, User
from lealtad.network.service_lines import suspended
from lealtad.notifications import actions as mail
from lealtad.offers import promotions
from lealtad.offers.models import PromotionUse
from lealtad.program import fraud
from lealtad.program.models import AuditMode
from lealtad.ratings import actions as ratings
from lealtad.webhooks import events, payloads


@dataclass
class Movement:
    transaction: Transaction
    available: int
    pending: int

    @property
    def points(self) -> int:
        return abs(self.transaction.points)


def minimum_amount(merchant: Merchant, membership: Membership) -> Decimal:
    """The smallest purchase that earns this customer one point (P1 with the category's factor)."""
    return money.minimum_for_points(merchant.point_value, membership.category.multiplier)


def quote_accrual(
    merchant: Merchant, membership: Membership, amount, now=None, promos=None
) -> promotions.AccrualPoints:
    """What `amount` gives this customer now: the category's points, the best active multiplier
    promotion and every bonus (R1). Refuses (AmountBelowMinimum) an amount that earns no point
    by itself: a 0-point accrual is not a purchase, and a bonus must not make one count.

    `promos`: the accrual promotions already looked up (under the account's lock when posting).
    """
    now = now or timezone.now()
    amount = money.parse_amount(amount, merchant.currency)
    minimum = minimum_amount(merchant, membership)
    if amount < minimum:
        shown = money.display_amount(minimum, merchant.country, merchant.currency, up=True)
        raise AmountBelowMinimum(
            _("The smallest purchase that earns points is %(minimum)s %(currency)s.")
            % {"minimum": shown, "currency": merchant.currency},
            minimum=money.format_amount(minimum, merchant.currency),
        )
    if promos is None:
        promos = []
        if promotions.accrual_promotions_may_apply(merchant, now):
            promos = promotions.applicable(
                merchant, membership, now, kinds=promotions.ACCRUAL_KINDS
            )
    earned = promotions.accrual_points(merchant, membership, amount, now, promos)
    earned.amount = amount
    return earned


# P2 / K2: what holds an invoice number at a merchant (the unique constraint's kinds).
INVOICE_KINDS = (Kind.ACCRUAL, Kind.COIN_EARN)


def _standing_accrual(merchant: Merchant, key: str) -> Transaction | None:
    return (
        Transaction.objects.filter(merchant=merchant, kind__in=INVOICE_KINDS, invoice_key=key)
        .exclude(status=Status.REJECTED)
        .first()
    )


def duplicate_invoice(merchant: Merchant, invoice_number: str, key: str) -> DuplicateInvoice:
    """Why this invoice number is taken: accrued (posted or awaiting approval), or accrued and
    reversed, which keeps the number used for good."""
    existing = _standing_accrual(merchant, key)
    if existing is not None and Transaction.objects.filter(reverses=existing).exists():
        return InvoiceReversed(
            _(
                "Invoice %(invoice)s was accrued and then reversed at this merchant; a reversed "
                "invoice cannot be accrued again."
            )
            % {"invoice": invoice_number},
            transaction_id=str(existing.pk),
        )
    if existing is not None and existing.kind == Kind.COIN_EARN:
        # One invoice earns once, points or coins: say which it earned, not "points" for coins.
        message = _("Invoice %(invoice)s already earned coins at this merchant.")
    else:
        message = _("Invoice %(invoice)s was already accrued at this merchant.")
    return DuplicateInvoice(
        message % {"invoice": invoice_number},
        transaction_id=str(existing.pk) if existing else None,
    )


def claim_pos_invoice(txn: Transaction, now) -> None:
    """I3: hand a typed accrual to the invoices package, which links the POS invoice waiting
    under its number. Imported here, not at module level: invoices builds on the ledger, not
    the other way round."""
    from lealtad.invoices.actions import claim_for_accrual

    claim_for_accrual(txn, now)


def accrue_points(
    *,
    merchant: Merchant,
    amount: Decimal,
    branch: Branch,
    customer: Customer | None = None,
    membership: Membership | None = None,
    staff: User | None = None,
    invoice_number: str | None = None,
    now=None,
    from_invoice: bool = False,
) -> Movement:
    """P2: points = floor(amount / point value) × category multiplier (+ R1), posted or held (P9).

    Pass the customer, or their membership here when the caller already has it (one query less).
    A typed accrual whose number a POS invoice is waiting under loads that invoice (I3);
    `from_invoice` is the invoices package loading its own invoice.
    """
    now = now or timezone.now()
    customer = membership.customer if membership is not None else customer
    if customer.suspended:
        raise suspended(customer, merchant)
    amount = money.parse_amount(amount, merchant.currency)
    invoice_number = display_number(invoice_number)
    key = invoice_key(invoice_number)
    try:
        with transaction.atomic():
            # Joining and accruing stand or fall together: a refused amount makes no member.
            if membership is None:
                membership = join_merchant(customer, merchant, branch, now=now)
            lock_number(merchant.pk, key)
            invoice = (invoice_number, key)
            movement, waiting = _post(
                merchant, membership, customer, amount, branch, staff, now, invoice, from_invoice
            )
            if key and not from_invoice and waiting is not False:
                claim_pos_invoice(movement.transaction, now)
    except IntegrityError as exc:
        if key and ("transaction_unique_invoice" in str(exc) or "invoice_key" in str(exc)):
            raise duplicate_invoice(merchant, invoice_number, key) from None
        raise
    return movement


def _waiting_invoice_probe(merchant, key):
    """The SQL that says whether a POS invoice may be waiting under this number (I3), asked in
    the ledger write's own round trip: most typed accruals have none, and then `claim_pos_invoice`
    (a SELECT … FOR UPDATE) is skipped. Under `lock_number`, taken by a statement before, so the
    write's snapshot already sees any invoice pushed under this number; one that is there loads
    through `claim_pos_invoice` exactly as before."""
    from lealtad.invoices.models import Invoice, InvoiceStatus

    table = connection.ops.quote_name(Invoice._meta.db_table)
    return (
        f"SELECT EXISTS (SELECT 1 FROM {table} WHERE merchant_id = %s AND invoice_key = %s"
        " AND status <> %s)",
        [merchant.pk, key, InvoiceStatus.EXPIRED],
    )


def _post(merchant, membership, customer, amount, branch, staff, now, invoice, from_invoice=False):
    """Post the accrual; returns the movement and whether a POS invoice waits under its number
    (None: not asked)."""
    category = membership.category
    manual = category.audit_mode == AuditMode.MANUAL
    rules = [] if manual else fraud.rules_for(category)
    account_id = membership.spending_account_id
    quote = quote_accrual(merchant, membership, amount, now)  # refuses before any lock is taken
    limited = any(p.uses_per_customer for p, _extra in quote.applied)
    if rules or limited:
        # Judged under the account's lock: simultaneous accruals cannot both slip under a daily
        # limit, nor both take a promotion's last use.
        ledger.lock_account(account_id)
    if limited:
        promos = promotions.applicable(merchant, membership, now, kinds=promotions.ACCRUAL_KINDS)
        quote = quote_accrual(merchant, membership, amount, now, promos)
    points = quote.points
    verdict = fraud.Verdict()
    if rules:
        verdict = fraud.judge(
            rules, merchant=merchant, account_id=account_id, amount=amount, points=points, now=now
        )
        if verdict.refuse:
            raise FraudRuleRefused(
                _("Refused: %(rule)s (%(limit)s).")
                % {"rule": verdict.rule.get_kind_display(), "limit": verdict.rule.shown_limit()},
                rule=verdict.rule.kind,
            )
    held = manual or verdict.hold
    hold_rule = (
        "category_manual_approval" if manual else (verdict.rule.kind if verdict.rule else "")
    )
    fields = dict(
        account_id=account_id,
        kind=Kind.ACCRUAL,
        status=Status.PENDING if held else Status.POSTED,
        points=points,
        merchant=merchant,
        branch=branch,
        staff=staff,
        customer=customer,
        amount=amount,
        currency=merchant.currency,
        invoice_number=invoice[0],
        invoice_key=invoice[1],
        hold_rule=hold_rule if held else "",
        created_at=now,
        posted_at=None if held else now,
    )
    expires_at = points_expiry(membership, merchant, now)
    waiting = None
    txn = Transaction(**fields)
    trail = audit.entry(
        Action.POINTS_ACCRUE,
        merchant=merchant,
        target=txn,
        label=invoice[0] or "",
        customer_id=customer.pk,
        after={"points": points, "amount": amount, "status": txn.status},
        staff=staff,
        branch=branch,
        now=now,
    )
    if connection.vendor == "postgresql":
        # Issue 15: the lock, the balances, the transaction, its lot and entry in one round trip.
        probe = (
            _waiting_invoice_probe(merchant, invoice[1])
            if invoice[1] and not from_invoice
            else None
        )
        account, _lot_id, waiting = ledger.post_credit_at_once(
            txn, expires_at, now, held=held, probe=probe, also=trail
        )
    else:
        account = ledger.lock_and_add(
            account_id, now, available=0 if held else points, pending=points if held else 0
        )
        txn.balance_after = None if held else account.balance
        txn.save(force_insert=True)
        ledger.open_lot(account, txn, points, expires_at, now, held=held)
        trail.save(force_insert=True)
    if quote.applied:
        PromotionUse.objects.bulk_create(
            PromotionUse(
                promotion=promo,
                membership=membership,
                transaction=txn,
                points=extra,
                branch=branch,
                staff=staff,
                at=now,
            )
            for promo, extra in quote.applied
        )
    txn.promotions_applied = quote.applied
    if not held:
        mail.queue(
            mail.Event.ACCRUAL, merchant, customer, now=now, points=points, balance=account.balance
        )
        ratings.invite_after_visit(txn, now)
    events.emit(
        merchant,
        "accrual.held" if held else "accrual.posted",
        payloads.accrual(txn, account.balance, account.pending),
        now=now,
    )
    return Movement(txn, account.balance, account.pending), waiting
