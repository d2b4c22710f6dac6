"""C3/C4: what a complete profile is — the one rule, used by redemption (the exit gate), the
registration forms, the profile forms, the API's `missing_fields` and the console's list.

Complete means what fits the person type: a natural person gives names, gender and birth date; a
company (a CNPJ, a NIT…) gives its name (razón social / razão social) and no gender or birth date.
Both give the contact (e-mail and mobile). On top of that, each merchant chooses whether it asks
for the postal code (CEP) and the address (program settings); in Brazil the registration asks both.
"""

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from lealtad.customers.models import REQUIRED_FOR_COMPLETE_PROFILE, Customer, PersonType

PERSON_FIELDS = REQUIRED_FOR_COMPLETE_PROFILE
COMPANY_FIELDS = ("first_name", "email", "mobile")
# Fields a merchant may ask for, with the Merchant flag that asks for it.
MERCHANT_FIELDS = (("postal_code", "asks_postal_code"), ("address", "asks_address"))
_NULLABLE = {"email", "mobile", "birth_date"}


def person_type_for(country: str, document_type: str, chosen: str = "") -> str:
    """A company's document (CNPJ, NIT, RUC…) is a company's; any other is a person's unless the
    registration said company (where the merchant asks the person type)."""
    from lealtad.customers.documents import document_types_for

    document_type = (document_type or "").strip().upper()
    if any(t.company and t.code == document_type for t in document_types_for(country)):
        return PersonType.COMPANY
    return chosen if chosen in PersonType.values else PersonType.PERSON


def required_fields(person_type: str, merchant=None) -> tuple[str, ...]:
    """The fields a complete profile has, for this person type at this merchant (None: the
    network's own rule, without any merchant's extras)."""
    fields = COMPANY_FIELDS if person_type == PersonType.COMPANY else PERSON_FIELDS
    if merchant is not None:
        fields += tuple(name for name, flag in MERCHANT_FIELDS if getattr(merchant, flag, False))
    return fields


def missing_fields(customer: Customer, merchant=None) -> list[str]:
    return [
        name
        for name in required_fields(customer.person_type, merchant)
        if not getattr(customer, name)
    ]


def is_complete(customer: Customer, merchant=None) -> bool:
    return not missing_fields(customer, merchant)


def label(name: str, person_type: str = PersonType.PERSON) -> str:
    """A field's name as people read it, in the active language."""
    if name == "first_name" and person_type == PersonType.COMPANY:
        return str(_("company name"))
    return str(Customer._meta.get_field(name).verbose_name)


def missing_labels(customer: Customer, merchant=None) -> list[str]:
    return [label(name, customer.person_type) for name in missing_fields(customer, merchant)]


def _empty(field: str, prefix: str) -> Q:
    q = Q(**{f"{prefix}{field}": ""}) if field not in _NULLABLE else Q()
    return q | Q(**{f"{prefix}{field}__isnull": True})


def incomplete_q(merchant=None, prefix: str = "") -> Q:
    """The same rule as a query: customers (or, with `prefix="customer__"`, memberships) whose
    profile misses something at this merchant."""
    company = Q(**{f"{prefix}person_type": PersonType.COMPANY})
    result = Q()
    for is_company, kind in ((True, PersonType.COMPANY), (False, PersonType.PERSON)):
        missing = Q()
        for field in required_fields(kind, merchant):
            missing |= _empty(field, prefix)
        result |= (company if is_company else ~company) & missing
    return result
