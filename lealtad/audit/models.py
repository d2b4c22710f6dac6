"""The audit trail (issue 16): one row per staff action that moves value or changes a customer's
data, written in the action's own transaction. Append-only: the ORM refuses to save an existing
row or delete one, and a database trigger refuses UPDATE and DELETE (migration 0002) except
under the one sanctioned path, `lealtad.audit.guard.redacting()` (docs/audit.md)."""

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy as _


class AppendOnly(Exception):
    """An audit entry cannot be changed or deleted."""


class ActorKind(models.TextChoices):
    STAFF = "staff", _("Staff")
    API_KEY = "api_key", _("API key")
    CLI = "cli", _("Command line")
    SYSTEM = "system", _("System")


class Action(models.TextChoices):
    """The stable action codes (docs/audit.md): never renamed, only added."""

    POINTS_ACCRUE = "points.accrue", _("Points accrued")
    POINTS_REDEEM = "points.redeem", _("Prize redeemed")
    POINTS_REVERSE = "points.reverse", _("Movement reversed")
    POINTS_ADJUST = "points.adjust", _("Points adjusted")
    POINTS_APPROVE = "points.approve", _("Held accrual approved")
    POINTS_REJECT = "points.reject", _("Held accrual rejected")
    POINTS_PAY = "points.pay", _("Paid with points")
    COINS_EARN = "coins.earn", _("Coins issued")
    COINS_PAY = "coins.pay", _("Paid with coins")
    CUSTOMER_REGISTER = "customer.register", _("Customer registered")
    CUSTOMER_UPDATE = "customer.update", _("Customer data changed")
    CUSTOMER_CONTACT_CHANGE = "customer.contact_change", _("Contact changed")
    CUSTOMER_CARD = "customer.card", _("Card number changed")
    CUSTOMER_CATEGORY = "customer.category", _("Category changed")
    CUSTOMER_BLOCK = "customer.block", _("Customer blocked")
    CUSTOMER_UNBLOCK = "customer.unblock", _("Customer unblocked")
    CUSTOMER_ANONYMISE = "customer.anonymise", _("Customer anonymised")
    GIFT_GIVE = "gift.give", _("Gift given")
    GIFT_REDEEM = "gift.redeem", _("Gift redeemed")
    FREE_ITEM = "promotion.free_item", _("Free item handed over")
    CLAIM_APPROVE = "claim.approve", _("Purchase claim approved")
    CLAIM_REJECT = "claim.reject", _("Purchase claim rejected")
    INVOICE_ACCEPT = "invoice.accept", _("POS invoice assigned")
    STAFF_CREATE = "staff.create", _("Staff account created")
    API_KEY_CREATE = "api_key.create", _("API key created")
    API_KEY_REVOKE = "api_key.revoke", _("API key revoked")


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnly("audit entries are never changed")

    def delete(self):
        raise AppendOnly("audit entries are never deleted")

    def redact(self, **kwargs) -> int:
        """The sanctioned rewrite (anonymisation), only inside `guard.redacting()`."""
        return super().update(**kwargs)


class AuditEntry(models.Model):
    id = models.BigAutoField(primary_key=True)
    # No foreign keys: the trail outlives what it names (a deleted user or branch must neither be
    # refused for it nor rewrite it), and names are copied at the time of the action.
    merchant_id = models.UUIDField(null=True, db_index=False)
    merchant_name = models.CharField(max_length=200, blank=True)
    actor_kind = models.CharField(max_length=10, choices=ActorKind.choices)
    actor_id = models.CharField(max_length=64, blank=True)  # a user's id, or an API key's
    actor_name = models.CharField(max_length=150, blank=True)  # username, key name, command
    branch_id = models.UUIDField(null=True)
    branch_name = models.CharField(max_length=200, blank=True)
    ip_address = models.GenericIPAddressField(null=True)
    user_agent = models.CharField(max_length=120, blank=True)
    action = models.CharField(max_length=40)
    target_type = models.CharField(max_length=40, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=200, blank=True)
    # The customer the action touched, if any: what anonymisation redacts (docs/audit.md).
    customer_id = models.UUIDField(null=True)
    before = models.JSONField(null=True, encoder=DjangoJSONEncoder)
    after = models.JSONField(null=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField()

    objects = AuditQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        indexes = [
            models.Index(fields=["merchant_id", "-created_at", "-id"], name="audit_merchant_time"),
            models.Index(fields=["merchant_id", "action", "-created_at"], name="audit_action"),
            models.Index(fields=["merchant_id", "actor_id", "-created_at"], name="audit_actor"),
            models.Index(fields=["customer_id"], name="audit_customer"),
            models.Index(fields=["-created_at", "-id"], name="audit_network_time"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.actor_name}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnly("an audit entry is never changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnly("an audit entry is never deleted")
