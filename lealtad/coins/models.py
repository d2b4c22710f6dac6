"""K3: coin payments confirmed by a code, the codes themselves, and used payment QRs."""

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from lealtad.customers.models import Customer
from lealtad.ledger.models import Hold, Transaction
from lealtad.network.models import ApiKey, Branch, Merchant, User

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
