"""Request and response bodies of the public API (see shared/API.md)."""

import datetime as dt
from typing import Annotated, Literal

from ninja import Schema
from pydantic import Field, StrictBool, StrictInt, StrictStr, StringConstraints, field_validator

ShortText = Annotated[StrictStr, StringConstraints(max_length=80, strip_whitespace=True)]
Id = Annotated[StrictStr, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)]


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
    birth_date: dt.date | None = None
    postal_code: Annotated[StrictStr, StringConstraints(max_length=12)] | None = None
    address: Annotated[StrictStr, StringConstraints(max_length=200)] | None = None
    person_type: Literal["person", "company"] | None = None


class CustomerIn(ProfileIn):
    document_type: Annotated[StrictStr, StringConstraints(min_length=1, max_length=8)]
    document_number: Annotated[StrictStr, StringConstraints(min_length=1, max_length=32)]
    country: Annotated[StrictStr, StringConstraints(min_length=2, max_length=2)]
    email: Annotated[StrictStr, StringConstraints(min_length=3, max_length=254)]
    welcome_bonus: StrictBool = False


class Points(Schema):
    available: int
    pending: int
    expiring_30d: int


class Coins(Schema):
    available: int


class CategoryRef(Schema):
    id: str
    name: str


class CustomerOut(Schema):
    id: str
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


class CustomerList(Schema):
    results: list[CustomerOut]


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
    amount: StrictStr | StrictInt = Field(examples=["25000.00"])
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
