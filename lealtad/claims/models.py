"""A7: a customer claims a purchase the till did not record, with a photo of the invoice.

The claim waits in the merchant's queue until an admin approves it (the points, or coins at an
issuer, accrue by the very action a typed accrual uses) or rejects it with a reason the customer
reads. The invoice shares its number space with accruals and POS invoices (`invoice_key`, the
ledger's normal form): a claim of a number already used is refused, and two claims of one number
at one merchant are one (a rejected claim frees its number, so a better photo can be sent).
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from lealtad.customers.models import Customer
from lealtad.ledger.models import Transaction
from lealtad.network.models import Branch, Merchant


class ClaimStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting for review")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class Claim(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="claims")
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="claims")
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="claims")
    invoice_number = models.CharField(_("invoice number"), max_length=64)  # as typed (trimmed)
    invoice_key = models.CharField(max_length=64)  # ledger.invoices.invoice_key
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    purchased_on = models.DateField(_("purchase date"))
    # The re-encoded picture, relative to PRIVATE_MEDIA_ROOT (never served as a public file: the
    # console streams it to the merchant's admins only). A random name.
    photo = models.CharField(max_length=120)
    photo_type = models.CharField(max_length=20, default="image/webp")
    photo_width = models.PositiveIntegerField(default=0)
    photo_height = models.PositiveIntegerField(default=0)
    status = models.CharField(
        max_length=8, choices=ClaimStatus.choices, default=ClaimStatus.WAITING
    )
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    transaction = models.OneToOneField(
        Transaction, null=True, blank=True, on_delete=models.PROTECT, related_name="claim"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            # Two claims of one invoice are one, however they are typed; a rejected claim frees
            # the number (the customer may send a readable photo).
            models.UniqueConstraint(
                fields=["merchant", "invoice_key"],
                condition=~Q(status="rejected"),
                name="claim_unique_invoice",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="claim_amount_gt_0"),
            models.CheckConstraint(
                condition=~Q(status="approved") | Q(transaction__isnull=False),
                name="claim_approved_has_transaction",
            ),
            models.CheckConstraint(
                condition=~Q(status="rejected") | ~Q(reason=""), name="claim_rejected_has_reason"
            ),
        ]
        indexes = [
            models.Index(fields=["merchant", "status", "created_at"], name="claim_queue_idx"),
            models.Index(fields=["customer", "-created_at"], name="claim_customer_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.invoice_number} ({self.status})"
