"""How an entry's before and after read on screen: the fields by their names in the reader's
language, the values of choices by their labels, numbers as the reader writes them."""

import json
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from lealtad.claims.models import ClaimStatus
from lealtad.core.numbers import format_number, format_points
from lealtad.customers.models import Gender, PersonType, RedeemPolicy
from lealtad.invoices.models import InvoiceStatus
from lealtad.ledger.models import Status
from lealtad.network.models import Role
from lealtad.offers.models import GiftKind, GiftStatus

FIELDS = {
    "points": gettext_lazy("Points"),
    "amount": gettext_lazy("Amount"),
    "status": gettext_lazy("Status"),
    "balance": gettext_lazy("Balance"),
    "reward": gettext_lazy("Prize"),
    "value": gettext_lazy("Worth"),
    "coins": gettext_lazy("Coins"),
    "paid": gettext_lazy("Coins paid"),
    "earned": gettext_lazy("Coins earned"),
    "email": gettext_lazy("E-mail"),
    "mobile": gettext_lazy("Mobile"),
    "first_name": gettext_lazy("First names"),
    "last_name": gettext_lazy("Last names"),
    "gender": gettext_lazy("Gender"),
    "birth_date": gettext_lazy("Birth date"),
    "city": gettext_lazy("City"),
    "address": gettext_lazy("Address"),
    "postal_code": gettext_lazy("Postal code"),
    "document": gettext_lazy("Document"),
    "document_type": gettext_lazy("Document type"),
    "document_number": gettext_lazy("Document"),
    "person_type": gettext_lazy("Kind of person"),
    "welcome_bonus": gettext_lazy("Welcome bonus"),
    "card_number": gettext_lazy("Card number"),
    "redeem_policy": gettext_lazy("Who may redeem"),
    "holder": gettext_lazy("Holder"),
    "category": gettext_lazy("Category"),
    "name": gettext_lazy("Name"),
    "blocked": gettext_lazy("Blocked"),
    "blocked_reason": gettext_lazy("Reason"),
    "reason": gettext_lazy("Reason"),
    "gift": gettext_lazy("Gift"),
    "kind": gettext_lazy("Kind"),
    "expires_on": gettext_lazy("Valid until"),
    "promotion": gettext_lazy("Promotion"),
    "transaction": gettext_lazy("Movement"),
    "revoked": pgettext_lazy("feminine", "Revoked"),
    "username": gettext_lazy("Username"),
    "role": gettext_lazy("Role"),
    "branch": gettext_lazy("Branch"),
    "fields": gettext_lazy("Data erased"),
}

# Values of these keys are choices: shown by their labels.
CHOICES = {
    "status": {
        **dict(Status.choices),
        **dict(ClaimStatus.choices),
        **dict(GiftStatus.choices),
        **dict(InvoiceStatus.choices),
    },
    "kind": dict(GiftKind.choices),
    "gender": dict(Gender.choices),
    "person_type": dict(PersonType.choices),
    "redeem_policy": dict(RedeemPolicy.choices),
    "role": dict(Role.choices),
}
POINTS = {"points", "balance", "coins", "paid", "earned", "welcome_bonus"}
# Values that are ids: shown by the name they stand for (`names`), never as a raw id.
IDS = {"branch", "category", "holder", "transaction"}
HIDDEN = {"transaction"}  # the reversed movement: the entry's target already says which
AMOUNTS = {"amount", "value"}


def field(name: str) -> str:
    return str(FIELDS.get(name, name))


def value(name: str, raw, names: dict | None = None) -> str:
    if raw is None or raw == "":
        return "—"
    if name in IDS:
        return (names or {}).get(str(raw), "—")
    if isinstance(raw, bool):
        return _("yes") if raw else _("no")
    if name in CHOICES and raw in CHOICES[name]:
        return str(CHOICES[name][raw])
    if name in POINTS and isinstance(raw, int):
        return format_points(raw)
    if name in AMOUNTS:
        try:
            return format_number(Decimal(str(raw)))
        except InvalidOperation:
            pass
    if name == "fields" and isinstance(raw, list):
        return ", ".join(field(n) for n in raw)
    if isinstance(raw, dict | list):
        return json.dumps(raw, ensure_ascii=False)
    return str(raw)
