"""C12 privacy: marketing consent with its history, the export of what one merchant holds on a
customer (JSON and CSV), and the operator's anonymisation on request, which keeps the ledger
whole (balances, transactions, lots and entries are never touched).

Where a customer's personal data lives, and what anonymisation does with it:

- `Customer`: names, e-mail, mobile, gender, birth date, address, city, state, postal code are
  erased; the document number becomes a token derived from the id (the identity constraint still
  holds and the same document can register again as a new customer); the QR version is bumped so
  printed codes stop working; the suspension message is kept, less the customer's identifiers.
- `Membership` (one per merchant): the card number is cleared, marketing consent withdrawn (with a
  `ConsentRecord`, channel "anonymised"); a block reason is the merchant's and is kept, less the
  customer's identifiers. Holder and dependent links stay: the others are other people.
- `OutgoingEmail`: address, subject, body and last error are blanked; e-mails still waiting are
  cancelled (`cancelled_at`, so neither their send task nor `send-emails` sends them).
- `OutgoingSms`: the same: number, body and last error blanked, SMS still waiting cancelled.
- `GiftOffer.note`: staff free text about the customer, blanked.
- Ratings (F1/F4): the customer's comments and messages are blanked; the merchant's replies are
  kept, less the customer's identifiers. The score and the visit stay (the merchant's NPS).
- `IdempotencyRecord`: a registration's stored API response (kept 24 hours for replays) holds the
  profile; it is rewritten to the anonymised profile so a replay still answers without re-running.
  The customer's own keys (the app's /api/v1/me* POSTs: rating comments, claims) are deleted (and
  counted as redacted): an anonymised customer's tokens no longer work, so nothing replays them.
- Admin `LogEntry.object_repr` for the customer and their memberships held the name; renamed.
- Not touched: the ledger, including `Transaction.reason`, which staff type (see the report).
"""

import contextlib
import csv
import datetime as dt
import hashlib
import io
import json
import logging
import re
import zoneinfo
from dataclasses import dataclass

import phonenumbers
from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from lealtad.core.errors import CustomerAnonymised, ValidationFailed
from lealtad.core.spreadsheet import cell
from lealtad.customers import trail
from lealtad.customers.models import ConsentRecord, Customer, Membership
from lealtad.ledger import ledger
from lealtad.ledger.models import AccountKind, Kind, Transaction
from lealtad.network.models import Merchant, User
from lealtad.notifications import actions as mail
from lealtad.notifications.models import OutgoingEmail, OutgoingSms
from lealtad.offers.models import GiftOffer, PromotionUse

log = logging.getLogger("lealtad.privacy")

EXPORT_FORMAT = "lealtad.customer-export"
EXPORT_VERSION = 1
ANONYMISED_CHANNEL = "anonymised"
# Written to the outbox rows that anonymisation stopped, so the export can tell them apart.
EMAIL_CANCELLED = "cancelled: the customer was anonymised"
REMOVED = "…"

# Every profile field that identifies a person, and what it becomes.
ERASED_FIELDS = {
    "first_name": "",
    "last_name": "",
    "email": None,
    "mobile": None,
    "gender": "",
    "birth_date": None,
    "address": "",
    "city": "",
    "state": "",
    "postal_code": "",
}


# --- consent -------------------------------------------------------------------------------------


def set_marketing_consent(
    membership: Membership,
    *,
    given: bool,
    staff: User | None = None,
    channel: str = "console",
    now: dt.datetime | None = None,
) -> Membership:
    """Give or withdraw marketing consent at this merchant, with a history row. The same state
    again records nothing and keeps the time it was first set. Refused once the customer was
    anonymised. Returns `membership` with the two fields refreshed."""
    given = bool(given)
    channel = (channel or "").strip()
    if not channel or len(channel) > ConsentRecord._meta.get_field("channel").max_length:
        raise ValidationFailed(
            [{"field": "channel", "message": _("Say through what, in 20 characters at most.")}]
        )
    with transaction.atomic():
        # Only the membership is locked: anonymisation locks the customer first and then the
        # memberships, so taking the customer here too could deadlock against it. Reading the
        # customer after the lock still sees an anonymisation that committed before it.
        locked = (
            Membership.objects.select_for_update()
            .only("pk", "customer_id", "marketing_consent", "marketing_consent_at")
            .get(pk=membership.pk)
        )
        if Customer.objects.filter(pk=locked.customer_id, anonymised_at__isnull=False).exists():
            raise CustomerAnonymised()
        # Read under the lock, so the history's times follow the order of the changes.
        now = now or timezone.now()
        if locked.marketing_consent != given:
            ConsentRecord.objects.create(
                membership_id=locked.pk, given=given, at=now, staff=staff, channel=channel
            )
            Membership.objects.filter(pk=locked.pk).update(
                marketing_consent=given, marketing_consent_at=now
            )
            locked.marketing_consent, locked.marketing_consent_at = given, now
    membership.marketing_consent = locked.marketing_consent
    membership.marketing_consent_at = locked.marketing_consent_at
    return membership


# --- export --------------------------------------------------------------------------------------


def _profile(customer: Customer, iso) -> dict:
    """The network-wide identity as both exports write it (one merchant's, and the customer's own),
    dates by the export's own `iso` (the merchant's time zone, or as stored)."""
    return {
        "id": str(customer.pk),
        "country": customer.country,
        "document_type": customer.document_type,
        "document_number": customer.document_number,
        "person_type": customer.person_type,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "gender": customer.gender,
        "birth_date": iso(customer.birth_date),
        "email": customer.email,
        "mobile": customer.mobile,
        "address": customer.address,
        "city": customer.city,
        "state": customer.state,
        "postal_code": customer.postal_code,
        "profile_complete": customer.profile_complete,
    }


def export_data(membership: Membership) -> dict:
    """What this membership's merchant holds on the customer, JSON-serialisable: the identity
    and profile, the membership, points, the full statement, coins moved here, gifts, promotions,
    e-mails sent (not their bodies). Nothing another merchant holds: every query goes through
    this membership, its account or its merchant."""
    m = Membership.objects.select_related(
        "customer", "merchant", "category", "registered_branch", "holder__customer"
    ).get(pk=membership.pk)
    customer, merchant = m.customer, m.merchant
    tz = zoneinfo.ZoneInfo(merchant.timezone)
    now = timezone.now()

    def iso(value):
        if isinstance(value, dt.datetime):
            return value.astimezone(tz).isoformat()
        return value.isoformat() if isinstance(value, dt.date) else None

    spending_account = m.spending_account_id
    balances = ledger.balances(spending_account, now, now)
    dependents = m.dependents.filter(merchant=merchant).select_related("customer").order_by("pk")
    consents = m.consents.select_related("staff").order_by("at", "pk")

    mine = Q(account_id=m.account_id)
    if m.holder_id:  # a dependent's own movements are in the holder's account (C8)
        mine |= Q(account_id=m.holder.account_id, customer_id=customer.pk)
    # As the statement: expiry comes first among movements of the same instant.
    expiry_first = Case(When(kind=Kind.EXPIRY, then=Value(0)), default=Value(1))
    movements = (
        Transaction.objects.filter(mine)
        .select_related("branch", "reward")
        .order_by("created_at", expiry_first, "pk")
    )
    coins = (
        Transaction.objects.filter(
            account__customer=customer, account__kind=AccountKind.COINS, merchant=merchant
        )
        .select_related("branch")
        .order_by("created_at", "pk")
    )
    gifts = GiftOffer.objects.filter(membership=m).select_related("gift", "branch")
    uses = PromotionUse.objects.filter(membership=m).select_related("promotion", "branch")
    chosen_for = m.promotions.filter(merchant=merchant).order_by("starts_on", "name")
    emails = OutgoingEmail.objects.filter(customer=customer, merchant=merchant).order_by(
        "created_at", "pk"
    )
    texts = OutgoingSms.objects.filter(customer=customer, merchant=merchant).order_by(
        "created_at", "pk"
    )

    def movement(txn: Transaction, balance: bool = True) -> dict:
        row = {
            "id": str(txn.pk),
            "kind": txn.kind,
            "status": txn.status,
            "points": txn.points,
            "balance_after": txn.balance_after,
            "amount": None if txn.amount is None else str(txn.amount),
            "currency": txn.currency,
            "invoice_number": txn.invoice_number,
            "branch": txn.branch.name if txn.branch_id else None,
            "reward": txn.reward.name if txn.reward_id else None,
            "reason": txn.reason,
            "reverses": str(txn.reverses_id) if txn.reverses_id else None,
            "customer_id": str(txn.customer_id),
            "created_at": iso(txn.created_at),
            "posted_at": iso(txn.posted_at),
            "decided_at": iso(txn.decided_at),
        }
        if not balance:
            del row["balance_after"]
        return row

    def person(other: Membership) -> dict:
        return {"customer_id": str(other.customer_id), "name": other.customer.full_name}

    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "exported_at": iso(now),
        "merchant": {"id": str(merchant.pk), "name": merchant.name},
        "customer": {
            **_profile(customer, iso),
            "suspended": customer.suspended,
            "suspension_message": customer.suspension_message,
            "registered_at": iso(customer.created_at),
            "anonymised_at": iso(customer.anonymised_at),
        },
        "membership": {
            "id": str(m.pk),
            "joined_at": iso(m.created_at),
            "category": m.category.name,
            "card_number": m.card_number,
            "registered_branch": m.registered_branch.name if m.registered_branch_id else None,
            "holder": person(m.holder) if m.holder_id else None,
            "dependents": [person(d) for d in dependents],
            "redeem_policy": m.redeem_policy,
            "blocked": m.blocked,
            "blocked_reason": m.blocked_reason,
            "blocked_at": iso(m.blocked_at),
            "marketing_consent": m.marketing_consent,
            "marketing_consent_at": iso(m.marketing_consent_at),
            "consent_history": [
                {
                    "given": c.given,
                    "at": iso(c.at),
                    "channel": c.channel,
                    "staff": c.staff.username if c.staff_id else None,
                }
                for c in consents
            ],
        },
        "points": {
            "available": balances["available"],
            "pending": balances["pending"],
            "in_holder_account": bool(m.holder_id),
        },
        "statement": [movement(txn) for txn in movements],
        # The wallet is the network's: its balance after a movement counts coins from elsewhere.
        "coin_movements": [movement(txn, balance=False) for txn in coins],
        "gift_offers": [
            {
                "id": str(offer.pk),
                "gift": offer.gift.name,
                "kind": offer.gift.kind,
                "status": offer.status_at(now),
                "note": offer.note,
                "offered_at": iso(offer.offered_at),
                "expires_at": iso(offer.expires_at),
                "redeemed_at": iso(offer.redeemed_at),
                "branch": offer.branch.name if offer.branch_id else None,
                "transaction": str(offer.transaction_id) if offer.transaction_id else None,
            }
            for offer in gifts.order_by("offered_at", "pk")
        ],
        "promotion_uses": [
            {
                "promotion": use.promotion.name,
                "kind": use.promotion.kind,
                "points": use.points,
                "at": iso(use.at),
                "branch": use.branch.name if use.branch_id else None,
                "transaction": str(use.transaction_id) if use.transaction_id else None,
            }
            for use in uses.order_by("at", "pk")
        ],
        "chosen_for_promotions": [
            {
                "promotion": promo.name,
                "kind": promo.kind,
                "starts_on": iso(promo.starts_on),
                "ends_on": iso(promo.ends_on),
            }
            for promo in chosen_for
        ],
        "emails": [
            {
                "event": email.event,
                "created_at": iso(email.created_at),
                "status": _email_status(email),
                "sent_at": iso(email.sent_at),
            }
            for email in emails
        ],
        "sms": [
            {
                "purpose": text.purpose,
                "to": text.to,
                "created_at": iso(text.created_at),
                "status": _email_status(text),
                "sent_at": iso(text.sent_at),
            }
            for text in texts
        ],
        # Changes of contact or document this merchant asked for (customers.identity).
        "identity_changes": [
            {
                "field": change.field,
                "status": change.state,
                "old": json.loads(change.old_value or "{}"),
                "new": json.loads(change.new_value or "{}"),
                "channel": change.channel,
                "at": iso(change.created_at),
                "decided_at": iso(change.decided_at),
            }
            for change in customer.identity_changes.filter(merchant=merchant).order_by(
                "created_at", "pk"
            )
        ],
    }


def _email_status(email) -> str:
    # An e-mail (or SMS) that failed is retried (M3): to the customer it is still pending.
    return "pending" if email.status == "failing" else email.status


def export_csv(membership: Membership) -> str:
    """The same export as `export_data`, as one CSV text. Serve it as UTF-8 with a byte-order
    mark in front (the console's download does), so Excel reads the accents right.

    The layout is one block per table, the way a person reads a spreadsheet: first a
    "section,field,value" block with every single value (customer, membership, points), then,
    after an empty row, each list (consent history, statement, coins, gifts, promotions,
    e-mails) as its own table under a title row, with a header row and one row per item. A
    three-column layout throughout would spread one movement over a dozen rows, and one wide
    table would repeat the profile on every movement.

    Cells that a spreadsheet would run as a formula (starting with = + - @, tab or carriage
    return) get a leading apostrophe; that includes mobiles in +57… form, which are text anyway.
    """
    data = export_data(membership)
    singles: list[list] = []
    tables: list[tuple[str, list[dict]]] = []

    def walk(section: str, prefix: str, values: dict) -> None:
        for key, value in values.items():
            field = f"{prefix}{key}"
            if isinstance(value, dict):
                walk(section, f"{field}.", value)
            elif isinstance(value, list) and all(isinstance(v, dict) for v in value):
                tables.append((f"{section}.{field}", value))
            elif isinstance(value, list):
                singles.append([section, field, "; ".join(str(v) for v in value)])
            else:
                singles.append([section, field, value])

    walk("export", "", {k: v for k, v in data.items() if not isinstance(v, dict | list)})
    for key, value in data.items():
        if isinstance(value, dict):
            walk(key, "", value)
        elif isinstance(value, list):
            tables.append((key, value))

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "field", "value"])
    writer.writerows([cell(v) for v in row] for row in singles)
    for title, rows in tables:
        writer.writerow([])
        writer.writerow([title])
        if rows:
            header = list(rows[0])
            writer.writerow(header)
            writer.writerows([cell(row[k]) for k in header] for row in rows)
    return out.getvalue()


# --- anonymisation -------------------------------------------------------------------------------


@dataclass
class Anonymisation:
    """What `anonymise` did; `done` is False when the customer was already anonymised."""

    customer: Customer
    done: bool
    memberships: int = 0
    cards_cleared: int = 0
    consents_withdrawn: int = 0
    emails_blanked: int = 0
    emails_cancelled: int = 0
    sms_blanked: int = 0
    sms_cancelled: int = 0
    gift_notes_blanked: int = 0
    rating_texts_blanked: int = 0
    api_replays_redacted: int = 0


# The audit trail keeps what was done to the customer, by whom, when and where, and which fields
# changed; their personal values leave it (docs/audit.md, "Anonymisation").
AUDIT_PERSONAL = {*ERASED_FIELDS, "document", "document_number", "card_number", "blocked_reason"}


def anonymised_document(customer: Customer) -> str:
    """A unique, non-identifying document number: a hash of the customer's random id, which
    says nothing about the document it replaces (32 characters, the field's length)."""
    return "ANON" + hashlib.sha256(customer.pk.bytes).hexdigest()[:28].upper()


def anonymise_customer(
    customer: Customer, *, by: User | None = None, now: dt.datetime | None = None
) -> Customer:
    """C12: the operator removes the customer's personal data on their request (see the module
    docstring for what goes where). Idempotent: a second call changes nothing and returns the
    customer as it is."""
    return anonymise(customer, by=by, now=now).customer


def anonymise(
    customer: Customer, *, by: User | None = None, now: dt.datetime | None = None
) -> Anonymisation:
    """`anonymise_customer`, saying what it did (for the admin and the command)."""
    with transaction.atomic():
        # The customer's row lock makes two simultaneous requests one anonymisation and one
        # no-op; memberships are then locked in primary-key order (the consent's lock).
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        if locked.anonymised_at is not None:
            return Anonymisation(locked, done=False)
        scrub = _scrubber(locked)
        report = Anonymisation(locked, done=True)

        memberships = list(
            Membership.objects.select_for_update().filter(customer=locked).order_by("pk")
        )
        report.memberships = len(memberships)
        # Read under the locks, so the consent history's times follow the order of the changes.
        now = now or timezone.now()
        for m in memberships:
            changes = {"card_number": None, "blocked_reason": scrub(m.blocked_reason)}
            if m.marketing_consent:
                ConsentRecord.objects.create(
                    membership=m, given=False, at=now, staff=by, channel=ANONYMISED_CHANNEL
                )
                changes.update(marketing_consent=False, marketing_consent_at=now)
                report.consents_withdrawn += 1
            report.cards_cleared += m.card_number is not None
            Membership.objects.filter(pk=m.pk).update(**changes)

        Customer.objects.filter(pk=locked.pk).update(
            **ERASED_FIELDS,
            document_number=anonymised_document(locked),
            profile_complete=False,
            suspension_message=scrub(locked.suspension_message),
            qr_version=F("qr_version") + 1,
            anonymised_at=now,
            updated_at=now,
        )
        locked.refresh_from_db()
        report.customer = locked

        emails = OutgoingEmail.objects.filter(customer=locked)
        report.emails_cancelled = mail.cancel(emails, EMAIL_CANCELLED, now=now)
        emails.filter(sent_at__isnull=False).update(last_error="")
        report.emails_blanked = emails.update(to="", subject="", body="")
        texts = OutgoingSms.objects.filter(customer=locked)
        report.sms_cancelled = mail.cancel(texts, EMAIL_CANCELLED, now=now)
        texts.filter(sent_at__isnull=False).update(last_error="")
        report.sms_blanked = texts.update(to="", body="")
        report.gift_notes_blanked = (
            GiftOffer.objects.filter(membership__customer=locked).exclude(note="").update(note="")
        )
        report.rating_texts_blanked = _erase_rating_texts(locked, scrub)
        _erase_identity_changes(locked, now)
        merchant_ids = [m.merchant_id for m in memberships]
        report.api_replays_redacted = _redact_api_replays(locked, merchant_ids)
        _rename_admin_log(locked, memberships)
        trail.anonymised(locked, memberships, by, now, AUDIT_PERSONAL)
        from lealtad.claims.actions import erase_photos  # A7: the invoice photos (files)

        erase_photos(locked)
    log.info("customer %s anonymised by %s", locked.pk, by.username if by else "-")
    return report


def _erase_rating_texts(customer: Customer, scrub) -> int:
    from lealtad.ratings.models import Author, Message, Rating

    blanked = Rating.objects.filter(customer=customer).exclude(comment="").update(comment="")
    messages = Message.objects.filter(rating__customer=customer)
    blanked += messages.filter(author=Author.CUSTOMER).exclude(body="").update(body="")
    for pk, body in messages.filter(author=Author.MERCHANT).values_list("pk", "body"):
        if scrub(body) != body:
            Message.objects.filter(pk=pk).update(body=scrub(body))
    if blanked:  # a blanked comment is no longer a comment, nor unread: the inbox recounts
        from lealtad.ratings import counters

        for rating in Rating.objects.filter(customer=customer).select_related("merchant"):
            counters.refresh_for(rating)
    return blanked


def _erase_identity_changes(customer: Customer, now) -> None:
    """The audit of contact and document changes keeps who asked and when, not the values;
    a change still waiting can no longer be confirmed (its unsent SMS codes were cancelled with
    the customer's other SMS)."""
    from lealtad.customers.models import IdentityChange

    changes = IdentityChange.objects.filter(customer=customer)
    changes.filter(state=IdentityChange.State.PENDING).update(
        state=IdentityChange.State.CANCELLED, decided_at=now
    )
    changes.update(
        old_value="", new_value="", sent_to="", owner_sent_to="", code_hash="", owner_code_hash=""
    )


def _scrubber(customer: Customer):
    """A function that takes the customer's identifiers out of a staff-written text: the name
    parts, e-mail, document and mobile (also typed with dots, dashes or spaces)."""
    patterns = []
    for literal in (customer.email, customer.full_name):
        if literal:
            patterns.append(re.escape(literal))
    for word in f"{customer.first_name} {customer.last_name}".split():
        if len(word) >= 3:
            patterns.append(rf"\b{re.escape(word)}\b")
    numbers = [customer.document_number]
    if customer.mobile:
        numbers.append(customer.mobile)
        with contextlib.suppress(phonenumbers.NumberParseException):
            numbers.append(str(phonenumbers.parse(customer.mobile).national_number))
    for number in numbers:
        chars = [c for c in (number or "") if c.isalnum()]
        if len(chars) >= 4:
            patterns.append(r"[\s.\-]?".join(re.escape(c) for c in chars))
    if not patterns:
        return lambda text: text
    # Longest first, so a full name goes before its parts.
    pattern = re.compile("|".join(sorted(patterns, key=len, reverse=True)), re.IGNORECASE)
    return lambda text: pattern.sub(REMOVED, text or "")


def _redact_api_replays(customer: Customer, merchant_ids: list) -> int:
    """A registration through the API keeps its response (the whole profile) for replays of the
    same Idempotency-Key: rewrite it to the anonymised profile, so a replay answers as before
    without running the registration again (which would register the person anew)."""
    from lealtad.api.models import IdempotencyRecord

    redacted, _detail = IdempotencyRecord.objects.filter(customer=customer).delete()
    rows = IdempotencyRecord.objects.filter(
        merchant_id__in=merchant_ids, path="/api/v1/customers", completed=True
    ).only("pk", "response_body")
    for row in rows:
        try:
            body = json.loads(bytes(row.response_body or b""))
        except ValueError:
            continue
        if not isinstance(body, dict) or body.get("id") != str(customer.pk):
            continue
        for name in ERASED_FIELDS:
            if name in body:
                body[name] = getattr(customer, name)
        body["document_number"] = customer.document_number
        if body.get("suspension_message"):
            body["suspension_message"] = customer.suspension_message
        IdempotencyRecord.objects.filter(pk=row.pk).update(response_body=json.dumps(body).encode())
        redacted += 1
    return redacted


def _rename_admin_log(customer: Customer, memberships: list[Membership]) -> None:
    """The admin's history names the objects it changed as they were then (the full name)."""
    from django.contrib.admin.models import LogEntry
    from django.contrib.contenttypes.models import ContentType

    LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Customer), object_id=str(customer.pk)
    ).update(object_repr=str(customer)[:200])
    names = dict(
        Merchant.objects.filter(pk__in=[m.merchant_id for m in memberships]).values_list(
            "pk", "name"
        )
    )
    membership_type = ContentType.objects.get_for_model(Membership)
    for m in memberships:
        LogEntry.objects.filter(content_type=membership_type, object_id=str(m.pk)).update(
            object_repr=f"{customer} @ {names[m.merchant_id]}"[:200]
        )


# --- the customer's own copy (the app) -----------------------------------------------------------

NETWORK_EXPORT_FORMAT = "lealtad.customer-network-export"


def export_all(customer: Customer) -> dict:
    """Everything the network holds on the customer, for the customer (the app's "download my
    data"): the profile, the coin wallet with every coin movement (donations and conversions
    included, which no merchant holds), the customer's ratings and conversations, and for each
    membership what that merchant holds (`export_data`, unchanged). The purchase claims (A7)
    are listed with their answer, not their photos' bytes."""
    from lealtad.claims.actions import outcome
    from lealtad.claims.models import Claim
    from lealtad.coins.actions import wallet_of
    from lealtad.ratings.models import Rating

    customer = Customer.objects.get(pk=customer.pk)
    now = timezone.now()

    def iso(value):
        return value.isoformat() if value else None

    memberships = Membership.objects.filter(customer=customer).order_by("created_at", "pk")
    coins = Transaction.objects.filter(
        account__customer=customer, account__kind=AccountKind.COINS
    ).order_by("created_at", "pk")
    ratings = (
        Rating.objects.filter(customer=customer)
        .select_related("merchant")
        .prefetch_related("messages")
        .order_by("created_at", "pk")
    )
    return {
        "format": NETWORK_EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "exported_at": iso(now),
        "customer": {
            **_profile(customer, iso),
            "registered_at": iso(customer.created_at),
        },
        "coins": {
            "wallet": wallet_of(customer, now),
            "movements": [
                {
                    "id": str(t.pk),
                    "kind": t.kind,
                    "status": t.status,
                    "coins": t.points,
                    "merchant_id": str(t.merchant_id) if t.merchant_id else None,
                    "reason": t.reason,
                    "created_at": iso(t.created_at),
                }
                for t in coins
            ],
        },
        "ratings": [
            {
                "id": str(r.pk),
                "merchant": r.merchant.name,
                "transaction_id": str(r.transaction_id),
                "score": r.score,
                "comment": r.comment,
                "created_at": iso(r.created_at),
                "messages": [
                    {"author": msg.author, "body": msg.body, "at": iso(msg.created_at)}
                    for msg in r.messages.all()
                ],
            }
            for r in ratings
        ],
        "claims": [
            {
                "id": str(c.pk),
                "merchant": c.merchant.name,
                "branch": c.branch.name,
                "invoice_number": c.invoice_number,
                "amount": str(c.amount),
                "currency": c.currency,
                "purchased_on": iso(c.purchased_on),
                "status": (shown := outcome(c)).status,
                "reason": shown.reason or None,
                "points": shown.points,
                "coins": shown.coins,
                "sent_at": iso(c.created_at),
                "decided_at": iso(c.decided_at),
            }
            for c in Claim.objects.filter(customer=customer)
            .select_related("merchant", "branch", "transaction")
            .order_by("created_at", "pk")
        ],
        "memberships": [export_data(m) for m in memberships],
    }
