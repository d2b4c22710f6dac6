"""Request and response bodies of the public API (see shared/API.md)."""

import datetime as dt
import re
from typing import Annotated, Literal

from ninja import Schema
from pydantic import (
    BeforeValidator,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    StringConstraints,
    WithJsonSchema,
    field_validator,
)

from lealtad.customers.documents import PASSPORT, SUPPORTED_COUNTRIES, document_types_for

ShortText = Annotated[StrictStr, StringConstraints(max_length=80, strip_whitespace=True)]
Id = Annotated[StrictStr, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)]


ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_date(value):
    # Pydantic's lax mode reads 0 or "0" as a Unix time (1970-01-01): dates are YYYY-MM-DD only.
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str) or not ISO_DATE.fullmatch(value):
        raise ValueError("must be a date written YYYY-MM-DD")
    return dt.date.fromisoformat(value)


IsoDate = Annotated[
    dt.date,
    BeforeValidator(_iso_date),
    WithJsonSchema({"type": "string", "format": "date", "example": "1990-05-17"}),
]

# The schema lists what the network knows; the domain checks it (422 unsupported_document_type).
DOCUMENT_TYPES = sorted(
    {t.code for country in SUPPORTED_COUNTRIES for t in document_types_for(country)}
    | {PASSPORT[0].code}
)
DocumentTypeCode = Annotated[
    StrictStr,
    StringConstraints(min_length=1, max_length=8),
    Field(json_schema_extra={"enum": DOCUMENT_TYPES}),
]
CountryCode = Annotated[
    StrictStr,
    StringConstraints(min_length=2, max_length=2),
    Field(json_schema_extra={"enum": list(SUPPORTED_COUNTRIES)}),
]


class ServiceLineOut(Schema):
    """Where the network's service is reached (C11): given with `customer_suspended`."""

    country: str | None = None
    phones: str | None = None
    email: str | None = None
    address: str | None = None


class Problem(Schema):
    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[dict] | None = None
    service_line: ServiceLineOut | None = None
    # What some codes add (every key a LealtadError is raised with is listed: a test checks it).
    available: int | None = None  # insufficient_points: the balance
    points_missing: int | None = None  # insufficient_points
    minimum: str | None = None  # amount_below_minimum: the smallest amount that earns, a decimal
    transaction_id: str | None = None  # duplicate_invoice, invoice_reversed: the accrual it hit
    invoice_id: str | None = None  # duplicate_invoice: the POS invoice holding the number
    customer_id: str | None = None  # customer_exists: who has that document or contact
    rule: str | None = None  # fraud_rule_refused: the rule's kind
    missing_fields: list[str] | None = None  # profile_incomplete: field names
    missing_labels: list[str] | None = None  # profile_incomplete: the same, in the user's language
    exit: str | None = None  # the way out the gate refused (reward, free_item, gift, …)
    fields: list[str] | None = None  # confirmation_required: what needs the customer's code
    start: dict | None = None  # confirmation_required: how to start the change (method, path, body)
    attempts_left: int | None = None  # invalid_code
    retry_after: int | None = None  # rate_limited: seconds to wait (also the Retry-After header)


class TokenIn(Schema):
    username: Annotated[StrictStr, StringConstraints(min_length=1, max_length=150)]
    password: Annotated[StrictStr, StringConstraints(min_length=1, max_length=200)]


class TokenOut(Schema):
    token: str
    expires_at: dt.datetime
    role: Literal["cashier", "merchant_admin", "operator"]
    merchant_id: str | None
    branch_id: str | None


class ProfileIn(Schema):
    email: Annotated[StrictStr, StringConstraints(max_length=254)] | None = None
    mobile: Annotated[StrictStr, StringConstraints(max_length=30)] | None = None
    city: ShortText | None = None
    state: ShortText | None = None
    first_name: ShortText | None = None
    last_name: ShortText | None = None
    gender: Literal["F", "M", "X"] | None = None
    birth_date: IsoDate | None = None
    postal_code: Annotated[StrictStr, StringConstraints(max_length=12)] | None = None
    address: Annotated[StrictStr, StringConstraints(max_length=200)] | None = None
    person_type: Literal["person", "company"] | None = None


class ProfilePatchIn(ProfileIn):
    # The document changes only through a confirmed contact change: sent here, a different
    # one answers 409 confirmation_required.
    document_type: Annotated[StrictStr, StringConstraints(max_length=8)] | None = None
    document_number: Annotated[StrictStr, StringConstraints(max_length=32)] | None = None


class CustomerIn(ProfileIn):
    document_type: DocumentTypeCode
    document_number: Annotated[StrictStr, StringConstraints(min_length=1, max_length=32)]
    country: CountryCode
    email: Annotated[StrictStr, StringConstraints(min_length=3, max_length=254)]
    welcome_bonus: StrictBool = False


class Points(Schema):
    available: int
    pending: int
    expiring_30d: int


class Coins(Schema):
    available: int
    held: int
    expiring_30d: int


class CategoryRef(Schema):
    id: str
    name: str


class CustomerOut(Schema):
    id: str
    member: Literal[True] = True
    document_type: str
    document_number: str
    country: str
    email: str | None
    mobile: str | None
    first_name: str
    last_name: str
    city: str
    gender: str
    birth_date: dt.date | None
    profile_complete: bool
    missing_fields: list[str]
    points: Points
    coins: Coins
    category: CategoryRef | None
    blocked: bool
    suspended: bool
    suspension_message: str | None = None


class CustomerCardOut(Schema):
    """A customer of the network who never joined the caller's merchant: enough to recognise
    and enrol them (the first accrual does), masked; the full profile once they are a member."""

    id: str
    member: Literal[False]
    first_name: str
    last_name: str
    email: str | None = Field(description="masked: a***@example.com")
    mobile: str | None = Field(description="masked: +57 *** *** 4321")
    document_type: str
    document_last_digits: str
    country: str
    suspended: bool


class CustomerList(Schema):
    results: list[Annotated[CustomerOut | CustomerCardOut, Field(discriminator="member")]]


class ContactChangeIn(Schema):
    """One of: `email`, `mobile`, or `document_type` with `document_number`."""

    email: Annotated[StrictStr, StringConstraints(max_length=254)] | None = None
    mobile: Annotated[StrictStr, StringConstraints(max_length=30)] | None = None
    document_type: Annotated[StrictStr, StringConstraints(max_length=8)] | None = None
    document_number: Annotated[StrictStr, StringConstraints(max_length=32)] | None = None


class ContactChangeConfirmIn(Schema):
    code: Annotated[StrictStr, StringConstraints(min_length=1, max_length=12)]
    # For an e-mail or mobile: the code sent to the contact on file (`owner_code_sent_to`).
    owner_code: Annotated[StrictStr, StringConstraints(max_length=12)] | None = None


class ContactChangeOut(Schema):
    id: str
    customer_id: str
    field: Literal["email", "mobile", "document", "profile"]
    status: Literal["pending", "confirmed", "applied", "cancelled"]
    code_sent_to: str | None
    owner_code_sent_to: str | None
    expires_at: dt.datetime | None
    attempts_left: int
    resends_left: int
    created_at: dt.datetime
    decided_at: dt.datetime | None


class QrOut(Schema):
    payload: str
    svg: str


class StatementLine(Schema):
    id: str
    at: dt.datetime
    kind: str
    points: int
    balance: int
    invoice_number: str | None
    branch_id: str | None
    reason: str | None = None
    reverses: str | None = None


class Statement(Schema):
    results: list[StatementLine]


class Balance(Schema):
    available: int
    pending: int


def _no_float(value):
    if isinstance(value, float | bool):
        raise ValueError('amount must be a decimal string such as "25000.00"')
    return value


class AccrualIn(Schema):
    customer_id: Id
    amount: Annotated[StrictStr, StringConstraints(max_length=32)] | StrictInt = Field(
        examples=["25000.00"]
    )
    invoice_number: (
        Annotated[StrictStr, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)]
        | None
    ) = None
    branch_id: Id | None = None

    _amount = field_validator("amount", mode="before")(_no_float)


class AccrualOut(Schema):
    id: str
    points: int
    status: Literal["posted", "pending"]
    balance: Balance


class RewardIn(Schema):
    name: Annotated[
        StrictStr, StringConstraints(min_length=1, max_length=120, strip_whitespace=True)
    ]
    points_cost: Annotated[StrictInt, Field(ge=1, le=10**9)]
    stock: Annotated[StrictInt, Field(ge=0, le=10**9)] | None = None
    description: Annotated[StrictStr, StringConstraints(max_length=500)] = ""


class RewardOut(Schema):
    id: str
    name: str
    description: str
    points_cost: int
    stock: int | None
    affordable: bool
    points_missing: int


class RewardList(Schema):
    results: list[RewardOut]


class RedemptionIn(Schema):
    customer_id: Id
    reward_id: Id
    branch_id: Id | None = None
    # P6: where the merchant asks for it, the cashier confirms having checked the customer's
    # identity document (422 document_check_required without it).
    document_checked: StrictBool = False


class RedemptionOut(Schema):
    id: str
    points: int
    reward_id: str
    balance: Balance


class ReversalIn(Schema):
    reason: Annotated[
        StrictStr, StringConstraints(min_length=1, max_length=300, strip_whitespace=True)
    ]


class TransactionOut(Schema):
    id: str
    kind: str
    status: str
    points: int
    balance: int | None
    at: dt.datetime
    customer_id: str
    reverses: str | None
    reason: str
    invoice_number: str | None
    branch_id: str | None
