"""The public API, /api/v1 (shared/API.md). Endpoints parse input, call one action, render."""

import io
import json
import logging

import segno
from django.contrib.auth import authenticate
from django.http import Http404, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Query, Status
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser

from lealtad.api import paging
from lealtad.api import schemas as s
from lealtad.api.accruals import accrue_for, branch_for
from lealtad.api.auth import BearerAuth, merchant_actor
from lealtad.api.idempotency import idempotency_in_schema
from lealtad.api.links import links_in_schema
from lealtad.api.problems import problem, problems_in_schema
from lealtad.api.unavailable import database_unavailable, unavailable_problem
from lealtad.api.views import EXPIRING_WINDOW, customer_out, found_out, reward_rows, transaction_out
from lealtad.core.errors import LealtadError, RateLimited
from lealtad.customers import actions as customers
from lealtad.customers import identity, lookup
from lealtad.ledger import actions as ledger
from lealtad.network import actions as network
from lealtad.network.models import Role
from lealtad.program.models import Reward

logger = logging.getLogger(__name__)


class MalformedBody(LealtadError):
    code, status, title = "malformed_json", 400, "The body is not valid JSON"


class JsonParser(Parser):
    def parse_body(self, request):
        try:
            data = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError, RecursionError):
            # InputGuardMiddleware refuses deep nesting first; RecursionError is the last guard.
            raise MalformedBody() from None
        if not isinstance(data, dict):
            raise MalformedBody(_("The body must be a JSON object."))
        return data


class LealtadApi(NinjaAPI):
    def get_openapi_schema(self, **kwargs):
        schema = idempotency_in_schema(problems_in_schema(super().get_openapi_schema(**kwargs)))
        schema = links_in_schema(schema)  # create → read, for clients and Schemathesis
        # OpenAPI 3.1 `webhooks`: what Lealtad POSTs to a merchant's endpoints (I4).
        from lealtad.webhooks.events import EVENT_TYPES
        from lealtad.webhooks.payloads import openapi_webhooks

        components = schema.setdefault("components", {}).setdefault("schemas", {})
        schema["webhooks"] = openapi_webhooks(components, EVENT_TYPES)
        return schema


api = LealtadApi(
    title="Lealtad API",
    version="1",
    description="The public API of the Lealtad loyalty network. See shared/API.md.",
    auth=BearerAuth(),
    parser=JsonParser(),
    urls_namespace="api-v1",
    docs_url="/docs",
    openapi_url="/openapi.json",
)
PROBLEMS = {
    400: s.Problem,
    401: s.Problem,
    403: s.Problem,
    404: s.Problem,
    409: s.Problem,
    422: s.Problem,
    429: s.Problem,
}


# --- errors as problem+json -------------------------------------------------------------------


@api.exception_handler(LealtadError)
def on_domain_error(request, exc: LealtadError):
    response = problem(exc.status, exc.code, exc.title, exc.detail, **exc.extra)
    if isinstance(exc, RateLimited) or getattr(exc, "retry_after", None):
        response["Retry-After"] = str(exc.retry_after)  # also the app's too_many_attempts
    return response


def _field_of(error: dict) -> str:
    # ninja's loc is ("body", "payload", field, [index…, union member…]): keep the field and any
    # list index, drop the rest.
    loc = [
        p
        for p in error.get("loc", [])
        if p not in ("body", "query", "path", "payload", "form", "file")
    ]
    if not loc:
        return "body"
    return ".".join([str(loc[0])] + [str(p) for p in loc[1:] if isinstance(p, int)])


@api.exception_handler(NinjaValidationError)
def on_validation_error(request, exc: NinjaValidationError):
    errors = [{"field": _field_of(e), "message": e.get("msg", "invalid")} for e in exc.errors]
    return problem(
        422,
        "validation_error",
        _("The data sent is not valid"),
        "; ".join(f"{e['field']}: {e['message']}" for e in errors),
        errors=errors,
    )


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request, exc):
    response = problem(
        401,
        "unauthorized",
        _("Authentication required"),
        _("Send a valid token: Authorization: Bearer <token>."),
    )
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    return problem(exc.status_code, "http_error", str(exc), str(exc))


@api.exception_handler(Http404)
def on_not_found(request, exc):
    return problem(404, "not_found", _("Not found"))


@api.exception_handler(Exception)
def on_server_error(request, exc):
    if database_unavailable(exc):
        logger.warning("database unavailable in %s %s: %s", request.method, request.path, exc)
        return unavailable_problem()
    logger.exception("unhandled error in %s %s", request.method, request.path)
    return problem(
        500,
        "internal_error",
        _("Internal error"),
        _("Something went wrong on our side; nothing was changed."),
    )


# --- auth ---------------------------------------------------------------------------------------


@api.post("/auth/token", auth=None, response={200: s.TokenOut, **PROBLEMS}, tags=["auth"])
def create_token(request, payload: s.TokenIn):
    # The one throttle of every way in (network/signin.py) counts and refuses inside authenticate.
    user = authenticate(request, username=payload.username, password=payload.password)
    if user is None and getattr(request, "signin_retry_after", 0):
        response = problem(
            429,
            "too_many_attempts",
            _("Too many attempts"),
            _("Too many failed logins; wait a few minutes and try again."),
        )
        response["Retry-After"] = str(request.signin_retry_after)
        return response
    if user is None:
        return problem(
            401, "invalid_credentials", _("Invalid credentials"), _("Wrong username or password.")
        )
    token, expires_at = network.issue_token(user)
    return {
        "token": token,
        "expires_at": expires_at,
        "role": user.role,
        "merchant_id": str(user.merchant_id) if user.merchant_id else None,
        "branch_id": str(user.branch_id) if user.branch_id else None,
    }


# --- customers ----------------------------------------------------------------------------------


@api.post("/customers", response={201: s.CustomerOut, **PROBLEMS}, tags=["customers"])
def register_customer(request, payload: s.CustomerIn):
    actor = merchant_actor(request)
    profile = payload.dict(
        exclude={"document_type", "document_number", "country", "welcome_bonus"}, exclude_unset=True
    )
    result = customers.register_customer(
        merchant=actor.merchant,
        branch=actor.branch,
        staff=actor.user,
        document_type=payload.document_type,
        document_number=payload.document_number,
        country=payload.country,
        profile=profile,
        welcome_bonus=payload.welcome_bonus,
    )
    return Status(201, customer_out(result.membership, result.customer, actor.merchant))


@api.get("/customers", response={200: s.CustomerList, **PROBLEMS}, tags=["customers"])
def search_customers(
    request,
    response: HttpResponse,
    limit: paging.Limit = 50,
    offset: paging.Offset = 0,
    q: str = "",
):
    actor = merchant_actor(request)
    merchant = actor.merchant
    # One query: the customers with this merchant's membership, points and wallet (lookup.py).
    now = timezone.now()
    alternatives = customers.search_terms(q, country=merchant.country)
    results = []
    for found in lookup.lookup(merchant, alternatives, now, now + EXPIRING_WINDOW):
        if not found.member:  # never joined this merchant: a masked card to enrol them
            results.append(identity.card_of(found.customer))
        else:
            results.append(found_out(found, merchant))
    results, _next = paging.page(request, response, results, limit, offset)
    return {"results": results}


@api.get("/customers/{customer_id}", response={200: s.CustomerOut, **PROBLEMS}, tags=["customers"])
def get_customer(request, customer_id: str):
    actor = merchant_actor(request)
    membership = customers.get_membership_for(actor.merchant, customer_id)
    return customer_out(membership, membership.customer, actor.merchant)


@api.patch(
    "/customers/{customer_id}", response={200: s.CustomerOut, **PROBLEMS}, tags=["customers"]
)
def update_customer(request, customer_id: str, payload: s.ProfilePatchIn):
    """Fill in or correct the profile. A contact or document already set answers 409
    `confirmation_required`: change it through /contact-changes (docs/api-contact-changes.md)."""
    actor = merchant_actor(request)
    membership = customers.get_membership_for(actor.merchant, customer_id)
    customer = identity.update_profile(
        membership.customer, payload.dict(exclude_unset=True), _requester(actor)
    )
    return customer_out(membership, customer, actor.merchant)


def _requester(actor) -> identity.Requester:
    return identity.Requester(actor.merchant, user=actor.user, api_key=actor.api_key)


@api.post(
    "/customers/{customer_id}/contact-changes",
    response={201: s.ContactChangeOut, **PROBLEMS},
    tags=["customers"],
)
def start_contact_change(request, customer_id: str, payload: s.ContactChangeIn):
    """Change a set e-mail, mobile or document: a 6-digit code goes to the new address (the
    document's to the contact on file); the change applies on confirm. An empty contact is
    filled in at once (`status: applied`)."""
    actor = merchant_actor(request)
    membership = customers.get_membership_for(actor.merchant, customer_id)
    change = identity.start_change(
        membership.customer, _requester(actor), payload.dict(exclude_unset=True)
    )
    return Status(201, identity.change_out(change))


@api.get(
    "/customers/{customer_id}/contact-changes/{change_id}",
    response={200: s.ContactChangeOut, **PROBLEMS},
    tags=["customers"],
)
def get_contact_change(request, customer_id: str, change_id: str):
    actor = merchant_actor(request)
    return identity.change_out(identity.get_change_for(actor.merchant, customer_id, change_id))


@api.post(
    "/customers/{customer_id}/contact-changes/{change_id}/confirm",
    response={200: s.ContactChangeOut, **PROBLEMS},
    tags=["customers"],
)
def confirm_contact_change(
    request, customer_id: str, change_id: str, payload: s.ContactChangeConfirmIn
):
    actor = merchant_actor(request)
    change = identity.get_change_for(actor.merchant, customer_id, change_id)
    return identity.change_out(identity.confirm_change(change, payload.code, payload.owner_code))


@api.post(
    "/customers/{customer_id}/contact-changes/{change_id}/resend",
    response={202: s.ContactChangeOut, **PROBLEMS},
    tags=["customers"],
)
def resend_contact_change(request, customer_id: str, change_id: str):
    actor = merchant_actor(request)
    change = identity.get_change_for(actor.merchant, customer_id, change_id)
    return Status(202, identity.change_out(identity.resend_code(change)))


@api.get(
    "/customers/{customer_id}/statement",
    response={200: s.Statement, **PROBLEMS},
    tags=["customers"],
)
def customer_statement(
    request,
    customer_id: str,
    response: HttpResponse,
    date_from: s.IsoDate | None = Query(None, alias="from"),
    to: s.IsoDate | None = None,
    limit: paging.Limit = paging.MAX_LIMIT,
    offset: paging.Offset = 0,
):
    actor = merchant_actor(request)
    membership = customers.get_membership_for(actor.merchant, customer_id)
    lines = ledger.statement(membership, date_from=date_from, date_to=to)
    lines, _next = paging.page(request, response, lines, limit, offset)
    return {
        "results": [
            {
                "id": str(t.pk),
                "at": t.posted_at,
                "kind": t.kind,
                "points": t.points,
                "balance": t.balance_after,
                "invoice_number": t.invoice_number,
                "branch_id": str(t.branch_id) if t.branch_id else None,
                "reason": t.reason or None,
                "reverses": str(t.reverses_id) if t.reverses_id else None,
            }
            for t in lines
        ],
    }


@api.get("/customers/{customer_id}/qr", response={200: s.QrOut, **PROBLEMS}, tags=["customers"])
def customer_qr(request, customer_id: str):
    """The customer's personal QR (A3): the payload a till's scanner types, and an SVG of it."""
    actor = merchant_actor(request)
    membership = customers.get_membership_for(actor.merchant, customer_id)
    payload = customers.qr_payload(membership.customer)
    buffer = io.BytesIO()
    segno.make(payload, error="m").save(buffer, kind="svg", scale=4, xmldecl=False)
    return {"payload": payload, "svg": buffer.getvalue().decode()}


# --- accruals -----------------------------------------------------------------------------------


_branch = branch_for  # the other routers import it from here


@api.post("/accruals", response={201: s.AccrualOut, **PROBLEMS}, tags=["points"])
def accrue(request, payload: s.AccrualIn):
    """P2. `amount` is a plain decimal string ("25000.00"; no exponent, no thousands separators).
    An invoice number is compared trimmed and case-folded ("F-1001" is "f-1001").

    Errors: 422 `amount_below_minimum` (the purchase earns no point; `minimum` is the smallest
    amount that does), 409 `duplicate_invoice` (accrued or awaiting approval here; a rejected
    accrual frees its number), 409 `invoice_reversed` (accrued and reversed: the number stays used),
    403 `customer_suspended`. Both 409s carry `transaction_id`, the accrual holding the number.
    Many at once, for a POS syncing after being offline: `POST /accruals/batch`."""
    return Status(201, accrue_for(merchant_actor(request), payload))


from lealtad.api.batch import router as batch_router  # noqa: E402  (POST /accruals/batch)

api.add_router("", batch_router)


# --- rewards and redemptions --------------------------------------------------------------------


@api.get("/rewards", response={200: s.RewardList, **PROBLEMS}, tags=["rewards"])
def list_rewards(
    request,
    response: HttpResponse,
    limit: paging.Limit = 100,
    offset: paging.Offset = 0,
    customer_id: str | None = None,
):
    actor = merchant_actor(request)
    membership = customers.get_membership_for(actor.merchant, customer_id) if customer_id else None
    rows, _next = paging.page(
        request, response, reward_rows(actor.merchant, membership), limit, offset
    )
    return {"results": rows}


@api.post("/rewards", response={201: s.RewardOut, **PROBLEMS}, tags=["rewards"])
def create_reward(request, payload: s.RewardIn):
    actor = merchant_actor(request)
    actor.require(Role.MERCHANT_ADMIN)
    reward = Reward.objects.create(
        merchant=actor.merchant,
        name=payload.name,
        points_cost=payload.points_cost,
        stock=payload.stock,
        description=payload.description,
    )
    return Status(
        201,
        {
            "id": str(reward.pk),
            "name": reward.name,
            "description": reward.description,
            "points_cost": reward.points_cost,
            "stock": reward.stock,
            "affordable": False,
            "points_missing": reward.points_cost,
        },
    )


@api.post("/redemptions", response={201: s.RedemptionOut, **PROBLEMS}, tags=["rewards"])
def redeem(request, payload: s.RedemptionIn):
    """P6. Where the merchant asks the cashier to check the customer's identity document, send
    `"document_checked": true` once it was checked; without it: 422 `document_check_required`."""
    actor = merchant_actor(request)
    branch = _branch(actor, payload.branch_id)
    membership = customers.get_membership_for(actor.merchant, payload.customer_id)
    movement = ledger.redeem_reward(
        membership=membership,
        reward_id=payload.reward_id,
        branch=branch,
        staff=actor.user,
        document_checked=payload.document_checked,
    )
    txn = movement.transaction
    return Status(
        201,
        {
            "id": str(txn.pk),
            "points": -txn.points,
            "reward_id": str(txn.reward_id),
            "balance": {"available": movement.available, "pending": movement.pending},
        },
    )


# --- transactions -------------------------------------------------------------------------------


@api.get(
    "/transactions/{transaction_id}", response={200: s.TransactionOut, **PROBLEMS}, tags=["points"]
)
def get_transaction(request, transaction_id: str):
    actor = merchant_actor(request)
    return transaction_out(ledger.get_transaction_for(actor.merchant, transaction_id))


@api.post(
    "/transactions/{transaction_id}/reversal",
    response={201: s.TransactionOut, **PROBLEMS},
    tags=["points"],
)
def reverse(request, transaction_id: str, payload: s.ReversalIn):
    actor = merchant_actor(request)
    actor.require(Role.MERCHANT_ADMIN)
    reversal = ledger.reverse_transaction(
        merchant=actor.merchant,
        transaction_id=transaction_id,
        reason=payload.reason,
        staff=actor.user,
    )
    return Status(201, transaction_out(reversal))


# --- free items and gifts (R1, R2) --------------------------------------------------------------

from lealtad.api.offers import router as offers_router  # noqa: E402  (needs `api` above)

api.add_router("", offers_router)
from lealtad.api.coins import router as coins_router  # noqa: E402  (needs `api` above)

api.add_router("", coins_router)
from lealtad.api.coin_payments import router as coin_payments_router  # noqa: E402

api.add_router("", coin_payments_router)
from lealtad.api.point_payments import router as point_payments_router  # noqa: E402

api.add_router("", point_payments_router)
from lealtad.api.partners import router as partners_router  # noqa: E402  (needs `api` above)

api.add_router("", partners_router)
from lealtad.api.coin_promotions import router as coin_promotions_router  # noqa: E402

api.add_router("", coin_promotions_router)
from lealtad.api.webhooks import router as webhooks_router  # noqa: E402

api.add_router("", webhooks_router)
from lealtad.api.invoices import router as invoices_router  # noqa: E402  (needs `api` above)

api.add_router("", invoices_router)
from lealtad.api.ratings import router as ratings_router  # noqa: E402  (needs `api` above)

api.add_router("", ratings_router)
from lealtad.api.me_auth import router as me_auth_router  # noqa: E402  (A1: customer sign-in)

api.add_router("", me_auth_router)
from lealtad.api.me import router as me_router  # noqa: E402  (A: /me*, customer tokens only)

api.add_router("", me_router)
from lealtad.api.me_more import router as me_more_router  # noqa: E402  (A5, A8, A9, privacy)

api.add_router("", me_more_router)
from lealtad.api.me_claims import router as me_claims_router  # noqa: E402  (A7: /me/claims)

api.add_router("", me_claims_router)
