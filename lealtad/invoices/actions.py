"""I2 / I3: POS invoices — recorded, loaded for their customer, listed at the till, expired.

An invoice loads by the very actions a typed purchase uses (`ledger.accrue_points`, or
`coins.actions.earn_coins` at an issuer whose invoices earn coins), so promotions, fraud rules and
holds are exactly those of a typed accrual; the invoice only records which accrual it became.
"""

import datetime as dt
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from lealtad.audit import actions as audit
from lealtad.audit.models import Action
from lealtad.core import money
from lealtad.core.errors import (
    DuplicateInvoice,
    InvoiceAlreadyLoaded,
    InvoiceExpired,
    NotFound,
    ValidationFailed,
)
from lealtad.core.ids import parse_id
from lealtad.customers.models import Customer
from lealtad.invoices.lines import clean_lines
from lealtad.invoices.models import Invoice, InvoiceEarns, InvoiceStatus
from lealtad.ledger.accrual import duplicate_invoice
from lealtad.ledger.invoices import display_number, invoice_key, lock_number
from lealtad.ledger.models import Kind, Status, Transaction
from lealtad.network.models import ApiKey, Branch, Merchant, User

# How far in the future a POS clock may put `issued_at` (clocks drift; a year ahead is a typo).
ISSUED_AHEAD = dt.timedelta(hours=1)


def _amount(merchant: Merchant, amount) -> Decimal:
    try:
        return money.parse_amount(amount, merchant.currency)
    except money.InvalidAmount as exc:
        raise ValidationFailed([{"field": "amount", "message": str(exc)}], str(exc)) from None


def _number(invoice_number) -> tuple[str, str]:
    number = display_number(invoice_number) if isinstance(invoice_number, str) else None
    key = invoice_key(number)
    if not number or not key:
        raise ValidationFailed(
            [{"field": "invoice_number", "message": _("The invoice number is required.")}]
        )
    return number, key


def _issued_at(issued_at, now) -> dt.datetime:
    if issued_at is None:
        return now
    if not isinstance(issued_at, dt.datetime) or timezone.is_naive(issued_at):
        raise ValidationFailed(
            [{"field": "issued_at", "message": _("A date and time with its time zone.")}]
        )
    if issued_at > now + ISSUED_AHEAD:
        raise ValidationFailed(
            [{"field": "issued_at", "message": _("The invoice cannot be issued in the future.")}]
        )
    # Kept and answered in UTC, as the database gives it back (the same text on 201 and GET).
    return issued_at.astimezone(dt.UTC)


def _accrued_elsewhere(merchant: Merchant, key: str) -> Transaction | None:
    """A standing accrual (points or coins) of this number that is no invoice's own."""
    return (
        Transaction.objects.filter(
            merchant=merchant, kind__in=(Kind.ACCRUAL, Kind.COIN_EARN), invoice_key=key
        )
        .exclude(status=Status.REJECTED)
        .filter(pos_invoice__isnull=True)
        .first()
    )


def _duplicate(number: str, existing: Invoice | Transaction | None) -> DuplicateInvoice:
    extra = {}
    if isinstance(existing, Invoice):
        extra["invoice_id"] = str(existing.pk)
        if existing.transaction_id:
            extra["transaction_id"] = str(existing.transaction_id)
    elif existing is not None:
        extra["transaction_id"] = str(existing.pk)
    return DuplicateInvoice(
        _(
            "Invoice %(invoice)s is already recorded at this merchant with another amount "
            "or customer."
        )
        % {"invoice": number},
        **extra,
    )


def record_invoice(
    *,
    merchant: Merchant,
    branch: Branch,
    invoice_number: str,
    amount,
    issued_at=None,
    lines=(),
    customer: Customer | None = None,
    api_key: ApiKey | None = None,
    staff: User | None = None,
    now=None,
) -> tuple[Invoice, bool]:
    """I2: the POS sends an invoice. Returns (invoice, created).

    The same number (normalised) and amount again is the same invoice: returned as it stands
    (created False). With a customer given for an invoice still waiting, it loads for them.
    Another amount, or another customer than the one it loaded for, is 409 `duplicate_invoice`,
    as is a number already accrued by hand at this merchant. With a customer, a new invoice
    loads in the same transaction (refused by the customer's gate: nothing is recorded)."""
    now = now or timezone.now()
    if branch.merchant_id != merchant.pk:
        raise NotFound(_("Branch not found."))
    number, key = _number(invoice_number)
    amount = _amount(merchant, amount)
    issued = _issued_at(issued_at, now)
    cleaned = clean_lines(list(lines) if lines is not None else None, merchant.currency)
    with transaction.atomic():
        lock_number(merchant.pk, key)
        try:
            with transaction.atomic():
                invoice = Invoice.objects.create(
                    merchant=merchant,
                    branch=branch,
                    invoice_number=number,
                    invoice_key=key,
                    amount=amount,
                    currency=merchant.currency,
                    issued_at=issued,
                    lines=cleaned,
                    api_key=api_key,
                    staff=staff,
                    created_at=now,
                    expires_at=now + dt.timedelta(days=merchant.invoice_wait_days),
                )
        except IntegrityError as exc:
            if "invoice_unique_number" not in str(exc) and "invoice_key" not in str(exc):
                raise
            return _again(merchant, number, key, amount, customer, staff, now), False
        if _accrued_elsewhere(merchant, key) is not None:
            # Accrued by hand (or reversed): the ledger's own words for it.
            raise duplicate_invoice(merchant, number, key)
        if customer is not None:
            _load(invoice, merchant, customer, staff, now)
        else:
            _announce(invoice, now)
    return invoice, True


def _again(merchant, number, key, amount, customer, staff, now) -> Invoice:
    """The invoice already recorded under this number: the same one sent again, or a clash."""
    existing = (
        Invoice.objects.select_for_update(of=("self",))
        .select_related("transaction")
        .get(merchant=merchant, invoice_key=key)
    )
    if existing.amount != amount:
        raise _duplicate(number, existing)
    if customer is None or existing.customer_id == customer.pk:
        return existing
    if existing.status == InvoiceStatus.WAITING and existing.customer_id is None:
        # Sent first without the customer, then with: the till would have done the same.
        _claimable(existing, now)
        _load(existing, merchant, customer, staff, now)
        return existing
    raise _duplicate(number, existing)


def _announce(invoice: Invoice, now) -> None:
    """I4: `invoice.waiting` to the merchant's subscribed webhooks, written in this transaction
    (no event for an invoice that rolls back), with the API's representation as its data."""
    from lealtad.webhooks.events import emit

    emit(invoice.merchant, "invoice.waiting", invoice_data(invoice), now=now)


def _claimable(invoice: Invoice, now) -> None:
    if invoice.status == InvoiceStatus.EXPIRED:
        raise InvoiceExpired(
            _("Invoice %(invoice)s expired and can no longer be loaded.")
            % {"invoice": invoice.invoice_number}
        )
    if invoice.status != InvoiceStatus.WAITING:
        raise InvoiceAlreadyLoaded(
            _("Invoice %(invoice)s was already loaded.") % {"invoice": invoice.invoice_number},
            transaction_id=str(invoice.transaction_id) if invoice.transaction_id else None,
        )
    if invoice.expires_at <= now:
        raise InvoiceExpired(
            _("Invoice %(invoice)s expired and can no longer be loaded.")
            % {"invoice": invoice.invoice_number}
        )


def _load(invoice: Invoice, merchant: Merchant, customer: Customer, staff, now) -> None:
    """Post the invoice's accrual for `customer` (the invoice row is ours: just created, or
    locked) and record which it became. Any refusal propagates and rolls the caller back."""
    earns = InvoiceEarns(merchant.invoice_earns)
    if earns == InvoiceEarns.COINS:
        from lealtad.coins.actions import earn_coins

        movement = earn_coins(
            merchant=merchant,
            customer=customer,
            amount=invoice.amount,
            branch=invoice.branch,
            staff=staff,
            invoice_number=invoice.invoice_number,
            now=now,
            from_invoice=True,
        )
    else:
        from lealtad.ledger.accrual import accrue_points

        movement = accrue_points(
            merchant=merchant,
            customer=customer,
            amount=invoice.amount,
            branch=invoice.branch,
            staff=staff,
            invoice_number=invoice.invoice_number,
            now=now,
            from_invoice=True,
        )
    _link(invoice, movement.transaction, customer, staff, now, earns)


def _link(invoice: Invoice, txn: Transaction, customer, staff, now, earns) -> None:
    invoice.status = InvoiceStatus.HELD if txn.status == Status.PENDING else InvoiceStatus.LOADED
    invoice.transaction = txn
    invoice.customer = customer
    invoice.loaded_by = staff
    invoice.loaded_at = now
    invoice.earns = earns
    invoice.save(
        update_fields=["status", "transaction", "customer", "loaded_by", "loaded_at", "earns"]
    )


def get_invoice_for(merchant: Merchant, invoice_id) -> Invoice:
    """The merchant's invoice by id; another merchant's is not found."""
    invoice = (
        Invoice.objects.select_related("transaction")
        .filter(pk=parse_id(invoice_id, "invoice"), merchant=merchant)
        .first()
    )
    if invoice is None:
        raise NotFound(_("Invoice not found."))
    return invoice


def assign_invoice(
    invoice, *, merchant: Merchant, customer: Customer, staff: User | None = None, now=None
) -> Invoice:
    """I2 / I3: the cashier identified the customer of a waiting invoice: it loads for them.

    Ten tills claiming one invoice at once make one accrual: the row is locked, and the others
    find it loaded (409 `invoice_already_loaded`). Past its wait: 409 `invoice_expired`. The
    customer's gate (suspended, …) refuses with its usual error and the invoice keeps waiting."""
    now = now or timezone.now()
    invoice_id = invoice.pk if isinstance(invoice, Invoice) else parse_id(invoice, "invoice")
    with transaction.atomic():
        locked = (
            Invoice.objects.select_for_update()
            .filter(pk=invoice_id, merchant=merchant)
            .select_related("branch")
            .first()
        )
        if locked is None:
            raise NotFound(_("Invoice not found."))
        _claimable(locked, now)
        before = locked.status
        _load(locked, merchant, customer, staff, now)
        audit.record(
            Action.INVOICE_ACCEPT,
            merchant=merchant,
            target=locked,
            label=locked.invoice_number,
            customer_id=customer.pk,
            before={"status": before},
            after={"status": locked.status, "amount": locked.amount},
            staff=staff,
            branch=locked.branch,
            now=now,
        )
    if isinstance(invoice, Invoice):
        invoice.refresh_from_db()
    return locked


def claim_for_accrual(txn: Transaction, now=None) -> None:
    """A typed accrual (till or `POST /accruals`, points or coins) of a number a POS invoice is
    waiting under: the accrual is that invoice, which loads with it instead of staying a ghost at
    the till. Another amount is a clash (409 `duplicate_invoice`, the accrual rolls back).

    Called by the ledger inside the accrual's transaction, under `lock_number`."""
    invoice = (
        Invoice.objects.select_for_update()
        .filter(merchant_id=txn.merchant_id, invoice_key=txn.invoice_key)
        .exclude(status=InvoiceStatus.EXPIRED)
        .first()
    )
    if invoice is None:
        return
    if invoice.status != InvoiceStatus.WAITING or invoice.amount != txn.amount:
        raise _duplicate(invoice.invoice_number, invoice)
    earns = InvoiceEarns.COINS if txn.kind == Kind.COIN_EARN else InvoiceEarns.POINTS
    _link(invoice, txn, txn.customer, txn.staff, now or timezone.now(), earns)


def waiting_invoices(branch: Branch, now=None) -> QuerySet[Invoice]:
    """The till's panel: this branch's invoices still waiting for their customer, newest first."""
    now = now or timezone.now()
    return Invoice.objects.filter(
        merchant_id=branch.merchant_id,
        branch=branch,
        status=InvoiceStatus.WAITING,
        expires_at__gt=now,
    ).order_by("-created_at", "-pk")


def recent_invoices(branch: Branch, statuses, limit: int = 50) -> QuerySet[Invoice]:
    """I3's history list: this branch's invoices in `statuses`, newest first."""
    return (
        Invoice.objects.filter(
            merchant_id=branch.merchant_id, branch=branch, status__in=list(statuses)
        )
        .select_related("transaction", "customer")
        .order_by("-created_at", "-pk")[: max(1, min(int(limit), 200))]
    )


def expire_invoices(now=None) -> int:
    """Invoices that waited past their merchant's limit expire (they can no longer be claimed).
    A single UPDATE guarded on the status: a till claiming one at the same moment either loads
    it first (and it is no longer waiting) or finds it expired."""
    now = now or timezone.now()
    return Invoice.objects.filter(status=InvoiceStatus.WAITING, expires_at__lte=now).update(
        status=InvoiceStatus.EXPIRED
    )


def list_invoices(
    merchant: Merchant,
    *,
    branch: Branch | None = None,
    status: str | None = None,
    limit=50,
    now=None,
) -> list[Invoice]:
    """`GET /invoices`: the merchant's invoices (of one branch), newest first. "waiting" means
    still claimable: one past its limit that the periodic run has not swept yet is expired."""
    now = now or timezone.now()
    rows = Invoice.objects.filter(merchant=merchant).select_related("transaction")
    if branch is not None:
        rows = rows.filter(branch=branch)
    if status == InvoiceStatus.WAITING:
        rows = rows.filter(status=status, expires_at__gt=now)
    elif status == InvoiceStatus.EXPIRED:
        rows = rows.filter(Q(status=status) | Q(status=InvoiceStatus.WAITING, expires_at__lte=now))
    elif status:
        rows = rows.filter(status=status)
    return list(rows.order_by("-created_at", "-pk")[:limit])


def shown_status(invoice: Invoice, now=None) -> str:
    """The status as the POS and the till should read it (see `list_invoices`)."""
    now = now or timezone.now()
    if invoice.status == InvoiceStatus.WAITING and invoice.expires_at <= now:
        return InvoiceStatus.EXPIRED
    return invoice.status


def invoice_data(invoice: Invoice) -> dict:
    """The API's representation of an invoice, also the `invoice.waiting` event's data."""
    return {
        "id": str(invoice.pk),
        "invoice_number": invoice.invoice_number,
        "status": shown_status(invoice),
        "transaction_id": str(invoice.transaction_id) if invoice.transaction_id else None,
        "points": invoice.points,
        "coins": invoice.coins,
        "amount": str(invoice.amount),
        "currency": invoice.currency,
        "branch_id": str(invoice.branch_id),
        "issued_at": invoice.issued_at,
        "expires_at": invoice.expires_at,
        "created_at": invoice.created_at,
        "loaded_at": invoice.loaded_at,
        "customer_id": str(invoice.customer_id) if invoice.customer_id else None,
        "earns": invoice.earns or None,
        "lines": invoice.lines,
    }
