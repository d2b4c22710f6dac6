from django.conf import settings
from django.db import models

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
