"""A7: purchase claims — filed by the customer, approved or rejected in the merchant's console.

Approval accrues by the very action a typed accrual uses (`ledger.accrue_points`, or
`coins.actions.earn_coins` where the merchant's invoices earn coins), so promotions, fraud rules
and holds are those of a purchase typed at the till; the claim only records which accrual it
became.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from lealtad.audit import actions as audit
from lealtad.audit.models import Action
from lealtad.claims import images, storage
from lealtad.claims.errors import ClaimDecided, DuplicateClaim, TooManyClaims
from lealtad.claims.models import Claim, ClaimStatus
from lealtad.core import inputs, money
from lealtad.core.errors import NotFound, ValidationFailed
from lealtad.core.ids import parse_id
from lealtad.customers.models import Customer
from lealtad.invoices.models import Invoice, InvoiceEarns
from lealtad.ledger.accrual import INVOICE_KINDS
from lealtad.ledger.invoices import display_number, invoice_key, lock_number
from lealtad.ledger.models import Status, Transaction
from lealtad.network.models import Branch, Merchant, User
from lealtad.notifications.actions import language_for
from lealtad.notifications.models import Event, OutgoingEmail
from lealtad.offers.promotions import local_date

# How old a purchase may be when it is claimed (days, in the merchant's calendar): the till's
# day is long over, and a merchant cannot check a month-old ticket against its cash register.
MAX_AGE_DAYS = 30
# Claims one customer may have waiting at once, over every merchant (a flood is refused).
MAX_WAITING = 10


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed([{"field": field, "message": message}], message)


# --- where a customer may claim -------------------------------------------------------------------


def claimable_merchants() -> QuerySet[Merchant]:
    """Every active merchant of the network: the customer's identity is network-wide (N2) and a
    first accrual makes them a member, so a claim at a merchant they never visited before joins
    them there on approval."""
    return Merchant.objects.filter(active=True).order_by("name")


def claimable_branches(merchant: Merchant) -> QuerySet[Branch]:
    return Branch.objects.filter(merchant=merchant, active=True).order_by("name")


def claimable_branches_of(merchants) -> list[Branch]:
    """The active branches of these merchants, in one query (the claim form lists them all)."""
    return list(
        Branch.objects.filter(merchant__in=merchants, active=True).order_by("merchant_id", "name")
    )


def _merchant(merchant_id) -> Merchant:
    try:
        return claimable_merchants().get(pk=parse_id(merchant_id, "merchant"))
    except (Merchant.DoesNotExist, NotFound):
        raise _invalid("merchant", _("Choose a merchant of the network.")) from None


def _branch(merchant: Merchant, branch_id) -> Branch:
    try:
        return claimable_branches(merchant).get(pk=parse_id(branch_id, "branch"))
    except (Branch.DoesNotExist, NotFound):
        raise _invalid("branch", _("Choose a branch of this merchant.")) from None


def _purchase_date(merchant: Merchant, purchased_on, now) -> dt.date:
    if not isinstance(purchased_on, dt.date) or isinstance(purchased_on, dt.datetime):
        raise _invalid("purchased_on", _("Enter the date of the invoice."))
    today = local_date(merchant, now)
    if purchased_on > today:
        raise _invalid("purchased_on", _("The purchase date cannot be in the future."))
    if purchased_on < today - dt.timedelta(days=MAX_AGE_DAYS):
        raise _invalid(
            "purchased_on",
            _("Purchases older than %(days)d days cannot be claimed.") % {"days": MAX_AGE_DAYS},
        )
    return purchased_on


def _amount(merchant: Merchant, amount) -> Decimal:
    try:
        return money.parse_amount(amount, merchant.currency)
    except money.InvalidAmount as exc:
        raise _invalid("amount", str(exc)) from None


def _number(invoice_number) -> tuple[str, str]:
    if isinstance(invoice_number, str) and inputs.has_control(invoice_number):
        raise _invalid("invoice_number", _("Control characters (such as NUL) are not allowed."))
    number = display_number(invoice_number) if isinstance(invoice_number, str) else None
    key = invoice_key(number)
    if not number or not key:
        raise _invalid("invoice_number", _("Enter the invoice number."))
    return number, key


# --- duplicates ---------------------------------------------------------------------------------


def _number_taken(merchant: Merchant, number: str, key: str) -> DuplicateClaim | None:
    """Why this invoice number cannot be claimed here, or None: accrued (points or coins, posted
    or held; a rejected accrual frees it) or recorded by the merchant's point of sale."""
    accrued = (
        Transaction.objects.filter(merchant=merchant, kind__in=INVOICE_KINDS, invoice_key=key)
        .exclude(status=Status.REJECTED)
        .exists()
    )
    if accrued:
        return DuplicateClaim(
            _("Invoice %(invoice)s was already accrued at this merchant.") % {"invoice": number}
        )
    if Invoice.objects.filter(merchant=merchant, invoice_key=key).exists():
        return DuplicateClaim(
            _("Invoice %(invoice)s was already sent by the merchant's point of sale.")
            % {"invoice": number}
        )
    return None


def _already_claimed(number: str) -> DuplicateClaim:
    return DuplicateClaim(
        _("Invoice %(invoice)s was already claimed at this merchant.") % {"invoice": number}
    )


def flag_duplicates(claims: list[Claim]) -> list[Claim]:
    """The queue's warning: a waiting claim whose number was used since it was filed (a typed
    accrual, a POS invoice). Two queries for the whole page. Sets `claim.duplicate` (a message or
    "")."""
    for claim in claims:
        claim.duplicate = ""
    waiting = [c for c in claims if c.status == ClaimStatus.WAITING]
    if not waiting:
        return claims
    by_merchant: dict = {}
    for claim in waiting:
        by_merchant.setdefault(claim.merchant_id, set()).add(claim.invoice_key)
    accrued, pos = set(), set()
    for merchant_id, keys in by_merchant.items():
        accrued |= {
            (merchant_id, k)
            for k in Transaction.objects.filter(
                merchant_id=merchant_id, kind__in=INVOICE_KINDS, invoice_key__in=keys
            )
            .exclude(status=Status.REJECTED)
            .values_list("invoice_key", flat=True)
        }
        pos |= {
            (merchant_id, k)
            for k in Invoice.objects.filter(
                merchant_id=merchant_id, invoice_key__in=keys
            ).values_list("invoice_key", flat=True)
        }
    for claim in waiting:
        if (claim.merchant_id, claim.invoice_key) in accrued:
            claim.duplicate = _("This invoice number was accrued after the claim was sent.")
        elif (claim.merchant_id, claim.invoice_key) in pos:
            claim.duplicate = _("The point of sale sent this invoice after the claim was sent.")
    return claims


# --- filing -------------------------------------------------------------------------------------


def submit_claim(
    *,
    customer: Customer,
    merchant_id,
    branch_id,
    invoice_number,
    amount,
    purchased_on,
    photo,
    now=None,
) -> Claim:
    """A7: the customer's claim, waiting in the merchant's queue. Refused (ValidationFailed with
    the field) for a bad field, a photo that is no allowed picture (`invalid_image`) or over
    8 MB (`image_too_large`), or an invoice number already used here (`duplicate_invoice`).

    `photo`: an uploaded file (or anything with read/seek/size), or the bytes."""
    now = now or timezone.now()
    merchant = _merchant(merchant_id)
    branch = _branch(merchant, branch_id)
    number, key = _number(invoice_number)
    amount = _amount(merchant, amount)
    purchased_on = _purchase_date(merchant, purchased_on, now)
    data = photo if isinstance(photo, bytes) else images.read_upload(photo)
    taken = _number_taken(merchant, number, key)
    if taken is not None:
        raise taken
    if (
        Claim.objects.filter(merchant=merchant, invoice_key=key)
        .exclude(status=ClaimStatus.REJECTED)
        .exists()
    ):
        raise _already_claimed(number)
    waiting = Claim.objects.filter(customer=customer, status=ClaimStatus.WAITING).count()
    if waiting >= MAX_WAITING:
        raise TooManyClaims(
            _("You have %(n)d claims waiting for review; wait for their answer first.")
            % {"n": waiting}
        )
    picture = images.process(data)  # the slow part, before any lock is taken
    name = storage.save(picture.content, picture.extension)
    try:
        with transaction.atomic():
            # As a typed accrual and a POS push do: whoever takes this number, one at a time.
            lock_number(merchant.pk, key)
            taken = _number_taken(merchant, number, key)
            if taken is not None:
                raise taken
            claim = Claim.objects.create(
                customer=customer,
                merchant=merchant,
                branch=branch,
                invoice_number=number,
                invoice_key=key,
                amount=amount,
                currency=merchant.currency,
                purchased_on=purchased_on,
                photo=name,
                photo_type=picture.content_type,
                photo_width=picture.width,
                photo_height=picture.height,
                created_at=now,
            )
    except IntegrityError as exc:
        storage.delete(name)
        if "claim_unique_invoice" in str(exc) or "invoice_key" in str(exc):
            raise _already_claimed(number) from None
        raise
    except BaseException:
        storage.delete(name)
        raise
    return claim


# --- reading ------------------------------------------------------------------------------------


def get_claim_for(merchant: Merchant, claim_id) -> Claim:
    """The merchant's claim; another merchant's is not found."""
    claim = (
        Claim.objects.select_related("customer", "branch", "transaction", "decided_by")
        .filter(pk=parse_id(claim_id, "claim"), merchant=merchant)
        .first()
    )
    if claim is None:
        raise NotFound(_("Claim not found."))
    return claim


def get_customer_claim(customer: Customer, claim_id) -> Claim:
    """The customer's own claim; anyone else's is not found."""
    claim = (
        Claim.objects.select_related("merchant", "branch", "transaction")
        .filter(pk=parse_id(claim_id, "claim"), customer=customer)
        .first()
    )
    if claim is None:
        raise NotFound(_("Claim not found."))
    return claim


def customer_claims(customer: Customer, limit: int = 100) -> list[Claim]:
    return list(
        Claim.objects.filter(customer=customer)
        .select_related("merchant", "branch", "transaction")
        .order_by("-created_at")[:limit]
    )


def queue(merchant: Merchant, status: str = ClaimStatus.WAITING, limit: int = 200) -> list[Claim]:
    """The console's queue: waiting claims oldest first (decided ones newest first), flagged."""
    rows = Claim.objects.filter(merchant=merchant).select_related(
        "customer", "branch", "transaction", "decided_by"
    )
    if status == ClaimStatus.WAITING:
        rows = rows.filter(status=ClaimStatus.WAITING).order_by("created_at")
    else:
        rows = rows.exclude(status=ClaimStatus.WAITING).order_by("-decided_at")
    return flag_duplicates(list(rows[:limit]))


def waiting_count(merchant: Merchant) -> int:
    return Claim.objects.filter(merchant=merchant, status=ClaimStatus.WAITING).count()


@dataclass(frozen=True)
class Outcome:
    """What the customer is told of a claim: its status and, once approved, what it earned."""

    status: str
    label: str
    points: int = 0
    coins: int = 0
    held: bool = False
    reason: str = ""


def outcome(claim: Claim) -> Outcome:
    txn = claim.transaction if claim.transaction_id else None
    if claim.status == ClaimStatus.REJECTED:
        return Outcome("rejected", str(ClaimStatus.REJECTED.label), reason=claim.reason)
    if claim.status == ClaimStatus.WAITING or txn is None:
        return Outcome("waiting", str(ClaimStatus.WAITING.label))
    if txn.status == Status.REJECTED:
        # Approved here, then its accrual was held by a fraud rule and rejected in the queue.
        return Outcome("rejected", str(ClaimStatus.REJECTED.label), reason=txn.reason)
    coins = txn.kind == "coin_earn"
    return Outcome(
        "approved",
        str(ClaimStatus.APPROVED.label),
        points=0 if coins else txn.points,
        coins=txn.points if coins else 0,
        held=txn.status == Status.PENDING,
    )


# --- deciding -----------------------------------------------------------------------------------


def _lock_waiting(merchant: Merchant, claim_id) -> Claim:
    """The claim's row, locked, after the lock on its invoice number (number first, then rows,
    as every taker of a number does: no deadlock with a typed accrual of the same number)."""
    pk = parse_id(claim_id, "claim")
    key = (
        Claim.objects.filter(pk=pk, merchant=merchant).values_list("invoice_key", flat=True).first()
    )
    if key is None:
        raise NotFound(_("Claim not found."))
    lock_number(merchant.pk, key)
    claim = (
        Claim.objects.select_for_update()
        .select_related("customer", "branch")
        .filter(pk=pk, merchant=merchant)
        .first()
    )
    claim.merchant = merchant
    if claim.status != ClaimStatus.WAITING:
        if claim.status == ClaimStatus.APPROVED:
            raise ClaimDecided(_("This claim was already approved."))
        raise ClaimDecided(_("This claim was already rejected."))
    return claim


def approve_claim(*, merchant: Merchant, claim_id, staff: User | None = None, now=None) -> Claim:
    """The admin read the photo: the purchase accrues for the customer (points, or coins where the
    merchant's invoices earn coins) through the typed accrual's own action. Two admins at once
    make one accrual (the row lock; the second is told `claim_already_decided`). A number used
    meanwhile (typed, POS) is refused with `duplicate_invoice` and the claim keeps waiting, to
    be rejected; so is any refusal of the accrual (fraud rule, amount below the minimum, a
    suspended customer)."""
    now = now or timezone.now()
    with transaction.atomic():
        claim = _lock_waiting(merchant, claim_id)
        taken = _number_taken(merchant, claim.invoice_number, claim.invoice_key)
        if taken is not None:
            raise taken
        movement = _accrue(merchant, claim, staff, now)
        claim.status = ClaimStatus.APPROVED
        claim.transaction = movement.transaction
        claim.decided_by = staff
        claim.decided_at = now
        claim.save(update_fields=["status", "transaction", "decided_by", "decided_at"])
        _audit(Action.CLAIM_APPROVE, merchant, claim, staff, now)
        _tell(claim, now)
    return claim


def _accrue(merchant: Merchant, claim: Claim, staff, now):
    common = dict(
        merchant=merchant,
        customer=claim.customer,
        amount=claim.amount,
        branch=claim.branch,
        staff=staff,
        invoice_number=claim.invoice_number,
        now=now,
    )
    if InvoiceEarns(merchant.invoice_earns) == InvoiceEarns.COINS:  # as a POS invoice loads
        from lealtad.coins.actions import earn_coins

        return earn_coins(**common)
    from lealtad.ledger.accrual import accrue_points

    return accrue_points(**common)


def reject_claim(
    *, merchant: Merchant, claim_id, reason: str, staff: User | None = None, now=None
) -> Claim:
    """The claim is refused; the reason (required) is shown to the customer and the invoice
    number is free again (a readable photo may be sent)."""
    now = now or timezone.now()
    reason = " ".join((reason or "").split())[:300]
    if not reason:
        raise _invalid("reason", _("Say why the claim is rejected; the customer will read it."))
    with transaction.atomic():
        claim = _lock_waiting(merchant, claim_id)
        claim.status = ClaimStatus.REJECTED
        claim.reason = reason
        claim.decided_by = staff
        claim.decided_at = now
        claim.save(update_fields=["status", "reason", "decided_by", "decided_at"])
        _audit(Action.CLAIM_REJECT, merchant, claim, staff, now, reason=reason)
        _tell(claim, now)
    return claim


def _audit(action, merchant, claim: Claim, staff, now, **after) -> None:
    audit.record(
        action,
        merchant=merchant,
        target=claim,
        label=claim.invoice_number,
        customer_id=claim.customer_id,
        before={"status": ClaimStatus.WAITING},
        after={"status": claim.status, "amount": claim.amount, **after},
        staff=staff,
        branch=claim.branch_id,
        now=now,
    )


def _tell(claim: Claim, now) -> OutgoingEmail | None:
    """The customer's e-mail on the decision, written in the deciding transaction (its send task
    is enqueued with the row by notifications), in the merchant's language."""
    customer = claim.customer
    if not customer.email:
        return None
    context = {"claim": claim, "merchant": claim.merchant, "customer": customer}
    context["outcome"] = outcome(claim)
    with translation.override(language_for(claim.merchant)):
        subject = render_to_string("claims/email/decided_subject.txt", context)
        body = render_to_string("claims/email/decided.txt", context)
    return OutgoingEmail.objects.create(
        merchant=claim.merchant,
        customer=customer,
        event=Event.CLAIM,
        to=customer.email,
        subject=" ".join(subject.split())[:200],
        body=body.strip() + "\n",
        created_at=now,
    )


def open_photo(claim: Claim):
    if not claim.photo:
        raise FileNotFoundError("erased")
    return storage.open_photo(claim.photo)


def erase_photos(customer: Customer) -> int:
    """C12 (anonymisation): the customer's invoice photos go; the claims stay as the record of
    what was decided (number, amount, date, like the ledger's rows). Called inside the
    anonymisation's transaction: the files are deleted once it commits, never before."""
    names = list(
        Claim.objects.filter(customer=customer).exclude(photo="").values_list("photo", flat=True)
    )
    Claim.objects.filter(customer=customer).exclude(photo="").update(photo="")

    def delete():
        for name in names:
            storage.delete(name)

    transaction.on_commit(delete)
    return len(names)
