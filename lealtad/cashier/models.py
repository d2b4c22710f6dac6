import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from lealtad.customers.models import Membership
from lealtad.network.models import Merchant


class GoalDefault(models.Model):
    """S3: the merchant's daily goals per cashier (the console will set them per cashier)."""

    merchant = models.OneToOneField(Merchant, on_delete=models.CASCADE, related_name="goals")
    registrations = models.PositiveIntegerField(default=5)
    accruals = models.PositiveIntegerField(default=20)


class Registration(models.Model):
    """Who registered whom, and when: today's registrations count towards the cashier's goal."""

    staff = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    membership = models.OneToOneField(Membership, on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField(db_index=True)


class CashierGoal(models.Model):
    """S3: one cashier's own daily goals, over the merchant's default."""

    staff = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="goal"
    )
    registrations = models.PositiveIntegerField(default=5)
    accruals = models.PositiveIntegerField(default=20)


class RemoteRedemption(models.Model):
    """P6 remote: a prize the customer asked for by phone or WhatsApp, waiting for the code sent
    to them (lealtad.coins.codes through notifications.sms.send_code); the cashier types it and
    the redemption is posted under every prize rule (cashier/remote.py)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for the customer's code")
        REDEEMED = "redeemed", _("Redeemed")
        CANCELLED = "cancelled", _("Cancelled")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="+")
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    reward = models.ForeignKey("program.Reward", on_delete=models.PROTECT, related_name="+")
    promotion_id = models.UUIDField(null=True, blank=True)  # R1 special price, when it applied
    points = models.PositiveIntegerField()  # the price the code is bound to
    branch = models.ForeignKey("network.Branch", on_delete=models.PROTECT, related_name="+")
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    sent_to = models.CharField(max_length=120, blank=True)  # masked
    attempts = models.PositiveSmallIntegerField(default=0)
    resends = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True)  # why it was cancelled
    transaction = models.OneToOneField(
        "ledger.Transaction", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    def binding(self) -> str:
        """What the code is bound to: this merchant, customer, prize and price."""
        return f"{self.merchant_id}:{self.membership_id}:{self.reward_id}:{self.points}"
