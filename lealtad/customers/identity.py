"""The rules of the shared identity (N2), in one place for the API, the till and the console.

A customer is one person across the network, so no single merchant owns their contact or
document: a member merchant may fill in what is empty and correct names, but a contact (e-mail,
mobile) or document already set changes only when the customer confirms it with a 6-digit code
sent to the new address (for the document: to the contact on file). Every request is recorded
in IdentityChange — who asked, old and new value, when, how it ended. A field a complete profile
needs is never erased. A merchant the customer never joined sees only a masked card (`card_of`).
"""

import copy
import datetime as dt
import json
import secrets
from dataclasses import dataclass

import phonenumbers
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from lealtad.audit import actions as audit
from lealtad.audit.models import Action
from lealtad.core import inputs
from lealtad.core.errors import (
    ChangeClosed,
    ConfirmationRequired,
    CustomerAnonymised,
    FieldCannotBeCleared,
    InvalidCode,
    NotFound,
    TooManyCodes,
    ValidationFailed,
)
from lealtad.core.ids import parse_id
from lealtad.customers import actions, documents
from lealtad.customers.models import Customer, IdentityChange
from lealtad.network.models import ApiKey, Merchant, User

CONTACTS = ("email", "mobile")
CODE_TTL = dt.timedelta(minutes=15)
MAX_ATTEMPTS = 5
MAX_RESENDS = 3
# Codes a customer may be sent in a day, however many merchants ask: a stranger cannot flood
# someone's inbox or phone through the till.
MAX_CODES_PER_DAY = 10
Field, State = IdentityChange.Field, IdentityChange.State


@dataclass
class Requester:
    """Who asks for a change: the merchant, and the staff user or API key acting for it."""

    merchant: Merchant
    user: User | None = None
    api_key: ApiKey | None = None
    channel: str = "api"


# --- masks: what a merchant the customer never joined may see ---------------------------------


def mask_email(email: str | None) -> str | None:
    if not email or "@" not in email:
        return None
    local, _sep, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def mask_mobile(mobile: str | None) -> str | None:
    if not mobile:
        return None
    try:
        prefix = f"+{phonenumbers.parse(mobile, None).country_code} "
    except phonenumbers.NumberParseException:
        prefix = ""
    return f"{prefix}*** *** {mobile[-4:]}"


def document_last_digits(number: str) -> str:
    return number[-4:] if len(number) > 4 else number[-2:]


def card_of(customer: Customer) -> dict:
    """What a cashier needs to recognise and enrol a customer of another merchant, and no more."""
    return {
        "id": str(customer.pk),
        "member": False,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "email": mask_email(customer.email),
        "mobile": mask_mobile(customer.mobile),
        "document_type": customer.document_type,
        "document_last_digits": document_last_digits(customer.document_number),
        "country": customer.country,
        "suspended": customer.suspended,
    }


# --- corrections a member merchant makes at once ------------------------------------------------


def update_profile(customer: Customer, profile: dict, by: Requester) -> Customer:
    """Fill in or correct the profile as a member merchant may: a set contact needs the
    customer's code (ConfirmationRequired, nothing applied), a field a complete profile needs
    is never erased (FieldCannotBeCleared). What changes is recorded."""
    with transaction.atomic():
        # Decided on the row as it is now, under its lock: two merchants filling in the same
        # empty e-mail at once must not both count as "filling in".
        return _update_profile(_lock(customer), profile, by)


def _update_profile(customer: Customer, profile: dict, by: Requester) -> Customer:
    profile = dict(profile)
    document = {k: profile.pop(k) for k in ("document_type", "document_number") if k in profile}
    if any(document.values()):
        _field, wanted = _wanted(customer, document)
        if wanted != {n: getattr(customer, n) for n in wanted}:
            raise ConfirmationRequired(
                _("The document changes only when the customer confirms it with a code."),
                fields=["document"],
                start=_start_link(customer, wanted),
            )
    elif document:
        raise FieldCannotBeCleared(
            [
                {"field": n, "message": _("It cannot be erased; correct it instead.")}
                for n in document
            ]
        )
    clean = actions.clean_profile(profile, customer.country, current=customer)
    _refuse_clearing(customer, clean, by.merchant)
    contacts = [
        name
        for name in CONTACTS
        if clean.get(name) and getattr(customer, name) and clean[name] != getattr(customer, name)
    ]
    if contacts:
        raise ConfirmationRequired(
            _(
                "The customer's %(fields)s is already set: it changes only when the customer "
                "confirms with the code sent to the new address."
            )
            % {"fields": ", ".join(contacts)},
            fields=contacts,
            start=_start_link(customer, {contacts[0]: clean[contacts[0]]}),
        )
    old = {n: getattr(customer, n) for n, v in clean.items() if getattr(customer, n) != v}
    if not old:
        return customer
    customer = actions.update_profile(customer, {n: clean[n] for n in old})
    _record(customer, by, Field.PROFILE, old, {n: clean[n] for n in old}, State.APPLIED)
    return customer


def _start_link(customer: Customer, body: dict) -> dict:
    return {
        "method": "POST",
        "href": f"/api/v1/customers/{customer.pk}/contact-changes",
        "body": body,
        "docs": "docs/api-contact-changes.md",
    }


def _missing(customer: Customer, merchants: list[Merchant]) -> set[str]:
    # What the network's complete profile needs, and what each of the customer's merchants
    # asks on top (C3): one merchant must not undo a profile another one needs.
    from lealtad.customers import completeness

    missing = set(customer.missing_fields)
    for merchant in merchants:
        missing |= set(completeness.missing_fields(customer, merchant))
    return missing


def _refuse_clearing(customer: Customer, clean: dict, merchant: Merchant) -> None:
    cleared = [n for n, v in clean.items() if v in ("", None) and getattr(customer, n)]
    if not cleared:
        return
    trial = copy.copy(customer)
    for name in cleared:
        setattr(trial, name, clean[name])
    merchants = [merchant, *Merchant.objects.filter(memberships__customer=customer)]
    newly_missing = _missing(trial, merchants) - _missing(customer, merchants)
    refused = [n for n in cleared if n in CONTACTS or n in newly_missing]
    if refused:
        message = _("It cannot be erased; correct it instead.")
        raise FieldCannotBeCleared(
            [{"field": n, "message": message} for n in refused],
            detail=_("These fields cannot be erased: %s.") % ", ".join(refused),
        )


# --- changes the customer confirms --------------------------------------------------------------


def start_change(customer: Customer, by: Requester, data: dict, now=None) -> IdentityChange:
    """Ask to change the e-mail, the mobile or the document (`data` holds one of `email`,
    `mobile`, or `document_type` with `document_number`). An empty contact is filled in at
    once (state `applied`); otherwise a code goes out and the change waits (`pending`)."""
    now = now or timezone.now()
    with transaction.atomic():
        # Locks in one order everywhere (the customer, then their changes), so two requests,
        # a confirmation and an anonymisation take turns instead of deadlocking; and what is
        # decided is decided on the row as it is now.
        customer = _lock(customer)
        return _start_change(customer, by, data, now)


def _start_change(customer: Customer, by: Requester, data: dict, now) -> IdentityChange:
    field, new = _wanted(customer, data)
    old = {name: getattr(customer, name) for name in new}
    if old == new:
        raise ValidationFailed(
            [{"field": next(iter(new)), "message": _("That is already the customer's.")}]
        )
    if field in CONTACTS and not old[field]:
        customer = actions.update_profile(customer, new)
        return _record(customer, by, field, old, new, State.APPLIED, now=now)
    _check_free(customer, field, new)
    target = new[field] if field in CONTACTS else (customer.email or customer.mobile)
    if not target:
        raise ValidationFailed(
            [{"field": "document_number", "message": _("The customer has no contact for a code.")}]
        )
    _codes_left_today(customer, now)
    # One request per customer and field at a time: a newer one replaces the older.
    IdentityChange.objects.filter(customer=customer, field=field, state=State.PENDING).update(
        state=State.CANCELLED, decided_at=now
    )
    change = _record(customer, by, field, old, new, State.PENDING, now=now)
    change.sent_to = target
    if field in CONTACTS:
        # The customer's consent, on a contact already on file: preferably the other one (a
        # lost phone is why people change mobiles), else the one being replaced.
        other = "mobile" if field == "email" else "email"
        change.owner_sent_to = getattr(customer, other) or getattr(customer, field)
    change.expires_at = now + CODE_TTL
    _send_code(change, now)
    return change


def resend_code(change: IdentityChange, now=None) -> IdentityChange:
    now = now or timezone.now()
    with transaction.atomic():
        Customer.objects.select_for_update().filter(pk=change.customer_id).first()
        change = IdentityChange.objects.select_for_update().get(pk=change.pk)
        _check_open(change, now)
        if change.resends >= MAX_RESENDS:
            raise TooManyCodes(_("The code was sent too many times; start again later."))
        _codes_left_today(change.customer, now)
        change.resends += 1
        change.expires_at = now + CODE_TTL
        _send_code(change, now)
    return change


def confirm_change(
    change: IdentityChange, code: str, owner_code: str | None = None, now=None
) -> IdentityChange:
    """The customer's codes apply the change: `code` from the new address (the document's:
    from the contact on file) and, for a contact, `owner_code` from the contact on file.
    Confirming twice gives the same result; a wrong code counts, and the last wrong one (or an
    expired code) cancels the change."""
    now = now or timezone.now()
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=change.customer_id)
        change = IdentityChange.objects.select_for_update().get(pk=change.pk)
        if change.state == State.CONFIRMED:
            return change
        closed = _close_if_expired(change, now)
        if closed is None and not _codes_match(change, code, owner_code):
            change.attempts += 1
            left = MAX_ATTEMPTS - change.attempts
            if left <= 0:
                change.state, change.decided_at = State.CANCELLED, now
            change.save(update_fields=["attempts", "state", "decided_at"])
            closed = (
                ChangeClosed(_("Too many wrong codes: the change was cancelled."))
                if left <= 0
                else InvalidCode(
                    _("Wrong code. Attempts left: %(n)d.") % {"n": left}, attempts_left=left
                )
            )
        if closed is None:
            closed = _apply(change, customer, now)
    if closed is not None:  # raised after the commit, so the count and the state stay
        raise closed
    return change


def _apply(change: IdentityChange, customer: Customer, now):
    old, new = json.loads(change.old_value), json.loads(change.new_value)
    if {n: _text(getattr(customer, n)) for n in old} != old:
        change.state, change.decided_at = State.CANCELLED, now
        change.save(update_fields=["state", "decided_at"])
        return ChangeClosed(_("The customer's data changed meanwhile; start again."))
    for name, value in new.items():
        setattr(customer, name, value)
    customer.refresh_profile_complete()
    try:
        with transaction.atomic():
            customer.save(update_fields=[*new, "profile_complete", "updated_at"])
    except IntegrityError:
        change.state, change.decided_at = State.CANCELLED, now
        change.save(update_fields=["state", "decided_at"])
        return ChangeClosed(_("Another customer took this data meanwhile."))
    change.state, change.decided_at = State.CONFIRMED, now
    change.save(update_fields=["state", "decided_at"])
    _audit(
        customer,
        change.merchant_id,
        change.requested_by,
        change.requested_by_key,
        change.field,
        old,
        new,
        now,
    )
    return None


def _audit(customer, merchant, user, api_key, field, old: dict, new: dict, now) -> None:
    """Issue 16: the audit trail's entry for a change applied, in its transaction."""
    action = Action.CUSTOMER_UPDATE if field == Field.PROFILE else Action.CUSTOMER_CONTACT_CHANGE
    audit.record(
        action,
        merchant=merchant,
        target=customer,
        label=str(customer)[:200],
        customer_id=customer.pk,
        before=old,
        after=new,
        staff=user,
        api_key=api_key,
        now=now,
    )


def get_change_for(merchant: Merchant, customer_id, change_id) -> IdentityChange:
    """A change this merchant asked for, of this customer; anything else is a 404."""
    try:
        return IdentityChange.objects.select_related("customer").get(
            pk=parse_id(change_id, "change"),
            customer_id=parse_id(customer_id),
            merchant=merchant,
        )
    except IdentityChange.DoesNotExist:
        raise NotFound(_("Change not found.")) from None


def pending_change(merchant: Merchant, customer: Customer) -> IdentityChange | None:
    return (
        IdentityChange.objects.filter(merchant=merchant, customer=customer, state=State.PENDING)
        .order_by("-created_at")
        .first()
    )


def change_out(change: IdentityChange, now=None) -> dict:
    now = now or timezone.now()
    state = change.state
    if state == State.PENDING and change.expires_at and change.expires_at <= now:
        state = State.CANCELLED
    return {
        "id": str(change.pk),
        "customer_id": str(change.customer_id),
        "field": change.field,
        "status": state,
        "code_sent_to": _masked_target(change.sent_to),
        # For a contact: the second code, on a contact already on file (`owner_code`).
        "owner_code_sent_to": _masked_target(change.owner_sent_to),
        "expires_at": change.expires_at if state == State.PENDING else None,
        "attempts_left": max(MAX_ATTEMPTS - change.attempts, 0),
        "resends_left": max(MAX_RESENDS - change.resends, 0),
        "created_at": change.created_at,
        "decided_at": change.decided_at,
    }


# --- helpers ------------------------------------------------------------------------------------


def _wanted(customer: Customer, data: dict) -> tuple[str, dict]:
    data = {k: v for k, v in data.items() if v not in (None, "")}
    if "document_type" in data or "document_number" in data:
        doc_type = str(data.get("document_type") or customer.document_type).strip().upper()
        try:
            number = documents.normalize_document(
                customer.country, doc_type, str(data.get("document_number", ""))
            )
        except documents.InvalidDocument as exc:
            field = (
                "document_type" if exc.code == "unsupported_document_type" else "document_number"
            )
            raise ValidationFailed([{"field": field, "message": str(exc)}], str(exc)) from None
        return Field.DOCUMENT, {"document_type": doc_type, "document_number": number}
    names = [n for n in CONTACTS if n in data]
    if len(names) != 1:
        raise ValidationFailed(
            [{"field": "email", "message": _("Send one of: email, mobile, or the document.")}]
        )
    clean = actions.clean_profile({names[0]: data[names[0]]}, customer.country)
    return names[0], clean


def _lock(customer: Customer) -> Customer:
    """The customer's row, read again and locked for the rest of the transaction: an
    anonymisation that committed meanwhile must not get personal data written back."""
    locked = Customer.objects.select_for_update().get(pk=customer.pk)
    if locked.anonymised_at is not None:
        raise CustomerAnonymised()
    return locked


def _check_free(customer: Customer, field: str, new: dict) -> None:
    others = Customer.objects.exclude(pk=customer.pk)
    if field == Field.DOCUMENT:
        taken = others.filter(country=customer.country, **new).exists()
        name = "document_number"
    else:
        taken = others.filter(**new).exists()
        name = field
    if taken:
        raise ValidationFailed([{"field": name, "message": _("Another customer already uses it.")}])


def _codes_left_today(customer: Customer, now) -> None:
    rows = IdentityChange.objects.filter(
        customer=customer, created_at__gte=now - dt.timedelta(days=1)
    ).exclude(code_hash="")
    sent = rows.count() + sum(rows.values_list("resends", flat=True))
    if sent >= MAX_CODES_PER_DAY:
        raise TooManyCodes(_("Too many codes were sent to this customer today; try tomorrow."))


def _check_open(change: IdentityChange, now) -> None:
    closed = _close_if_expired(change, now)
    if closed is not None:
        raise closed


def _close_if_expired(change: IdentityChange, now):
    if change.state != State.PENDING:
        return ChangeClosed()
    if change.expires_at is None or change.expires_at <= now:
        change.state, change.decided_at = State.CANCELLED, now
        change.save(update_fields=["state", "decided_at"])
        return ChangeClosed(_("The code expired: the change was cancelled."))
    return None


def _text(value) -> str | None:
    return value.isoformat() if isinstance(value, dt.date) else value


def _record(customer, by: Requester, field, old: dict, new: dict, state, now=None):
    if state == State.APPLIED:
        _audit(customer, by.merchant, by.user, by.api_key, field, old, new, now)
    return IdentityChange.objects.create(
        customer=customer,
        merchant=by.merchant,
        field=field,
        old_value=json.dumps({k: _text(v) for k, v in old.items()}, ensure_ascii=False),
        new_value=json.dumps({k: _text(v) for k, v in new.items()}, ensure_ascii=False),
        channel=by.channel,
        requested_by=by.user,
        requested_by_key=by.api_key,
        state=state,
        created_at=now or timezone.now(),
        decided_at=(now or timezone.now()) if state == State.APPLIED else None,
    )


def _hash(change: IdentityChange, code: str, purpose: str = "new") -> str:
    return salted_hmac(
        "lealtad.identity-code", f"{change.pk}:{purpose}:{code}", algorithm="sha256"
    ).hexdigest()


def _digits(code) -> str:
    return inputs.digits(code, 6)


def _codes_match(change: IdentityChange, code, owner_code) -> bool:
    new_ok = constant_time_compare(_hash(change, _digits(code)), change.code_hash)
    if not change.owner_code_hash:
        return new_ok
    owner = _hash(change, _digits(owner_code), "owner")
    return constant_time_compare(owner, change.owner_code_hash) and new_ok


def _masked_target(target: str) -> str | None:
    return mask_email(target) if "@" in (target or "") else mask_mobile(target)


def _send_code(change: IdentityChange, now) -> None:
    """Fresh codes: their HMACs on the change, each code only in the message that carries it
    (the e-mail outbox, or the SMS one: `notifications.sms.queue_sms`, sent by the worker)."""
    code = f"{secrets.randbelow(10**6):06d}"
    change.code_hash = _hash(change, code)
    change.attempts = 0
    messages = [(change.sent_to, code)]
    if change.owner_sent_to:
        owner_code = f"{secrets.randbelow(10**6):06d}"
        change.owner_code_hash = _hash(change, owner_code, "owner")
        messages.append((change.owner_sent_to, owner_code))
    change.save(
        update_fields=[
            "code_hash",
            "owner_code_hash",
            "attempts",
            "sent_to",
            "owner_sent_to",
            "expires_at",
            "resends",
        ]
    )
    for to, one_code in messages:
        _message(change, to, one_code, now)


def _message(change: IdentityChange, to: str, code: str, now) -> None:
    from lealtad.notifications import actions as mail
    from lealtad.notifications.models import Event, OutgoingEmail

    merchant = change.merchant
    new = json.loads(change.new_value)
    if change.field == Field.DOCUMENT:
        what = f"{new['document_type']} …{document_last_digits(new['document_number'])}"
    else:
        what = new[change.field]
    with translation.override(mail.language_for(merchant)):
        words = {"merchant": merchant.name, "what": what, "code": code, "minutes": 15}
        subject = _("Your confirmation code: %(code)s") % words
        body = (
            _(
                "%(merchant)s asked to change your data in the loyalty network to: %(what)s.\n"
                "If you agree, give them this code: %(code)s (valid for %(minutes)d minutes).\n"
                "If you did not ask for it, do not give it to anyone."
            )
            % words
        )
    if "@" in to:
        OutgoingEmail.objects.create(
            merchant=merchant,
            customer=change.customer,
            event=Event.CODE,
            to=to,
            subject=subject[:200],
            body=body + "\n",
            created_at=now,
        )
    else:
        from lealtad.notifications.sms import queue_sms

        with translation.override(mail.language_for(merchant)):
            text = (
                _(
                    "%(merchant)s: your confirmation code is %(code)s (valid for %(minutes)d "
                    "minutes). If you did not ask for a change of your data, do not give it."
                )
                % words
            )
        queue_sms(
            to, text, purpose="contact-code", customer=change.customer, merchant=merchant, now=now
        )
