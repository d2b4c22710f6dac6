"""I4: what each webhook event carries in `data`, and the OpenAPI 3.1 `webhooks` that document it.

One schema per kind of object (pydantic, like the API's own schemas, with the API's field names:
ids as strings, money as a decimal string, points and coins as integers, times ISO 8601 with
offset). The builders below fill them from the objects the causing action already holds (no
query), and the same schemas are what `/api/v1/openapi.json` shows under `webhooks`: a payload
cannot drift from its documentation.

Each builder returns a plain dict (`model_dump()`): `events.emit` turns datetimes into ISO text.
"""

from datetime import datetime

from django.utils import translation
from pydantic import BaseModel, ConfigDict, Field

from lealtad.core import money


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CategoryRef(_Data):
    id: str
    name: str


class PointsBalance(_Data):
    available: int
    pending: int


class CoinsBalance(_Data):
    available: int
    held: int


class CustomerJoined(_Data):
    """`customer.joined`: the customer became a member of this merchant (first accrual, first
    coin earning, registration, or opened at the till)."""

    customer_id: str
    merchant_id: str
    branch_id: str | None = Field(description="Where the customer joined.")
    category: CategoryRef
    document_type: str
    document_number: str
    country: str
    email: str | None
    mobile: str | None
    first_name: str
    last_name: str
    at: datetime


class Accrual(_Data):
    """`accrual.posted`, `accrual.held`, `accrual.approved`, `accrual.rejected`: the accrual
    transaction as `GET /transactions/{id}` shows it, with the account's balance after it."""

    id: str = Field(description="The transaction id.")
    kind: str = "accrual"
    status: str = Field(description="posted | pending | rejected")
    customer_id: str
    merchant_id: str
    branch_id: str | None
    points: int
    amount: str | None = Field(examples=["25000.00"])
    currency: str
    invoice_number: str | None
    hold_rule: str | None = Field(description="Why it was held (a fraud rule, or the category).")
    reason: str | None = Field(description="Why it was rejected.")
    balance: PointsBalance
    at: datetime


class Redemption(_Data):
    """`redemption.created`: a prize redeemed for points (`kind: reward`, with or without a
    special-price promotion), a promotion's free item handed over (`free_item`) or a gift the
    customer took (`gift`). Only a prize or a points gift moves points (`transaction_id`)."""

    id: str = Field(description="The transaction (reward), free item use or gift offer.")
    kind: str = Field(description="reward | free_item | gift")
    transaction_id: str | None
    customer_id: str
    merchant_id: str
    branch_id: str | None
    name: str
    reward_id: str | None
    promotion_id: str | None
    gift_id: str | None
    points: int = Field(description="Points spent (a prize), credited (a points gift) or 0.")
    balance: PointsBalance | None
    at: datetime


class Reversal(_Data):
    """`transaction.reversed`: the compensating transaction. `points` for a points movement,
    `coins` for a coin one (the other is null), signed as the reversal moves them."""

    id: str = Field(description="The reversal's transaction id.")
    reverses: str = Field(description="The reversed transaction's id.")
    reversed_kind: str
    customer_id: str
    merchant_id: str
    branch_id: str | None
    points: int | None
    coins: int | None
    amount: str | None
    currency: str
    invoice_number: str | None
    reason: str
    balance: int = Field(description="The account's (or coin wallet's) balance after it.")
    at: datetime


class CoinsEarned(_Data):
    """`coins.earned`: coins credited at an issuer merchant (K2)."""

    id: str = Field(description="The transaction id.")
    customer_id: str
    merchant_id: str
    branch_id: str | None
    coins: int
    amount: str = Field(examples=["25000.00"])
    currency: str
    invoice_number: str | None
    balance: CoinsBalance
    at: datetime


class CoinPayment(_Data):
    """`coin_payment.captured`, `coin_payment.cancelled`: the payment as `GET /coin-payments/{id}`
    shows it. `cancel_reason`: cancelled | wrong_code | expired."""

    id: str
    status: str
    customer_id: str
    merchant_id: str
    branch_id: str | None
    coins: int
    invoice_number: str | None
    invoice_amount: str
    currency: str
    via_qr: bool
    transaction_id: str | None
    cancel_reason: str | None
    balance: CoinsBalance
    at: datetime


def _id(value) -> str | None:
    return None if value is None else str(value)


def _amount(amount, currency: str) -> str | None:
    return None if amount is None else money.format_amount(amount, currency)


def customer_joined(membership, customer, now) -> dict:
    return CustomerJoined(
        customer_id=str(customer.pk),
        merchant_id=str(membership.merchant_id),
        branch_id=_id(membership.registered_branch_id),
        category=CategoryRef(id=str(membership.category.pk), name=membership.category.name),
        document_type=customer.document_type,
        document_number=customer.document_number,
        country=customer.country,
        email=customer.email or None,
        mobile=customer.mobile or None,
        first_name=customer.first_name,
        last_name=customer.last_name,
        at=now,
    ).model_dump()


def accrual(txn, available: int, pending: int) -> dict:
    return Accrual(
        id=str(txn.pk),
        status=txn.status,
        customer_id=str(txn.customer_id),
        merchant_id=str(txn.merchant_id),
        branch_id=_id(txn.branch_id),
        points=txn.points,
        amount=_amount(txn.amount, txn.currency),
        currency=txn.currency,
        invoice_number=txn.invoice_number,
        hold_rule=txn.hold_rule or None,
        reason=txn.reason or None,
        balance=PointsBalance(available=available, pending=pending),
        at=txn.decided_at or txn.posted_at or txn.created_at,
    ).model_dump()


def reward_redemption(txn, promotion, available: int, pending: int) -> dict:
    return Redemption(
        id=str(txn.pk),
        kind="reward",
        transaction_id=str(txn.pk),
        customer_id=str(txn.customer_id),
        merchant_id=str(txn.merchant_id),
        branch_id=_id(txn.branch_id),
        name=txn.reason,
        reward_id=_id(txn.reward_id),
        promotion_id=_id(promotion.pk if promotion else None),
        gift_id=None,
        points=-txn.points,
        balance=PointsBalance(available=available, pending=pending),
        at=txn.posted_at,
    ).model_dump()


def free_item_redemption(use, membership, now) -> dict:
    return Redemption(
        id=str(use.pk),
        kind="free_item",
        transaction_id=None,
        customer_id=str(membership.customer_id),
        merchant_id=str(membership.merchant_id),
        branch_id=_id(use.branch_id),
        name=use.promotion.name,
        reward_id=None,
        promotion_id=str(use.promotion_id),
        gift_id=None,
        points=0,
        balance=None,
        at=now,
    ).model_dump()


def gift_redemption(offer, membership, txn, now) -> dict:
    return Redemption(
        id=str(offer.pk),
        kind="gift",
        transaction_id=_id(txn.pk if txn else None),
        customer_id=str(membership.customer_id),
        merchant_id=str(membership.merchant_id),
        branch_id=_id(offer.branch.pk if offer.branch else None),
        name=offer.gift.name,
        reward_id=None,
        promotion_id=None,
        gift_id=str(offer.gift_id),
        points=txn.points if txn else 0,
        balance=None if txn is None else _balance_after(txn),
        at=now,
    ).model_dump()


def _balance_after(txn) -> PointsBalance:
    """A points gift's balance: its credit gives the available one; the held part is read (one
    query, on a gift's redemption only)."""
    from lealtad.ledger.models import Account

    pending = Account.objects.filter(pk=txn.account_id).values_list("pending", flat=True).get()
    return PointsBalance(available=txn.balance_after, pending=pending)


COIN_KINDS = ("coin_earn", "coin_payment")


def reversal(txn, original) -> dict:
    coins = original.kind in COIN_KINDS
    return Reversal(
        id=str(txn.pk),
        reverses=str(original.pk),
        reversed_kind=original.kind,
        customer_id=str(txn.customer_id),
        merchant_id=str(txn.merchant_id),
        branch_id=_id(txn.branch_id),
        points=None if coins else txn.points,
        coins=txn.points if coins else None,
        amount=_amount(txn.amount, txn.currency),
        currency=txn.currency,
        invoice_number=txn.invoice_number,
        reason=txn.reason,
        balance=txn.balance_after,
        at=txn.posted_at,
    ).model_dump()


def coins_earned(txn, available: int, held: int) -> dict:
    return CoinsEarned(
        id=str(txn.pk),
        customer_id=str(txn.customer_id),
        merchant_id=str(txn.merchant_id),
        branch_id=_id(txn.branch_id),
        coins=txn.points,
        amount=_amount(txn.amount, txn.currency),
        currency=txn.currency,
        invoice_number=txn.invoice_number,
        balance=CoinsBalance(available=available, held=held),
        at=txn.posted_at,
    ).model_dump()


def coin_payment(payment, available: int, held: int, now) -> dict:
    return CoinPayment(
        id=str(payment.pk),
        status=payment.status,
        customer_id=str(payment.customer_id),
        merchant_id=str(payment.merchant_id),
        branch_id=_id(payment.branch_id),
        coins=payment.coins,
        invoice_number=payment.invoice_number or None,
        invoice_amount=money.format_amount(payment.invoice_amount, payment.currency),
        currency=payment.currency,
        via_qr=payment.via_qr,
        transaction_id=_id(payment.transaction_id),
        cancel_reason=payment.cancel_reason or None,
        balance=CoinsBalance(available=available, held=held),
        at=now,
    ).model_dump()


# --- OpenAPI 3.1 `webhooks` ----------------------------------------------------------------------

# Each event type's data schema. invoice.waiting and rating.received come from their own domains
# (lealtad.invoices, lealtad.feedback) when those register them with `register`.
SCHEMAS: dict[str, type[BaseModel]] = {
    "customer.joined": CustomerJoined,
    "accrual.posted": Accrual,
    "accrual.held": Accrual,
    "accrual.approved": Accrual,
    "accrual.rejected": Accrual,
    "redemption.created": Redemption,
    "transaction.reversed": Reversal,
    "coins.earned": CoinsEarned,
    "coin_payment.captured": CoinPayment,
    "coin_payment.cancelled": CoinPayment,
}


def register(type_: str, schema: type[BaseModel]) -> None:
    """Another domain documents the data of an event it emits (invoice.waiting, …)."""
    SCHEMAS[type_] = schema


HEADERS = [
    (
        "webhook-id",
        "The event's id (msg_…): the same on every retry; a receiver drops repeats by it.",
    ),
    ("webhook-timestamp", "Unix seconds when this attempt was signed; refuse stale ones."),
    (
        "webhook-signature",
        'Space-separated "v1,<base64 HMAC-SHA256>" of "{webhook-id}.{webhook-timestamp}.{body}" '
        "keyed with the secret's decoded bytes (after whsec_); two during a secret's rotation.",
    ),
]


def _components(schema: type[BaseModel], components: dict) -> dict:
    """The model's JSON schema as a $ref into components (its nested models hoisted there)."""
    name = "Webhook" + schema.__name__
    if name not in components:
        body = schema.model_json_schema(ref_template="#/components/schemas/Webhook{model}")
        for sub, definition in body.pop("$defs", {}).items():
            components.setdefault("Webhook" + sub, definition)
        components[name] = body
    return {"$ref": f"#/components/schemas/{name}"}


def openapi_webhooks(components: dict, event_types: dict) -> dict:
    """The `webhooks` object of OpenAPI 3.1: one POST per event type, with its body (the
    envelope {type, timestamp, data}) and the three Standard Webhooks headers."""
    out = {}
    with translation.override("en"):  # the document is in English, as the API's own text
        summaries = {type_: str(summary) for type_, summary in event_types.items()}
    for type_, summary in summaries.items():
        schema = SCHEMAS.get(type_)
        data = _components(schema, components) if schema else {"type": "object"}
        out[type_] = {
            "post": {
                "summary": summary,
                "operationId": "webhook_" + type_.replace(".", "_"),
                "tags": ["webhooks"],
                "parameters": [
                    {
                        "name": name,
                        "in": "header",
                        "required": True,
                        "description": text,
                        "schema": {"type": "string"},
                    }
                    for name, text in HEADERS
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["type", "timestamp", "data"],
                                "additionalProperties": False,
                                "properties": {
                                    "type": {"const": type_},
                                    "timestamp": {"type": "string", "format": "date-time"},
                                    "data": data,
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "2XX": {"description": "Received. Anything else (or no answer) is retried."},
                    "410": {"description": "Gone: the endpoint is disabled, nothing more is sent."},
                },
            }
        }
    return out
