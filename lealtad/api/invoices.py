"""I2 / I3 through the API: invoices pushed by the merchant's point of sale (API.md Part 2,
"POS invoices"). The same actions as the till (lealtad.invoices.actions)."""

import datetime as dt
from typing import Annotated, Literal

from django.http import HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from pydantic import StrictInt, StrictStr, StringConstraints

from lealtad.api import paging
from lealtad.api import schemas as s
from lealtad.api.auth import merchant_actor
from lealtad.core.errors import NotFound, ValidationFailed
from lealtad.customers import actions as customers
from lealtad.customers import documents
from lealtad.customers.models import Customer
from lealtad.invoices import actions

router = Router(tags=["invoices"])
PROBLEMS = {code: s.Problem for code in (400, 401, 403, 404, 409, 422, 429)}

Decimalish = Annotated[StrictStr, StringConstraints(max_length=32)] | StrictInt
Text = Annotated[StrictStr, StringConstraints(max_length=1000)]


class InvoiceCustomerIn(Schema):
    """One way to say who the customer is: a document, their id, or their QR's payload
    (`GET /customers/{id}/qr`, as scanned at the till)."""

    document_type: Annotated[StrictStr, StringConstraints(max_length=10)] | None = None
    document_number: Annotated[StrictStr, StringConstraints(max_length=40)] | None = None
    customer_id: s.Id | None = None
    qr_payload: Text | None = None


class InvoiceLineIn(Schema):
    description: Annotated[StrictStr, StringConstraints(max_length=1000)] | None = None
    quantity: Decimalish | None = Field(None, examples=["2"])
    unit_price: Decimalish | None = Field(None, examples=["4000.00"])
    amount: Decimalish | None = Field(None, examples=["8000.00"])


class InvoiceIn(Schema):
    invoice_number: Annotated[StrictStr, StringConstraints(max_length=64)] = Field(
        examples=["F-1001"]
    )
    amount: Decimalish = Field(examples=["25000.00"])
    branch_id: s.Id | None = None
    issued_at: dt.datetime | None = None
    customer: InvoiceCustomerIn | None = None
    lines: list[InvoiceLineIn] | None = Field(None, description="At most 200 line items.")


class AssignIn(Schema):
    customer_id: s.Id


class InvoiceLineOut(Schema):
    description: str
    quantity: str | None = None
    unit_price: str | None = None
    amount: str | None = None


class InvoiceOut(Schema):
    id: str
    invoice_number: str
    status: Literal["waiting", "loaded", "held", "expired"]
    transaction_id: str | None
    points: int
    coins: int
    amount: str
    currency: str
    branch_id: str
    issued_at: dt.datetime
    expires_at: dt.datetime
    created_at: dt.datetime
    loaded_at: dt.datetime | None
    customer_id: str | None
    earns: Literal["points", "coins"] | None
    lines: list[InvoiceLineOut]


class InvoiceList(Schema):
    results: list[InvoiceOut]


invoice_out = actions.invoice_data


def _customer(merchant, ref: InvoiceCustomerIn | None) -> Customer | None:
    if ref is None:
        return None
    given = [
        name
        for name, value in (
            ("document", ref.document_type or ref.document_number),
            ("customer_id", ref.customer_id),
            ("qr_payload", ref.qr_payload),
        )
        if value
    ]
    if len(given) != 1:
        raise ValidationFailed(
            [
                {
                    "field": "customer",
                    "message": _(
                        "Identify the customer one way: document_type and document_number, "
                        "customer_id, or qr_payload."
                    ),
                }
            ]
        )
    if ref.customer_id:
        return customers.get_customer(ref.customer_id)
    if ref.qr_payload:
        # The till's resolver: a valid payload of the customer's current QR, or nothing.
        payload = ref.qr_payload.strip()
        found = customers.find_customers(payload) if payload.startswith(customers.QR_PREFIX) else []
        if len(found) != 1:
            raise ValidationFailed(
                [{"field": "customer.qr_payload", "message": _("This customer QR is not valid.")}]
            )
        return found[0]
    return _by_document(merchant, ref)


def _by_document(merchant, ref: InvoiceCustomerIn) -> Customer:
    if not ref.document_type or not ref.document_number:
        field = "customer.document_number" if ref.document_type else "customer.document_type"
        raise ValidationFailed([{"field": field, "message": _("This field is required.")}])
    doc_type = ref.document_type.strip().upper()
    try:
        number = documents.normalize_document(merchant.country, doc_type, ref.document_number)
    except documents.InvalidDocument as exc:
        field = (
            "customer.document_type"
            if exc.code == "unsupported_document_type"
            else "customer.document_number"
        )
        raise ValidationFailed([{"field": field, "message": str(exc)}], str(exc)) from None
    customer_id = customers.identity_of(merchant.country, doc_type, number)
    if customer_id is None:
        raise NotFound(_("Customer not found."))
    return Customer.objects.get(pk=customer_id)


@router.post("/invoices", response={200: InvoiceOut, 201: InvoiceOut, **PROBLEMS})
def push(request, payload: InvoiceIn):
    """I2: the POS sends an invoice, with its customer (loaded at once: points, or coins at an
    issuer whose invoices earn coins; `held` when the accrual awaits approval) or without
    (`waiting` at the branch until the cashier identifies the customer, or it expires).

    The same number (trimmed, case-folded) and amount again → 200 the same invoice. Errors: 409
    `duplicate_invoice` (the number with another amount or customer, or already accrued by hand),
    422 `validation_error` per field, 422 `amount_below_minimum`, 403 `customer_suspended`,
    403 `not_coin_issuer`, 404 `not_found` (branch or customer). A refused load records nothing."""
    from lealtad.api.api import _branch  # api.py adds this router at its end

    actor = merchant_actor(request)
    branch = _branch(actor, payload.branch_id)
    customer = _customer(actor.merchant, payload.customer)
    lines = None
    if payload.lines is not None:
        lines = [line.model_dump(exclude_none=True) for line in payload.lines]
    invoice, created = actions.record_invoice(
        merchant=actor.merchant,
        branch=branch,
        invoice_number=payload.invoice_number,
        amount=payload.amount,
        issued_at=payload.issued_at,
        lines=lines,
        customer=customer,
        api_key=actor.api_key,
        staff=actor.user,
    )
    return Status(201 if created else 200, invoice_out(invoice))


@router.get("/invoices", response={200: InvoiceList, **PROBLEMS})
def list_invoices(
    request,
    response: HttpResponse,
    status: Literal["waiting", "loaded", "held", "expired"] | None = None,
    branch_id: s.Id | None = None,
    limit: paging.Limit = 50,
    offset: paging.Offset = 0,
):
    """The merchant's invoices, newest first (`waiting`: still claimable)."""
    from lealtad.api.api import _branch

    actor = merchant_actor(request)
    branch = _branch(actor, branch_id) if branch_id else None
    rows = actions.list_invoices(
        actor.merchant, branch=branch, status=status, limit=offset + limit + 1
    )
    rows, _next = paging.page(request, response, rows, limit, offset)
    return {"results": [invoice_out(invoice) for invoice in rows]}


@router.get("/invoices/{invoice_id}", response={200: InvoiceOut, **PROBLEMS})
def get_invoice(request, invoice_id: str):
    actor = merchant_actor(request)
    return invoice_out(actions.get_invoice_for(actor.merchant, invoice_id))


@router.post("/invoices/{invoice_id}/assign", response={200: InvoiceOut, **PROBLEMS})
def assign(request, invoice_id: str, payload: AssignIn):
    """I3: the customer of a waiting invoice → 200, `loaded` (or `held`). 409
    `invoice_already_loaded`, 409 `invoice_expired`, 403 `customer_suspended` (the invoice keeps
    waiting), 404 another merchant's invoice."""
    actor = merchant_actor(request)
    invoice = actions.assign_invoice(
        invoice_id,
        merchant=actor.merchant,
        customer=customers.get_customer(payload.customer_id),
        staff=actor.user,
    )
    return invoice_out(invoice)
