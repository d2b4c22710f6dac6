"""A7 through the customer's own API: send a purchase claim with a photo of the invoice
(multipart/form-data) and read the claims sent with their answer. The same actions as the app's
screens (lealtad.claims.actions)."""

import datetime as dt
from typing import Annotated

from django.http import HttpResponse
from django.utils.translation import gettext as _
from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import StringConstraints

from lealtad.api import paging
from lealtad.api import schemas as s
from lealtad.api.customer_auth import CustomerAuth
from lealtad.claims import actions
from lealtad.claims.models import Claim
from lealtad.core.errors import ValidationFailed

router = Router(tags=["me"], auth=CustomerAuth())
PROBLEMS = {code: s.Problem for code in (400, 401, 403, 404, 409, 422, 429)}


class ClaimOut(Schema):
    id: str
    merchant_id: str
    merchant_name: str
    branch_id: str
    branch_name: str
    invoice_number: str
    amount: str
    currency: str
    purchased_on: dt.date
    status: str  # waiting | approved | rejected
    points: int
    coins: int
    held: bool  # approved, and its accrual awaits the merchant's approval queue (P9)
    reason: str | None
    transaction_id: str | None
    created_at: dt.datetime
    decided_at: dt.datetime | None


class ClaimList(Schema):
    results: list[ClaimOut]


def claim_out(claim: Claim) -> dict:
    shown = actions.outcome(claim)
    return {
        "id": str(claim.pk),
        "merchant_id": str(claim.merchant_id),
        "merchant_name": claim.merchant.name,
        "branch_id": str(claim.branch_id),
        "branch_name": claim.branch.name,
        "invoice_number": claim.invoice_number,
        "amount": f"{claim.amount:.2f}",
        "currency": claim.currency,
        "purchased_on": claim.purchased_on,
        "status": shown.status,
        "points": shown.points,
        "coins": shown.coins,
        "held": shown.held,
        "reason": shown.reason or None,
        "transaction_id": str(claim.transaction_id) if claim.transaction_id else None,
        "created_at": claim.created_at,
        "decided_at": claim.decided_at,
    }


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        message = _("A date such as 2026-12-03.")
        raise ValidationFailed([{"field": "purchased_on", "message": message}], message) from None


@router.post("/me/claims", response={201: ClaimOut, **PROBLEMS})
def create_claim(
    request,
    merchant_id: Form[Annotated[str, StringConstraints(max_length=64)]],
    branch_id: Form[Annotated[str, StringConstraints(max_length=64)]],
    invoice_number: Form[Annotated[str, StringConstraints(max_length=64)]],  # Claim's column
    amount: Form[Annotated[str, StringConstraints(max_length=24)]],
    purchased_on: Form[Annotated[str, StringConstraints(max_length=10)]],
    photo: File[UploadedFile] = None,
):
    """A7: claim a purchase the till did not load, as multipart/form-data with the invoice's
    `photo` (JPEG, PNG, WebP or HEIC, at most 8 MB; stored re-encoded, without its metadata).
    `amount` is a plain decimal string ("25000.00"), `purchased_on` a date (not in the future,
    at most 30 days old). The claim waits for the merchant's review.

    Errors (422): `invalid_image` (not a picture of those formats, or a decompression bomb),
    `image_too_large`, `duplicate_invoice` (the number was accrued, sent by the merchant's point
    of sale, or claimed already at that merchant), `too_many_claims`, `validation_error`."""
    claim = actions.submit_claim(
        customer=request.auth,
        merchant_id=merchant_id,
        branch_id=branch_id,
        invoice_number=invoice_number,
        amount=amount,
        purchased_on=_date(purchased_on),
        photo=photo,
    )
    return Status(201, claim_out(claim))


@router.get("/me/claims", response={200: ClaimList, **PROBLEMS})
def list_claims(
    request, response: HttpResponse, limit: paging.Limit = 100, offset: paging.Offset = 0
):
    """The customer's claims, newest first, with their answer (points or coins, the reason of a
    rejection)."""
    rows, _next = paging.page(
        request, response, actions.customer_claims(request.auth), limit, offset
    )
    return {"results": [claim_out(c) for c in rows]}


@router.get("/me/claims/{claim_id}", response={200: ClaimOut, **PROBLEMS})
def get_claim(request, claim_id: str):
    return claim_out(actions.get_customer_claim(request.auth, claim_id))
