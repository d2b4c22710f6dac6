"""K4: partner programs turn their points into the network's coins.

The operator defines a partner (name, coins per partner point) and gives it an API key of its
own; the partner posts a conversion for a customer it knows by document. A conversion is
idempotent by (partner, reference): the same reference again is the same conversion, never a
second credit, however many times and however simultaneously it is posted.
"""

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from django.db import DEFAULT_DB_ALIAS, IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from lealtad.coins.actions import add_months, coin_wallet
from lealtad.coins.models import Partner, PartnerConversion, PartnerKey
from lealtad.core.errors import (
    CustomerSuspended,
    LealtadError,
    NotFound,
    ValidationFailed,
)
from lealtad.customers.actions import identity_of
from lealtad.customers.documents import (
    InvalidDocument,
    UnsupportedDocumentType,
    normalize_document,
)
from lealtad.customers.models import Customer
from lealtad.ledger import ledger
from lealtad.ledger.models import Kind, Transaction
from lealtad.network import actorcache
from lealtad.network.models import Network

MAX_POINTS = 10**12


class ConversionBelowOneCoin(ValidationFailed):
    code, title = "conversion_below_one_coin", _("These points convert to less than one coin")


class ReferenceReused(LealtadError):
    code, status, title = (
        "conversion_reference_reused",
        409,
        _("This reference was used for another conversion"),
    )


@dataclass
class Conversion:
    record: PartnerConversion
    created: bool  # False: the reference was already converted, nothing moved now


def create_partner(name: str, rate, network: Network | None = None, active=True) -> Partner:
    rate = Decimal(str(rate))
    if rate <= 0:
        raise ValidationFailed([{"field": "rate", "message": _("A rate above zero.")}])
    return Partner.objects.create(
        network=network or Network.default(), name=name.strip(), rate=rate, active=active
    )


def issue_partner_key(partner: Partner, name: str = "API") -> tuple[PartnerKey, str]:
    """A new key for the partner; the secret is returned once, only its hash is kept."""
    name = (name or "").strip() or "API"
    if len(name) > PartnerKey._meta.get_field("name").max_length:
        raise ValidationFailed([{"field": "name", "message": _("At most %d characters.") % 80}])
    secret = PartnerKey.new_secret()
    key = PartnerKey.objects.create(
        partner=partner, name=name, prefix=secret[:10], key_hash=PartnerKey.hash(secret)
    )
    return key, secret


def revoke_partner_key(key: PartnerKey, now=None) -> int:
    revoked = PartnerKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(
        revoked_at=now or timezone.now()
    )
    actorcache.forget_token_hashes([key.key_hash])  # refused at once on every node
    return revoked


def partner_for_secret(secret: str) -> Partner | None:
    key = (
        PartnerKey.objects.using(DEFAULT_DB_ALIAS)  # the primary: never a lagging replica
        .select_related("partner")
        .filter(key_hash=PartnerKey.hash(secret), revoked_at__isnull=True, partner__active=True)
        .first()
    )
    return key.partner if key else None


def coins_for_points(points: int, rate: Decimal) -> int:
    return int((Decimal(points) * rate).to_integral_value(rounding=ROUND_FLOOR))


def find_customer(country: str, document_type: str, document_number: str) -> Customer:
    """The customer by document, in the document's normal form (the same lookup as sign-up)."""
    country = (country or "").strip().upper()
    document_type = (document_type or "").strip().upper()
    try:
        number = normalize_document(country, document_type, document_number)
    except InvalidDocument as exc:
        # A type the country does not have is the type's fault; anything else the number's.
        field = "document_type" if isinstance(exc, UnsupportedDocumentType) else "document_number"
        message = str(exc)
        raise ValidationFailed([{"field": field, "message": message}], message) from None
    customer_id = identity_of(country, document_type, number)
    customer = Customer.objects.filter(pk=customer_id, anonymised_at__isnull=True).first()
    if customer is None:
        raise NotFound(_("No customer with this document."))
    return customer


def convert(
    *,
    partner: Partner,
    customer: Customer,
    partner_points: int,
    reference: str,
    now=None,
) -> Conversion:
    """Credit floor(partner_points × rate) coins to the customer's wallet, once per reference."""
    now = now or timezone.now()
    reference = (reference or "").strip()
    errors = []
    if not reference or len(reference) > 64 or not reference.isprintable():
        errors.append({"field": "reference", "message": _("From 1 to 64 characters.")})
    if not isinstance(partner_points, int) or not 0 < partner_points <= MAX_POINTS:
        errors.append({"field": "partner_points", "message": _("A whole number above zero.")})
    if errors:
        raise ValidationFailed(errors)
    if (existing := _existing(partner, reference)) is not None:
        return _same(existing, customer, partner_points)
    coins = coins_for_points(partner_points, partner.rate)
    if coins < 1:
        minimum = coins_for_minimum(partner.rate)
        message = _("%(points)s points convert to less than one coin; the least is %(minimum)s.")
        message = message % {"points": partner_points, "minimum": minimum}
        error = ConversionBelowOneCoin([{"field": "partner_points", "message": message}], message)
        error.extra["minimum"] = minimum
        raise error
    if customer.suspended:
        raise CustomerSuspended()
    wallet = coin_wallet(customer)
    try:
        with transaction.atomic():
            account = ledger.lock_account(wallet.pk)
            # Under the wallet's lock: a simultaneous post of this reference for this customer
            # has committed by now, and is found (the unique constraint covers any other).
            if (existing := _existing(partner, reference)) is not None:
                return _same(existing, customer, partner_points)
            txn = Transaction.objects.create(
                account_id=account.id,
                kind=Kind.CONVERSION,
                points=coins,
                balance_after=account.balance + coins,
                customer=customer,
                reason=partner.name[:300],
                invoice_number=reference,
                created_at=now,
                posted_at=now,
            )
            months = partner.network.coin_validity_months
            ledger.credit(account, txn, coins, add_months(now, months), now)
            record = PartnerConversion.objects.create(
                partner=partner,
                reference=reference,
                customer=customer,
                partner_points=partner_points,
                coins=coins,
                transaction=txn,
                created_at=now,
            )
    except IntegrityError as exc:
        if "partner_conversion_once" not in str(exc) and "reference" not in str(exc):
            raise
        return _same(_existing(partner, reference), customer, partner_points)
    return Conversion(record, created=True)


def coins_for_minimum(rate: Decimal) -> int:
    """The fewest partner points that make one coin."""
    points = int((Decimal(1) / rate).to_integral_value(rounding=ROUND_FLOOR))
    while coins_for_points(points, rate) < 1:
        points += 1
    return max(points, 1)


def _existing(partner, reference):
    return (
        PartnerConversion.objects.select_related("transaction", "partner")
        .filter(partner=partner, reference=reference)
        .first()
    )


def _same(existing: PartnerConversion, customer, partner_points) -> Conversion:
    if existing.customer_id != customer.pk or existing.partner_points != partner_points:
        raise ReferenceReused(
            _("Reference %(reference)s was already converted with other data.")
            % {"reference": existing.reference}
        )
    return Conversion(existing, created=False)


def describe(txn: Transaction) -> str:
    """The statement's words for a conversion or a donation: the partner's or the cause's name."""
    if txn.kind == Kind.CONVERSION:
        record = getattr(txn, "partner_conversion", None)
        name = record.partner.name if record else txn.reason
        return _("Coins from %(partner)s") % {"partner": name}
    if txn.kind == Kind.DONATION:
        record = getattr(txn, "donation", None)
        name = record.cause.name if record else txn.reason
        return _("Donation to %(cause)s") % {"cause": name}
    return txn.get_kind_display()
