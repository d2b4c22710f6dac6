"""Coins' own records: partner programs and their keys (K4), causes and donations (K5); coin
payments confirmed by a code, the codes themselves and used payment QRs (K3).

The value itself lives in the ledger (a Transaction of kind CONVERSION or DONATION on the
customer's wallet); these rows say which partner or cause it was, so the ledger needs no
knowledge of them. R3: coin promotions, products an acceptor sells only for coins.
"""

import hashlib
import secrets
import uuid
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from lealtad.customers.models import Customer
from lealtad.ledger.models import Hold, Transaction
from lealtad.network.models import ApiKey, Branch, Merchant, Network, User


class Partner(models.Model):
    """K4: a partner program (a bank, an airline) whose points convert into the network's coins."""

    network = models.ForeignKey(Network, on_delete=models.PROTECT, related_name="partners")
    name = models.CharField(_("name"), max_length=120, unique=True)
    # Coins per partner point: 0.25 turns 1,000 points into 250 coins (rounded down).
    rate = models.DecimalField(
        _("conversion rate"),
        max_digits=12,
        decimal_places=6,
        validators=[MinValueValidator(Decimal("0.000001"))],
        help_text=_("Coins for one partner point, e.g. 0.25."),
    )
    active = models.BooleanField(_("active"), default=True)
    # A8: the customer may ask from the app to convert points here; the partner confirms (or
    # refuses) each request through its API, debiting its own points first.
    app_conversion = models.BooleanField(
        _("conversion from the app"),
        default=False,
        help_text=_("Customers may ask from the app; the partner confirms through its API."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("partner program")
        verbose_name_plural = _("partner programs")
        ordering = ["name"]
        constraints = [models.CheckConstraint(condition=Q(rate__gt=0), name="partner_rate_gt_0")]

    def __str__(self) -> str:
        return self.name


class PartnerKey(models.Model):
    """A partner's own API key: it reaches the partner endpoint only (and a merchant's key does
    not reach that endpoint). Only its hash is kept."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="keys")
    name = models.CharField(_("name"), max_length=80, default="API")
    prefix = models.CharField(max_length=12)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    PREFIX = "lpp_"

    class Meta:
        verbose_name = _("partner API key")
        verbose_name_plural = _("partner API keys")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def new_secret(cls) -> str:
        return cls.PREFIX + secrets.token_urlsafe(32)

    @staticmethod
    def hash(secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()


class PartnerConversion(models.Model):
    """One conversion a partner posted: unique by (partner, reference), so a retry is the same
    conversion, never a second credit."""

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="conversions")
    reference = models.CharField(max_length=64)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    partner_points = models.BigIntegerField()
    coins = models.BigIntegerField()
    transaction = models.OneToOneField(
        Transaction, on_delete=models.PROTECT, related_name="partner_conversion"
    )
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "reference"], name="partner_conversion_once"
            ),
        ]


class ConversionRequest(models.Model):
    """A8: a customer's request, from the app, to convert points of a partner that allows it. The
    partner reads its pending requests, debits its own points and confirms (the coins are then
    credited by `partners.convert` under the request's reference, once) or refuses."""

    PENDING, CONVERTED, REFUSED = "pending", "converted", "refused"
    STATUSES = [
        (PENDING, _("Waiting for the partner")),
        (CONVERTED, _("Converted into coins")),
        (REFUSED, _("Refused by the partner")),
    ]

    partner = models.ForeignKey(
        Partner, on_delete=models.PROTECT, related_name="conversion_requests"
    )
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    partner_points = models.BigIntegerField()
    reference = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=10, choices=STATUSES, default=PENDING)
    reason = models.CharField(max_length=200, blank=True)
    conversion = models.OneToOneField(
        PartnerConversion, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["partner", "status"], name="conversion_request_queue")]


class Cause(models.Model):
    """K5: a cause customers give coins to."""

    network = models.ForeignKey(Network, on_delete=models.PROTECT, related_name="causes")
    name = models.CharField(_("name"), max_length=120, unique=True)
    description = models.TextField(_("description"), blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("cause")
        verbose_name_plural = _("causes")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Donation(models.Model):
    cause = models.ForeignKey(Cause, on_delete=models.PROTECT, related_name="donations")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    coins = models.BigIntegerField()
    transaction = models.OneToOneField(
        Transaction, on_delete=models.PROTECT, related_name="donation"
    )
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("donation")
        verbose_name_plural = _("donations")
        constraints = [models.CheckConstraint(condition=Q(coins__gt=0), name="donation_gt_0")]


class Settlement(Merchant):
    """The operator's monthly settlement statement, reached from the admin as its own entry
    (a proxy: no table of its own)."""

    class Meta:
        proxy = True
        verbose_name = _("settlement statement")
        verbose_name_plural = _("settlement statements")


class CoinPromotion(models.Model):
    """R3: a product an acceptor sells only for coins, in a time window, with an optional stock
    (None = unlimited). Taking one is a coin payment of `coins_price` coins (the payment names
    the promotion); a unit of stock is reserved while its payment waits for the code and given
    back when the payment is cancelled or expires (`lealtad.coins.promotions`)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="coin_promotions")
    name = models.CharField(_("name"), max_length=120)
    description = models.CharField(_("description"), max_length=500, blank=True)
    picture = models.FileField(_("picture"), upload_to="coin-promotions/", blank=True)
    coins_price = models.PositiveIntegerField(
        _("price in coins"), validators=[MinValueValidator(1)]
    )
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    # None means unlimited; otherwise the units left (a held payment has one reserved).
    stock = models.PositiveIntegerField(_("stock"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["coins_price", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(coins_price__gt=0), name="coin_promotion_price_gt_0"
            ),
            models.CheckConstraint(
                condition=Q(stock__isnull=True) | Q(stock__gte=0),
                name="coin_promotion_stock_gte_0",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="coin_promotion_window"
            ),
        ]
        indexes = [models.Index(fields=["merchant", "active", "ends_at"])]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        super().clean()
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": _("The end comes before the start.")})

    def on_sale(self, now) -> bool:
        """In its window, active, and with a unit left."""
        return (
            self.active
            and self.starts_at <= now < self.ends_at
            and (self.stock is None or self.stock > 0)
        )


MAX_ATTEMPTS = 3  # wrong codes before the payment is cancelled
MAX_RESENDS = 3


class PaymentStatus(models.TextChoices):
    AWAITING_CODE = "awaiting_code", _("Awaiting the customer's code")
    CAPTURED = "captured", _("Paid")
    CANCELLED = "cancelled", _("Cancelled")


class CancelReason(models.TextChoices):
    WRONG_CODE = "wrong_code", _("Too many wrong codes")
    EXPIRED = "expired", _("The code expired")
    CANCELLED = "cancelled", _("Cancelled at the till")


class CoinPayment(models.Model):
    """An invoice paid (fully or partly) with coins: held at once, captured by the customer's
    code (or the customer's payment QR), or cancelled, releasing the hold. Resolved once."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="+")
    branch = models.ForeignKey(Branch, null=True, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    staff = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    api_key = models.ForeignKey(ApiKey, null=True, on_delete=models.SET_NULL, related_name="+")
    invoice_number = models.CharField(max_length=64, blank=True)
    invoice_amount = models.DecimalField(max_digits=16, decimal_places=2)
    currency = models.CharField(max_length=3)
    coins = models.BigIntegerField()
    status = models.CharField(
        max_length=14, choices=PaymentStatus.choices, default=PaymentStatus.AWAITING_CODE
    )
    cancel_reason = models.CharField(max_length=12, choices=CancelReason.choices, blank=True)
    code_sent_to = models.CharField(max_length=120, blank=True)  # masked
    attempts = models.PositiveSmallIntegerField(default=0)
    resends = models.PositiveSmallIntegerField(default=0)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField()
    captured_at = models.DateTimeField(null=True)
    cancelled_at = models.DateTimeField(null=True)
    hold = models.OneToOneField(Hold, on_delete=models.PROTECT, related_name="coin_payment")
    transaction = models.OneToOneField(
        Transaction, null=True, on_delete=models.PROTECT, related_name="coin_payment"
    )
    document_checked = models.BooleanField(default=False)
    via_qr = models.BooleanField(default=False)
    # R3: the coin promotion this payment buys (one unit, reserved while the code is awaited).
    promotion = models.ForeignKey(
        CoinPromotion, null=True, blank=True, on_delete=models.PROTECT, related_name="payments"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(coins__gt=0), name="coin_payment_coins_gt_0"),
        ]
        indexes = [
            models.Index(
                fields=["expires_at"],
                condition=Q(status="awaiting_code"),
                name="coin_payment_awaiting_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.coins} coins, {self.status}"

    @property
    def attempts_left(self) -> int:
        if self.status != PaymentStatus.AWAITING_CODE:
            return 0
        return max(MAX_ATTEMPTS - self.attempts, 0)

    @property
    def resends_left(self) -> int:
        if self.status != PaymentStatus.AWAITING_CODE:
            return 0
        return max(MAX_RESENDS - self.resends, 0)


class OneTimeCode(models.Model):
    """One code sent to a customer (lealtad.coins.codes): only its HMAC is kept, bound to a
    purpose and the object's binding string. A newer code for the same object replaces it."""

    purpose = models.CharField(max_length=32)
    subject = models.CharField(max_length=64)  # the object's id (a payment, a redemption…)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    merchant = models.ForeignKey(Merchant, null=True, on_delete=models.SET_NULL, related_name="+")
    code_hash = models.CharField(max_length=64)
    sent_to = models.CharField(max_length=120, blank=True)  # masked
    created_at = models.DateTimeField(db_index=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True)
    replaced = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["purpose", "subject"], name="code_subject_idx"),
            models.Index(fields=["customer", "created_at"], name="code_customer_day_idx"),
        ]


class UsedPaymentQr(models.Model):
    """A payment QR pays once: its nonce is recorded by the payment it captured."""

    nonce = models.CharField(max_length=64, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    used_at = models.DateTimeField()


class CoinVoucher(models.Model):
    """R3 in the customer's app: a coin promotion bought and paid at once from the app; the
    customer shows this voucher (its QR or its short code) and the till hands the product over,
    once (`lealtad.coins.vouchers`)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    payment = models.OneToOneField(CoinPayment, on_delete=models.PROTECT, related_name="voucher")
    promotion = models.ForeignKey(CoinPromotion, on_delete=models.PROTECT, related_name="+")
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    code = models.CharField(max_length=16, unique=True)
    created_at = models.DateTimeField()
    handed_over_at = models.DateTimeField(null=True, blank=True)
    handed_over_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    handed_over_branch = models.ForeignKey(
        Branch, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["customer", "-created_at"], name="voucher_customer_idx")]

    def __str__(self) -> str:
        return self.code
