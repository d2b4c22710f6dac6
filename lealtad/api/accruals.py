"""P2 accruals through the API. The single `POST /accruals` (api.py) and every item of
`POST /accruals/batch` (batch.py) go through `accrue_for`, so that an item answers exactly what
the single call would have answered."""

import uuid

from django.utils.translation import gettext as _

from lealtad.api import schemas as s
from lealtad.core import money
from lealtad.core.errors import NotFound, ValidationFailed
from lealtad.core.ids import parse_id
from lealtad.customers import actions as customers
from lealtad.customers.models import Customer, Membership
from lealtad.ledger import actions as ledger
from lealtad.network.models import Branch, Merchant


def branch_for(actor, branch_id) -> Branch:
    """The branch a movement happens at: the one named (of the caller's merchant), else the
    caller's own."""
    if branch_id is None:
        if actor.branch is None:
            raise ValidationFailed([{"field": "branch_id", "message": _("Say which branch.")}])
        return actor.branch
    branch = Branch.objects.filter(
        pk=parse_id(branch_id, "branch"), merchant=actor.merchant, active=True
    ).first()
    if branch is None:
        raise NotFound(_("Branch not found."))
    return branch


class Members:
    """Who accruals are for at one merchant: the membership, or, for a customer's first accrual
    here, the network identity (the accrual makes them a member, N2).

    Without preloading each lookup costs a query or two (the single call). A batch preloads every
    customer it names in two queries; a preloaded entry is handed out once, and a customer named
    again is looked up afresh, since the first item may have made them a member or changed their
    category."""

    def __init__(self, merchant: Merchant, customer_ids=()):
        self.merchant = merchant
        ids = set()
        for value in customer_ids:
            try:
                ids.add(uuid.UUID(str(value).strip()))
            except (TypeError, ValueError, AttributeError):
                continue  # that item answers 404 when its turn comes
        self._memberships: dict = {}
        self._customers: dict = {}
        if ids:
            rows = Membership.objects.select_related("customer", "category", "holder").filter(
                merchant=merchant, customer_id__in=ids
            )
            self._memberships = {m.customer_id: m for m in rows}
            rest = ids - set(self._memberships)
            if rest:
                self._customers = {c.pk: c for c in Customer.objects.filter(pk__in=rest)}
        self._preloaded = ids
        # Every membership preloaded, taken or not: the accounts a batch's items may touch.
        self.preloaded: dict = dict(self._memberships)

    def waiting(self, pk) -> Membership | None:
        """The preloaded membership of customer `pk` (a UUID) not handed out yet, if any."""
        return self._memberships.get(pk)

    def take(self, customer_id) -> tuple[Membership | None, Customer | None]:
        pk = parse_id(customer_id)
        if pk in self._preloaded:
            self._preloaded.discard(pk)
            membership = self._memberships.pop(pk, None)
            if membership is not None:
                return membership, None
            customer = self._customers.pop(pk, None)
            if customer is None:
                raise NotFound(_("Customer not found."))
            return None, customer
        membership = customers.membership_at(self.merchant, pk)
        if membership is not None:
            return membership, None
        return None, customers.get_customer(pk)


def accrue_for(actor, payload: s.AccrualIn, members: Members | None = None) -> dict:
    """One accrual for the caller's merchant; the 201 body, or a LealtadError raised."""
    try:
        amount = money.parse_amount(payload.amount, actor.merchant.currency)
    except money.InvalidAmount as exc:
        raise ValidationFailed([{"field": "amount", "message": str(exc)}], str(exc)) from None
    branch = branch_for(actor, payload.branch_id)
    # A first accrual makes the customer a member (N2) inside the accrual's own transaction, so
    # that a refused one (below the minimum, a duplicate invoice) makes no member either.
    membership, customer = (members or Members(actor.merchant)).take(payload.customer_id)
    movement = ledger.accrue_points(
        merchant=actor.merchant,
        membership=membership,
        customer=customer,
        amount=amount,
        branch=branch,
        staff=actor.user,
        invoice_number=payload.invoice_number,
    )
    txn = movement.transaction
    return {
        "id": str(txn.pk),
        "points": txn.points,
        "status": txn.status,
        "balance": {"available": movement.available, "pending": movement.pending},
    }
