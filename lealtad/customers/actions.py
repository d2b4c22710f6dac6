"""Customer operations: register, complete the profile, join a merchant, find."""

import contextlib
import datetime as dt
import uuid
from dataclasses import dataclass

from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from lealtad.audit import actions as audit
from lealtad.audit.models import Action
from lealtad.core.errors import (
    CustomerAnonymised,
    CustomerExists,
    InvalidDocument,
    NotFound,
    ValidationFailed,
)
from lealtad.core.ids import parse_id
from lealtad.customers import completeness, documents, trail
from lealtad.customers.models import Customer, Gender, Membership, PersonType, RedeemPolicy
from lealtad.ledger.bonus import grant_welcome_bonus
from lealtad.ledger.models import Account, AccountKind
from lealtad.network.models import Branch, Merchant, User
from lealtad.network.service_lines import suspended
from lealtad.notifications import actions as mail
from lealtad.program.models import Category
from lealtad.webhooks import events, payloads

QR_PREFIX = "LTQ1"
_qr_signer = signing.Signer(salt="lealtad.customer-qr", sep=".")

PROFILE_FIELDS = (
    "email",
    "mobile",
    "first_name",
    "last_name",
    "gender",
    "birth_date",
    "city",
    "state",
    "postal_code",
    "address",
    "person_type",
)
_MAX_LENGTHS = {f.name: f.max_length for f in Customer._meta.fields if f.max_length}


# --- QR codes (C5, A3) -------------------------------------------------------------------------


def qr_payload(customer: Customer) -> str:
    """The customer's personal QR: an opaque signed token, never the document number."""
    return _qr_signer.sign(f"{QR_PREFIX}.{customer.id.hex}.{customer.qr_version}")


def customer_id_from_qr(payload: str) -> tuple[str, int] | None:
    try:
        value = _qr_signer.unsign(payload.strip())
    except signing.BadSignature:
        return None
    prefix, hex_id, version = value.split(".")
    return (hex_id, int(version)) if prefix == QR_PREFIX else None


# --- validation ---------------------------------------------------------------------------------


def clean_profile(data: dict, country: str, current: Customer | None = None) -> dict:
    """Validate and normalise profile fields; raise ValidationFailed listing every bad field."""
    errors, clean = [], {}
    for name, value in data.items():
        if name not in PROFILE_FIELDS:
            continue
        if isinstance(value, str):
            value = value.strip()
        if value in ("", None):
            clean[name] = None if name in ("email", "mobile", "birth_date") else ""
            continue
        try:
            clean[name] = _clean_field(name, value, country)
        except ValueError as exc:
            errors.append({"field": name, "message": str(exc)})
    if errors:
        raise ValidationFailed(errors)
    return clean


def _clean_field(name: str, value, country: str):
    if name == "email":
        return documents.normalize_email(str(value))
    if name == "mobile":
        return documents.normalize_mobile(str(value), country)
    if name == "gender":
        if value not in Gender.values:
            raise ValueError(_("Choose one of: %s.") % ", ".join(Gender.values))
        return value
    if name == "person_type":
        if value not in PersonType.values:
            raise ValueError(_("Choose one of: %s.") % ", ".join(PersonType.values))
        return value
    if name == "birth_date":
        if isinstance(value, str):
            try:
                value = dt.date.fromisoformat(value)
            except ValueError:
                raise ValueError(_("Use the format YYYY-MM-DD.")) from None
        today = timezone.localdate()
        if value > today or value.year < today.year - 120:
            raise ValueError(_("Enter a real birth date."))
        return value
    value = str(value)
    if len(value) > _MAX_LENGTHS[name]:
        raise ValueError(_("At most %d characters.") % _MAX_LENGTHS[name])
    return value


def _unique_conflicts(clean: dict, exclude_id=None) -> list[dict]:
    errors = []
    for name in ("email", "mobile"):
        if clean.get(name):
            taken = Customer.objects.filter(**{name: clean[name]}).exclude(pk=exclude_id)
            if taken.exists():
                errors.append({"field": name, "message": _("Another customer already uses it.")})
    return errors


# --- operations ---------------------------------------------------------------------------------


@dataclass
class Registration:
    customer: Customer
    membership: Membership | None  # None: joined the network only (the customer's app, A1)
    bonus_points: int


def register_customer(
    *,
    merchant: Merchant | None,
    branch: Branch | None,
    staff: User | None,
    document_type: str,
    document_number: str,
    country: str,
    profile: dict,
    welcome_bonus: bool = False,
    card: dict | None = None,
    now=None,
) -> Registration:
    """C2/C3: a new network identity, joined to this merchant, with the welcome bonus (C9).
    `card` (the console's registration) sets category, card number, redeem policy and holder
    (C6–C8) in the same transaction, so a dependent's welcome bonus lands on the holder.
    `merchant=None` (someone joining from the customer's app): the network identity only, with
    no membership; they join a merchant at its till, on first contact (`join_merchant`)."""
    now = now or timezone.now()
    country = (country or "").strip().upper()
    try:
        number = documents.normalize_document(country, document_type, document_number)
    except documents.InvalidDocument as exc:
        field = "document_type" if exc.code == "unsupported_document_type" else "document_number"
        raise InvalidDocument([{"field": field, "message": str(exc)}], detail=str(exc)) from None
    doc_type = document_type.strip().upper()
    if existing := identity_of(country, doc_type, number):
        raise CustomerExists(customer_id=str(existing))
    clean = clean_profile(profile, country)
    if conflicts := _unique_conflicts(clean):
        raise ValidationFailed(conflicts)
    clean["person_type"] = completeness.person_type_for(
        country, doc_type, clean.get("person_type") or ""
    )
    customer = Customer(country=country, document_type=doc_type, document_number=number, **clean)
    customer.refresh_profile_complete()
    try:
        with transaction.atomic():
            customer.save(force_insert=True)
            if merchant is None:
                return Registration(customer, None, 0)
            membership = join_merchant(customer, merchant, branch, now=now, notify=False)
            if card:
                set_card(membership, **card)
            bonus = 0
            if welcome_bonus and merchant.welcome_bonus_points > 0:
                bonus = grant_welcome_bonus(membership, branch, staff, now=now)
            mail.queue(mail.Event.JOIN, merchant, customer, now=now, bonus=bonus)
            audit.record(
                Action.CUSTOMER_REGISTER,
                merchant=merchant,
                target=customer,
                label=str(customer)[:200],
                customer_id=customer.pk,
                after={"document": f"{doc_type} {number}", **clean, "welcome_bonus": bonus},
                staff=staff,
                branch=branch,
                now=now,
            )
    except IntegrityError:
        if card and card.get("card_number") and _card_taken(merchant, card["card_number"]):
            raise ValidationFailed(
                [{"field": "card_number", "message": _("Another customer has this card.")}]
            ) from None
        # Lost a race with a simultaneous registration of the same identity, email or mobile.
        if existing := identity_of(country, doc_type, number):
            raise CustomerExists(customer_id=str(existing)) from None
        raise ValidationFailed(_unique_conflicts(clean)) from None
    return Registration(customer, membership, bonus)


def identity_of(country: str, document_type: str, number: str):
    """The id of the customer with this document (already in its normal form), or None."""
    return (
        Customer.objects.filter(
            country=country, document_type=document_type, document_number=number
        )
        .values_list("pk", flat=True)
        .first()
    )


def update_profile(customer: Customer, profile: dict) -> Customer:
    """C4: complete or correct the profile. The document (the identity) does not change here."""
    if customer.anonymised_at is not None:
        # C12: erased on the customer's request; personal data does not come back.
        raise CustomerAnonymised()
    clean = clean_profile(profile, customer.country, current=customer)
    if "person_type" in clean:  # a CNPJ stays a company's, whatever was sent (C3)
        clean["person_type"] = completeness.person_type_for(
            customer.country, customer.document_type, clean["person_type"] or ""
        )
    if conflicts := _unique_conflicts(clean, exclude_id=customer.pk):
        raise ValidationFailed(conflicts)
    for name, value in clean.items():
        setattr(customer, name, value)
    customer.refresh_profile_complete()
    try:
        with transaction.atomic():
            customer.save(update_fields=[*clean, "profile_complete", "updated_at"])
    except IntegrityError:
        raise ValidationFailed(_unique_conflicts(clean, exclude_id=customer.pk)) from None
    return customer


def default_category(merchant: Merchant) -> Category:
    category = Category.objects.filter(merchant=merchant, is_default=True).first()
    if category is None:
        category, _created = Category.objects.get_or_create(
            merchant=merchant,
            is_default=True,
            defaults={"name": _("General"), "description": _("Every customer starts here.")},
        )
    return category


def join_merchant(
    customer: Customer, merchant: Merchant, branch: Branch | None, now=None, notify=True
):
    """The customer's membership at this merchant, created on first contact (race-safe), with
    the welcome e-mail if the merchant sends it (`notify=False`: the caller sends it)."""
    membership = (
        Membership.objects.select_related("category", "holder")
        .filter(customer=customer, merchant=merchant)
        .first()
    )
    if membership:
        return membership
    try:
        with transaction.atomic():
            account = Account.objects.create(
                kind=AccountKind.POINTS, customer=customer, merchant=merchant
            )
            membership = Membership.objects.create(
                customer=customer,
                merchant=merchant,
                category=default_category(merchant),
                account=account,
                registered_branch=branch,
            )
            if notify:
                mail.queue(mail.Event.JOIN, merchant, customer, now=now, bonus=0)
            # I4: in the joining transaction (an accrual that fails makes no member, no event).
            events.emit(
                merchant,
                "customer.joined",
                payloads.customer_joined(membership, customer, now or timezone.now()),
                now=now,
            )
            return membership
    except IntegrityError:
        return Membership.objects.select_related("category", "holder").get(
            customer=customer, merchant=merchant
        )


# --- access and search --------------------------------------------------------------------------


def get_membership_for(merchant: Merchant, customer_id, related=()) -> Membership:
    """The customer as this merchant knows them; 404 for customers who never came here (S4).
    `related`: more relations to load in the same query."""
    try:
        membership = Membership.objects.select_related(
            "customer", "category", "holder", *related
        ).get(merchant=merchant, customer_id=parse_id(customer_id))
    except Membership.DoesNotExist:
        raise NotFound(_("Customer not found.")) from None
    # The caller's merchant is this one: what it asks of a profile is known without a query.
    membership.merchant = merchant
    return membership


def membership_at(merchant: Merchant, customer_id) -> Membership | None:
    """The customer's membership here, or None (an accrual then joins them inside its own
    transaction: ledger.accrue_points)."""
    return (
        Membership.objects.select_related("customer", "category", "holder")
        .filter(merchant=merchant, customer_id=parse_id(customer_id))
        .first()
    )


def membership_or_join(merchant: Merchant, customer_id, branch: Branch | None) -> Membership:
    """The customer's membership here, joining them on first contact (accruals do: N2)."""
    membership = (
        Membership.objects.select_related("customer", "category", "holder")
        .filter(merchant=merchant, customer_id=parse_id(customer_id))
        .first()
    )
    if membership is not None:
        return membership
    customer = get_customer(customer_id)
    if customer.suspended:
        raise suspended(customer, merchant)
    membership = join_merchant(customer, merchant, branch)
    membership.customer = customer
    return membership


def get_customer(customer_id) -> Customer:
    """A network identity by id, for operations that may bring the customer to a merchant."""
    try:
        return Customer.objects.get(pk=parse_id(customer_id))
    except Customer.DoesNotExist:
        raise NotFound(_("Customer not found.")) from None


def find_customers(q: str, country: str | None = None, limit: int = 10) -> list[Customer]:
    """C5: by QR payload, document number, email or mobile — exact matches only, network-wide."""
    alternatives = search_terms(q, country)
    if not alternatives:
        return []
    filters = Q()
    for alternative in alternatives:
        filters |= Q(**alternative)
    return list(Customer.objects.filter(filters).order_by("created_at")[:limit])


def search_terms(q: str, country: str | None = None) -> list[dict]:
    """What a search text can be, as alternatives (any) of customer column values (all): the
    one rule `find_customers` and the one-query `lookup.lookup` both apply."""
    q = (q or "").strip()
    if not q or len(q) > 200:
        return []
    if q.startswith(QR_PREFIX):
        found = customer_id_from_qr(q)
        if not found:
            return []
        try:
            return [{"id": uuid.UUID(found[0]), "qr_version": found[1]}]
        except ValueError:
            return []
    if "@" in q:
        try:
            return [{"email": documents.normalize_email(q)}]
        except ValueError:
            return []
    alternatives = [
        {"document_type": doc_type, "document_number": number}
        for doc_type, number in sorted(documents.document_candidates(q))
    ]
    # A mobile typed in national form is read in the merchant's country; any other country's
    # number comes in international form (+…). Parsing is CPU, so only what can match is tried.
    if q.startswith("+") or country:
        with contextlib.suppress(ValueError):
            alternatives.append({"mobile": documents.normalize_mobile(q, country or "CO")})
    return alternatives


def documents_filter(q: str, prefix: str = "") -> Q:
    """Customers whose document `q` can be, read with the normal form of each document type
    (the same as registration's): "83022414" finds Panamá's 8-302-2414."""
    filters = Q()
    for doc_type, number in documents.document_candidates(q):
        filters |= Q(**{f"{prefix}document_type": doc_type, f"{prefix}document_number": number})
    return filters


def memberships_at(merchant: Merchant, found: list[Customer]) -> dict:
    rows = Membership.objects.select_related("category", "holder", "account").filter(
        merchant=merchant, customer__in=found
    )
    return {m.customer_id: m for m in rows}


def suspend_customer(customer: Customer, message: str) -> None:
    """C11: the operator's network-wide suspension (fraud review): no accrual, no redemption,
    no coin payment anywhere; `message` tells the cashier where to send the customer."""
    message = (message or "").strip()
    if not message:
        raise ValidationFailed([{"field": "suspension_message", "message": _("Say where to go.")}])
    Customer.objects.filter(pk=customer.pk).update(
        suspended=True, suspension_message=message[:300], updated_at=timezone.now()
    )


def lift_suspension(customer: Customer) -> None:
    Customer.objects.filter(pk=customer.pk).update(
        suspended=False, suspension_message="", updated_at=timezone.now()
    )


# --- the merchant's side of a membership (C6–C8, C11) -------------------------------------------


def _card_taken(merchant: Merchant, card_number: str, exclude_id=None) -> bool:
    return (
        Membership.objects.filter(merchant=merchant, card_number=card_number)
        .exclude(pk=exclude_id)
        .exists()
    )


def find_member(merchant: Merchant, text: str) -> Membership | None:
    """A customer of this merchant by card number, document, email, mobile or QR."""
    text = (text or "").strip()
    if not text:
        return None
    by_card = Membership.objects.filter(merchant=merchant, card_number=text).first()
    if by_card is not None:
        return by_card
    found = find_customers(text, merchant.country)
    members = memberships_at(merchant, found)
    return next((members[c.pk] for c in found if c.pk in members), None)


def find_member_by_any(merchant: Merchant, text: str) -> Membership:
    """By card, document, email, mobile or QR; else by name when exactly one customer of this
    merchant has it. Raises ValidationFailed (field "customer") saying what went wrong."""
    text = (text or "").strip()
    membership = find_member(merchant, text)
    if membership is not None:
        return membership
    words = text.split()
    if words and len(text) <= 160:
        by_name = Membership.objects.filter(merchant=merchant).select_related("customer")
        for word in words[:6]:
            by_name = by_name.filter(
                Q(customer__first_name__icontains=word) | Q(customer__last_name__icontains=word)
            )
        found = list(by_name[:2])
        if len(found) == 1:
            return found[0]
        if found:
            raise ValidationFailed(
                [
                    {
                        "field": "customer",
                        "message": _("Several customers match; type the document or card."),
                    }
                ]
            )
    raise ValidationFailed([{"field": "customer", "message": _("No customer of yours matches.")}])


def check_holder(membership: Membership | None, holder: Membership) -> None:
    """C8: a holder is a customer of the same merchant who is not a dependent himself, and a
    customer with dependents cannot become one (no chains)."""
    if membership is not None:
        if holder.pk == membership.pk:
            raise ValidationFailed(
                [{"field": "holder", "message": _("A customer cannot be their own holder.")}]
            )
        if membership.merchant_id != holder.merchant_id:
            raise NotFound(_("Customer not found."))
        if membership.dependents.exists():
            raise ValidationFailed(
                [{"field": "holder", "message": _("This customer is a holder of other cards.")}]
            )
    if holder.holder_id:
        raise ValidationFailed(
            [
                {
                    "field": "holder",
                    "message": _("%(name)s is a dependent; name their holder instead.")
                    % {"name": holder.customer},
                }
            ]
        )


def set_card(
    membership: Membership,
    *,
    card_number: str | None = None,
    redeem_policy: str = RedeemPolicy.HOLDER_ONLY,
    holder: Membership | None = None,
    category: Category | None = None,
) -> Membership:
    """C6–C8: category, card number, who redeems; a holder makes the membership a dependent.
    Linking is for new cards: a customer with points of their own keeps them on their account,
    so only a membership with an empty account can become a dependent."""
    card_number = (card_number or "").strip() or None
    errors = []
    if card_number and _card_taken(membership.merchant, card_number, exclude_id=membership.pk):
        errors.append({"field": "card_number", "message": _("Another customer has this card.")})
    if redeem_policy not in RedeemPolicy.values:
        errors.append({"field": "redeem_policy", "message": _("Choose who may redeem.")})
    if category is not None and category.merchant_id != membership.merchant_id:
        raise NotFound(_("Category not found."))
    if errors:
        raise ValidationFailed(errors)
    if holder is not None:
        check_holder(membership, holder)
        account = Account.objects.filter(pk=membership.account_id).values("balance", "pending")
        row = account.first() or {"balance": 0, "pending": 0}
        if row["balance"] or row["pending"]:
            raise ValidationFailed(
                [{"field": "holder", "message": _("This customer has points of their own.")}]
            )
    before = trail.card_fields(membership)
    membership.card_number = card_number
    membership.redeem_policy = redeem_policy
    membership.holder = holder
    fields = ["card_number", "redeem_policy", "holder"]
    if category is not None:
        membership.category = category
        fields.append("category")
    with transaction.atomic():
        membership.save(update_fields=fields)
        old, new = audit.changes(before, trail.card_fields(membership))
        if new:
            trail.record(Action.CUSTOMER_CARD, membership, old, new)
    return membership


def change_category(membership: Membership, category: Category) -> Membership:
    """C6: applies from the next movement on; points already earned keep their expiry."""
    if category.merchant_id != membership.merchant_id:
        raise NotFound(_("Category not found."))
    with transaction.atomic():
        Membership.objects.filter(pk=membership.pk).update(category=category)
        if membership.category_id != category.pk:
            trail.record(
                Action.CUSTOMER_CATEGORY,
                membership,
                {"category": str(membership.category_id)},
                {"category": str(category.pk), "name": category.name},
            )
    membership.category = category
    return membership


def block_membership(membership: Membership, reason: str, now=None) -> Membership:
    """C11: no redemption at this merchant's branches; accruals go on."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed([{"field": "reason", "message": _("Say why.")}])
    if len(reason) > 300:
        raise ValidationFailed([{"field": "reason", "message": _("At most %d characters.") % 300}])
    if membership.blocked:
        raise ValidationFailed([{"field": "customer", "message": _("Already blocked.")}])
    now = now or timezone.now()
    with transaction.atomic():
        Membership.objects.filter(pk=membership.pk).update(
            blocked=True, blocked_reason=reason, blocked_at=now
        )
        trail.record(
            Action.CUSTOMER_BLOCK,
            membership,
            {"blocked": False},
            {"blocked": True, "blocked_reason": reason},
        )
    membership.blocked, membership.blocked_reason, membership.blocked_at = True, reason, now
    return membership


def unblock_membership(membership: Membership) -> Membership:
    with transaction.atomic():
        Membership.objects.filter(pk=membership.pk).update(
            blocked=False, blocked_reason="", blocked_at=None
        )
        if membership.blocked:
            trail.record(
                Action.CUSTOMER_UNBLOCK,
                membership,
                {"blocked": True, "blocked_reason": membership.blocked_reason},
                {"blocked": False},
            )
    membership.blocked, membership.blocked_reason, membership.blocked_at = False, "", None
    return membership
