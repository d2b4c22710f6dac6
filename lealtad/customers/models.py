import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from lealtad.network.models import Branch, Merchant
from lealtad.program.models import Category


class Gender(models.TextChoices):
    FEMALE = "F", _("Female")
    MALE = "M", _("Male")
    OTHER = "X", _("Other")


class PersonType(models.TextChoices):
    PERSON = "person", _("Person")
    COMPANY = "company", _("Company")


# C3: a natural person's complete profile. The whole rule (companies, the fields a merchant asks
# for) is in customers/completeness.py.
REQUIRED_FOR_COMPLETE_PROFILE = (
    "first_name",
    "last_name",
    "gender",
    "birth_date",
    "email",
    "mobile",
)


class Customer(models.Model):
    """A network-wide identity (N2): registered once, recognised at every merchant."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    country = models.CharField(_("country"), max_length=2)
    document_type = models.CharField(_("document type"), max_length=8)
    # Normalised (compact) form, so that "1.234.567" and "1234567" are the same person.
    document_number = models.CharField(_("document number"), max_length=32)
    person_type = models.CharField(
        max_length=10, choices=PersonType.choices, default=PersonType.PERSON
    )
    email = models.EmailField(_("email"), null=True, blank=True)
    mobile = models.CharField(_("mobile"), max_length=20, null=True, blank=True)  # E.164
    first_name = models.CharField(_("first names"), max_length=80, blank=True)
    last_name = models.CharField(_("last names"), max_length=80, blank=True)
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    city = models.CharField(_("city"), max_length=80, blank=True)
    state = models.CharField(_("state"), max_length=80, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=12, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    profile_complete = models.BooleanField(default=False)
    # C11: network-wide suspension by the operator (fraud review).
    suspended = models.BooleanField(default=False)
    suspension_message = models.CharField(max_length=300, blank=True)
    # Bumping it invalidates every QR code printed before (a lost phone, a leaked code).
    qr_version = models.PositiveSmallIntegerField(default=1)
    # C12: set when the operator anonymised the customer on request; the ledger stays whole.
    anonymised_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["country", "document_type", "document_number"], name="customer_identity"
            ),
            models.UniqueConstraint(
                fields=["email"], condition=Q(email__isnull=False), name="customer_unique_email"
            ),
            models.UniqueConstraint(
                fields=["mobile"], condition=Q(mobile__isnull=False), name="customer_unique_mobile"
            ),
        ]
        indexes = [models.Index(fields=["document_number"], name="customer_document_idx")]

    def __str__(self) -> str:
        return self.full_name or f"{self.document_type} {self.document_number}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def missing_fields(self) -> list[str]:
        """What the network's own rule misses (C3, by person type); a merchant may ask more:
        `Membership.missing_fields()` is what redemption at that merchant needs."""
        from lealtad.customers import completeness

        return completeness.missing_fields(self)

    def refresh_profile_complete(self) -> None:
        self.profile_complete = not self.missing_fields


class RedeemPolicy(models.TextChoices):
    HOLDER_ONLY = "holder", _("The holder only")
    ALL_CARDS = "all", _("All linked cards")


class Membership(models.Model):
    """A customer at one merchant: category, card, blocks and dependents (C6–C8, C11)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="memberships")
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="memberships")
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="memberships")
    card_number = models.CharField(_("card number"), max_length=40, null=True, blank=True)
    # The points account this membership's own accruals and redemptions go to.
    account = models.OneToOneField(
        "ledger.Account", on_delete=models.PROTECT, related_name="membership"
    )
    registered_branch = models.ForeignKey(
        Branch, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # C8: a dependent accrues into the holder's balance.
    holder = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="dependents"
    )
    redeem_policy = models.CharField(
        max_length=10, choices=RedeemPolicy.choices, default=RedeemPolicy.HOLDER_ONLY
    )
    blocked = models.BooleanField(default=False)
    blocked_reason = models.CharField(max_length=300, blank=True)
    blocked_at = models.DateTimeField(null=True, blank=True)
    # C12: marketing consent for this merchant's messages; its history is in ConsentRecord.
    marketing_consent = models.BooleanField(_("marketing consent"), default=False)
    marketing_consent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            # The console's customer list: newest first, one merchant at a time.
            models.Index(
                fields=["merchant", "-created_at", "-id"], name="membership_merchant_newest_idx"
            ),
            models.Index(
                fields=["merchant", "blocked_at"],
                condition=Q(blocked=True),
                name="membership_blocked_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["customer", "merchant"], name="membership_unique"),
            models.UniqueConstraint(
                fields=["merchant", "card_number"],
                condition=Q(card_number__isnull=False),
                name="membership_unique_card",
            ),
            models.CheckConstraint(
                condition=~Q(holder=models.F("id")), name="membership_not_own_holder"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer} @ {self.merchant}"

    def missing_fields(self) -> list[str]:
        """C3/C4: what this customer's profile misses for this merchant (its person type and
        the fields this merchant asks for)."""
        from lealtad.customers import completeness

        return completeness.missing_fields(self.customer, self.merchant)

    @property
    def profile_complete(self) -> bool:
        return not self.missing_fields()

    @property
    def spending_account_id(self) -> int:
        """C8: the account this membership's points go to and are spent from — a dependent's
        live in the holder's account."""
        return self.holder.account_id if self.holder_id else self.account_id


class ConsentRecord(models.Model):
    """C12: each time marketing consent was given or withdrawn, by whom and through what."""

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="consents")
    given = models.BooleanField()
    at = models.DateTimeField()
    staff = models.ForeignKey(
        "network.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    channel = models.CharField(max_length=20, default="console")

    class Meta:
        indexes = [models.Index(fields=["membership", "at"])]


class IdentityChange(models.Model):
    """A merchant's request to change a shared identity's contact or document, and its audit:
    who asked (merchant, staff or API key), the old and new values, when, and how it ended.
    A contact or document already set changes only when the customer confirms with the code
    sent for it (`code_hash` keeps an HMAC of the code, never the code); filling in an empty
    field or correcting a name is recorded as `applied` at once."""

    class Field(models.TextChoices):
        EMAIL = "email", _("email")
        MOBILE = "mobile", _("mobile")
        DOCUMENT = "document", _("document")
        PROFILE = "profile", _("profile")

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting for the customer's code")
        CONFIRMED = "confirmed", _("Confirmed by the customer")
        APPLIED = "applied", _("Applied")
        CANCELLED = "cancelled", _("Cancelled")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="identity_changes"
    )
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="+")
    field = models.CharField(max_length=10, choices=Field.choices)
    # JSON text of the fields concerned, e.g. {"email": "a@x.com"}; blanked by anonymisation.
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)
    sent_to = models.CharField(max_length=254, blank=True)
    # A contact change also needs a code sent to a contact already on file: the new address
    # alone could be the requester's own, and would prove nothing about the customer.
    owner_sent_to = models.CharField(max_length=254, blank=True)
    channel = models.CharField(max_length=10, default="api")
    requested_by = models.ForeignKey(
        "network.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_by_key = models.ForeignKey(
        "network.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    code_hash = models.CharField(max_length=64, blank=True)
    owner_code_hash = models.CharField(max_length=64, blank=True)
    state = models.CharField(max_length=10, choices=State.choices)
    attempts = models.PositiveSmallIntegerField(default=0)
    resends = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["customer", "created_at"], name="identity_change_idx")]
