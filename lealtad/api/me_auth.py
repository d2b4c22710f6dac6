"""A1 through the API: a customer asks a one-time code and trades it for a bearer token
(API.md Part 2, "The customer's own API"). The same actions as the app's sign-in screens."""

import datetime as dt
from typing import Annotated

from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from pydantic import StrictStr, StringConstraints

from lealtad.api import schemas as s
from lealtad.app import actions
from lealtad.app.models import SessionKind
from lealtad.core.errors import ValidationFailed
from lealtad.network.signin import client_address

router = Router(tags=["customer app"], auth=None)
PROBLEMS = {code: s.Problem for code in (400, 401, 403, 404, 409, 422, 429)}
Address = Annotated[StrictStr, StringConstraints(min_length=1, max_length=254)]


class CodeIn(Schema):
    email: Address | None = None
    mobile: Address | None = None


class CodeAccepted(Schema):
    status: str


class CustomerTokenIn(CodeIn):
    code: Annotated[StrictStr, StringConstraints(min_length=1, max_length=20)]


class CustomerTokenOut(Schema):
    token: str
    expires_at: dt.datetime
    role: str
    customer_id: str


def _one_address(payload: CodeIn) -> dict:
    if bool(payload.email) == bool(payload.mobile):
        raise ValidationFailed(
            [{"field": "email", "message": _("Send either an e-mail or a mobile number.")}]
        )
    return {"email": payload.email, "mobile": payload.mobile}


@router.post("/auth/customer/code", response={202: CodeAccepted, **PROBLEMS})
def customer_code(request, payload: CodeIn):
    """A 6-digit code (10 minutes, single use, 5 tries) to the e-mail, or to the mobile (by SMS
    when an SMS provider is configured, else to the customer's e-mail). Always 202: the answer
    never tells whether the address belongs to a customer. 429 `too_many_attempts` past the
    hourly limits per address and per IP."""
    actions.request_code(**_one_address(payload), ip=client_address(request))
    return Status(202, {"status": "sent"})


@router.post("/auth/customer/token", response={200: CustomerTokenOut, **PROBLEMS})
def customer_token(request, payload: CustomerTokenIn):
    """The code → a customer bearer token for `/api/v1/me*` (180 days, extended by use,
    revocable). 401 `invalid_code` (wrong, expired, used, or after 5 tries);
    429 `too_many_attempts`."""
    session, token = actions.verify_code(
        **_one_address(payload),
        code=payload.code,
        ip=client_address(request),
        user_agent=request.headers.get("User-Agent", ""),
        kind=SessionKind.API,
    )
    return {
        "token": token,
        "expires_at": session.expires_at,
        "role": "customer",
        "customer_id": str(session.customer_id),
    }
