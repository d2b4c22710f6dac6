"""I2 / I3: invoices pushed by a merchant's point of sale.

An invoice arrives from the POS with or without its customer. With one it loads at once (an
accrual of points, or coins at an issuer); without one it waits at its branch until a cashier
identifies the customer at the till, or until the merchant's limit passes and it expires.

The invoice shares its number space with typed accruals: its key is `ledger.invoices.invoice_key`
(trimmed, case-folded), unique per merchant here, and the accrual it loads holds the same key under
the ledger's own constraint, so one invoice earns once whichever way it comes.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from lealtad.customers.models import Customer
from lealtad.ledger.models import Transaction
from lealtad.network.models import ApiKey, Branch, Merchant


class InvoiceStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting for the customer")
    LOADED = "loaded", _("Loaded")
    HELD = "held", _("Loaded, awaiting approval")
    EXPIRED = "expired", _("Expired")


class InvoiceEarns(models.TextChoices):
    POINTS = "points", _("Points")
    COINS = "coins", _("Coins")


class Invoice(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="invoices")
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="invoices")
    invoice_number = models.CharField(_("invoice number"), max_length=64)  # as sent (trimmed)
    invoice_key = models.CharField(max_length=64)  # ledger.invoices.invoice_key
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    issued_at = models.DateTimeField(_("issued at"))
    # The POS's line items, kept for "Ver factura": [{"description", "quantity", "unit_price",
    # "amount"}] (validated by invoices.lines).
    lines = models.JSONField(default=list, blank=True)
    status = models.CharField(
        max_length=8, choices=InvoiceStatus.choices, default=InvoiceStatus.WAITING
    )
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    transaction = models.OneToOneField(
        Transaction, null=True, blank=True, on_delete=models.PROTECT, related_name="pos_invoice"
    )
    earns = models.CharField(max_length=6, choices=InvoiceEarns.choices, blank=True)
    api_key = models.ForeignKey(
        ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    loaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    loaded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # One invoice per merchant and number, in any case or spacing: what makes ten POS
            # retries at once one invoice (the losers read the winner).
            models.UniqueConstraint(
                fields=["merchant", "invoice_key"], name="invoice_unique_number"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="invoice_amount_gt_0"),
            # Loaded or held means an accrual and its customer exist.
            models.CheckConstraint(
                condition=~Q(status__in=["loaded", "held"])
                | (Q(transaction__isnull=False) & Q(customer__isnull=False)),
                name="invoice_loaded_has_transaction",
            ),
        ]
        indexes = [
            models.Index(
                "merchant",
                "branch",
                "status",
                models.F("created_at").desc(),
                name="invoice_branch_status_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.invoice_number} ({self.status})"

    @property
    def points(self) -> int:
        txn = self.transaction
        return txn.points if txn is not None and txn.kind == "accrual" else 0

    @property
    def coins(self) -> int:
        txn = self.transaction
        return txn.points if txn is not None and txn.kind == "coin_earn" else 0
