"""The ledger: one for both kinds of value, points (per membership) and coins (per customer).

Entries are append-only (a database trigger refuses UPDATE and DELETE). Each credit opens a lot
with an expiry date; debits consume the lots that expire first. The account row caches the
balance, updated in the same transaction as its entries, and a CHECK keeps it >= 0, so that
balance = sum of entries = sum of open lot remainders (see `lealtad ledger-check`).
"""

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from lealtad.customers.models import Customer
from lealtad.network.models import Branch, Merchant, User
from lealtad.program.models import Reward


class AccountKind(models.TextChoices):
    POINTS = "points", _("Points")
    COINS = "coins", _("Coins")


class Account(models.Model):
    kind = models.CharField(max_length=6, choices=AccountKind.choices)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="accounts")
    # Points belong to one merchant (N3); the coin wallet to the network (N4), so no merchant.
    merchant = models.ForeignKey(
        Merchant, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    balance = models.BigIntegerField(default=0)  # available: posted entries
    pending = models.BigIntegerField(default=0)  # held for approval, not spendable
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="account_balance_gte_0"),
            models.CheckConstraint(condition=Q(pending__gte=0), name="account_pending_gte_0"),
            models.CheckConstraint(
                condition=Q(kind="points", merchant__isnull=False)
                | Q(kind="coins", merchant__isnull=True),
                name="account_kind_merchant",
            ),
            models.UniqueConstraint(
                fields=["customer", "merchant"],
                condition=Q(kind="points"),
                name="account_one_points_per_merchant",
            ),
            models.UniqueConstraint(
                fields=["customer"], condition=Q(kind="coins"), name="account_one_wallet"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"


class Kind(models.TextChoices):
    ACCRUAL = "accrual", _("Accrual")
    REDEMPTION = "redemption", _("Redemption")
    EXPIRY = "expiry", _("Expiry")
    REVERSAL = "reversal", _("Reversal")
    ADJUSTMENT = "adjustment", _("Adjustment")
    BONUS = "bonus", _("Bonus")
    COIN_EARN = "coin_earn", _("Coins earned")
    COIN_PAYMENT = "coin_payment", _("Coin payment")
    POINT_PAYMENT = "point_pay", _("Paid with points")
    # K4: a partner's points turned into coins (coins.PartnerConversion names the partner).
    CONVERSION = "conversion", _("Partner conversion")
    # K5: coins given to a cause (coins.Donation names it).
    DONATION = "donation", _("Donation")


class Status(models.TextChoices):
    POSTED = "posted", _("Posted")
    PENDING = "pending", _("Pending approval")
    REJECTED = "rejected", _("Rejected")


class Transaction(models.Model):
    """One movement of value as the user sees it; its entries are the ledger lines."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="transactions")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.POSTED)
    # Signed total of the movement: what it added to or took from the balance (or holds, pending).
    points = models.BigIntegerField()
    # The balance right after it was posted (for statements with a running balance).
    balance_after = models.BigIntegerField(null=True)
    merchant = models.ForeignKey(Merchant, null=True, on_delete=models.PROTECT, related_name="+")
    branch = models.ForeignKey(Branch, null=True, on_delete=models.PROTECT, related_name="+")
    staff = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    # Who earned or spent: differs from the account owner for a dependent (C8).
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(max_digits=16, decimal_places=2, null=True)
    currency = models.CharField(max_length=3, blank=True)
    invoice_number = models.CharField(max_length=64, null=True)  # as typed (trimmed)
    # Its normal form (ledger.invoices.invoice_key): what "the same invoice" means.
    invoice_key = models.CharField(max_length=64, null=True)
    reward = models.ForeignKey(Reward, null=True, on_delete=models.PROTECT, related_name="+")
    reverses = models.OneToOneField(
        "self", null=True, on_delete=models.PROTECT, related_name="reversed_by"
    )
    reason = models.CharField(max_length=300, blank=True)
    hold_rule = models.CharField(max_length=40, blank=True)  # the fraud rule that held it
    created_at = models.DateTimeField(db_index=True)
    posted_at = models.DateTimeField(null=True)
    decided_at = models.DateTimeField(null=True)
    decided_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [
            # P2 / K2: one invoice earns once per merchant, points or coins, in any case or
            # spacing. The
            # constraint, not a lookup, is what makes 20 simultaneous submissions of one invoice
            # produce exactly one accrual. A rejected accrual frees its number; a reversed one
            # stays posted (the reversal is another row) and keeps it.
            models.UniqueConstraint(
                fields=["merchant", "invoice_key"],
                condition=Q(kind__in=["accrual", "coin_earn"], invoice_key__isnull=False)
                & ~Q(status="rejected"),
                name="transaction_unique_invoice",
            ),
        ]
        indexes = [
            models.Index(fields=["account", "posted_at"], name="txn_account_posted_idx"),
            models.Index(
                fields=["merchant", "status"],
                condition=Q(status="pending"),
                name="txn_pending_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.points:+d}"


def standing_accruals(merchant):
    """The merchant's accruals that still stand: not rejected at approval, not reversed, and
    worth a point (0-point accruals predate the minimum purchase). What a cashier's goal counts:
    a goal met by refused or voided sales is not met."""
    return (
        Transaction.objects.filter(merchant=merchant, kind=Kind.ACCRUAL, points__gt=0)
        .exclude(status=Status.REJECTED)
        .filter(reversed_by__isnull=True)
    )


class LotStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    PENDING = "pending", _("Pending approval")
    VOID = "void", _("Void")


class Lot(models.Model):
    """Points (or coins) credited together, expiring together."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="lots")
    transaction = models.ForeignKey(Transaction, on_delete=models.PROTECT, related_name="lots")
    points = models.BigIntegerField()
    remaining = models.BigIntegerField()
    status = models.CharField(max_length=8, choices=LotStatus.choices, default=LotStatus.ACTIVE)
    earned_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(points__gt=0), name="lot_points_gt_0"),
            models.CheckConstraint(
                condition=Q(remaining__gte=0) & Q(remaining__lte=models.F("points")),
                name="lot_remaining_in_range",
            ),
        ]
        indexes = [
            # Spending: the open lots of one account, soonest to expire first.
            models.Index(
                fields=["account", "expires_at"],
                condition=Q(status="active", remaining__gt=0),
                name="lot_open_by_account_idx",
            ),
            # Expiry: only lots falling due are visited, whatever the size of the ledger.
            models.Index(
                fields=["expires_at"],
                condition=Q(status="active", remaining__gt=0),
                name="lot_open_by_expiry_idx",
            ),
        ]


class Entry(models.Model):
    """One append-only ledger line: a signed change to one lot of one account."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="entries")
    transaction = models.ForeignKey(Transaction, on_delete=models.PROTECT, related_name="entries")
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="entries")
    points = models.BigIntegerField()
    created_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "entries"
        constraints = [
            models.CheckConstraint(condition=~Q(points=0), name="entry_points_not_0"),
        ]


class HoldStatus(models.TextChoices):
    PENDING = "pending", _("Held")
    POSTED = "posted", _("Captured")
    VOIDED = "voided", _("Released")


class Hold(models.Model):
    """A pending transfer in TigerBeetle's sense (coins, K3): `points` moved from the account's
    available balance to its held one (`balance -= n, pending += n`), no entry, no lot touched.
    It is resolved at most once: captured (the lots are debited, oldest first, with entries) or
    voided (the coins go back to available). What a pending hold reserves is never expired."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="holds")
    points = models.BigIntegerField()
    status = models.CharField(max_length=8, choices=HoldStatus.choices, default=HoldStatus.PENDING)
    created_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True)
    # The capture's movement (kind coin_payment), once captured.
    transaction = models.OneToOneField(
        Transaction, null=True, on_delete=models.PROTECT, related_name="hold"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(points__gt=0), name="hold_points_gt_0"),
        ]
        indexes = [
            models.Index(
                fields=["account"], condition=Q(status="pending"), name="hold_pending_idx"
            ),
        ]


class PointPayment(models.Model):
    """P7: points taken off an invoice as money; its movement is the ledger's (kind
    POINT_PAYMENT), reversed like any other. The value is fixed when paid: a later change of
    the merchant's redemption value rewrites no receipt."""

    transaction = models.OneToOneField(
        Transaction, primary_key=True, on_delete=models.PROTECT, related_name="point_payment"
    )
    invoice_amount = models.DecimalField(max_digits=16, decimal_places=2)
    value = models.DecimalField(max_digits=16, decimal_places=2)  # what the points paid
    point_money_value = models.DecimalField(max_digits=14, decimal_places=2)  # 1 point = this

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(value__gt=0) & Q(value__lte=models.F("invoice_amount")),
                name="point_payment_value_within_invoice",
            ),
        ]
