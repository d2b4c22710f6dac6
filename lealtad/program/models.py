import uuid
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from lealtad.network.models import Merchant


def greater_than_zero(value) -> None:
    """A factor or a limit of 0 is never what a merchant means: it silently turns a category's
    points, or a rule, into nothing (the database refuses it too)."""
    if value is not None and value <= 0:
        raise ValidationError(_("Must be greater than zero."), code="min_value")


class AuditMode(models.TextChoices):
    DEFAULT_RULES = "default", _("Merchant's fraud rules")
    MANUAL = "manual", _("Every accrual needs approval")
    NO_RULES = "none", _("No fraud rules")
    OWN_RULES = "own", _("The category's own rules")


class Category(models.Model):
    """C6: a customer category at one merchant."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="categories")
    name = models.CharField(_("name"), max_length=80)
    description = models.CharField(_("description"), max_length=300, blank=True)
    multiplier = models.DecimalField(
        _("multiplier"),
        max_digits=6,
        decimal_places=2,
        default=Decimal("1"),
        validators=[greater_than_zero],
    )
    validity_days = models.PositiveIntegerField(
        _("points validity (days)"), null=True, blank=True, validators=[MinValueValidator(1)]
    )
    audit_mode = models.CharField(
        _("audit parameter"),
        max_length=10,
        choices=AuditMode.choices,
        default=AuditMode.DEFAULT_RULES,
    )
    active = models.BooleanField(_("active"), default=True)
    is_default = models.BooleanField(default=False)

    class Meta:
        verbose_name_plural = "categories"
        constraints = [
            models.UniqueConstraint(fields=["merchant", "name"], name="category_unique_name"),
            models.UniqueConstraint(
                fields=["merchant"], condition=Q(is_default=True), name="category_one_default"
            ),
            models.CheckConstraint(condition=Q(multiplier__gt=0), name="category_multiplier_gt_0"),
            models.CheckConstraint(
                condition=Q(validity_days__isnull=True) | Q(validity_days__gte=1),
                name="category_validity_days_gte_1",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Reward(models.Model):
    """P5: a prize in the merchant's prize table."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="rewards")
    name = models.CharField(_("name"), max_length=120)
    description = models.CharField(_("description"), max_length=500, blank=True)
    picture = models.FileField(_("picture"), upload_to="rewards/", blank=True)
    points_cost = models.PositiveIntegerField(_("points cost"), validators=[MinValueValidator(1)])
    # None means unlimited.
    stock = models.PositiveIntegerField(_("stock"), null=True, blank=True)
    valid_from = models.DateField(null=True, blank=True)
    valid_until = models.DateField(null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["points_cost", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(points_cost__gt=0), name="reward_cost_gt_0"),
            models.CheckConstraint(
                condition=Q(stock__isnull=True) | Q(stock__gte=0), name="reward_stock_gte_0"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class RuleKind(models.TextChoices):
    MAX_INVOICE_AMOUNT = "max_invoice_amount", _("Maximum invoice amount")
    MAX_ACCRUALS_PER_DAY = "max_accruals_per_day", _("Maximum accruals per customer per day")
    MIN_MINUTES_BETWEEN = "min_minutes_between", _("Minimum minutes between a customer's accruals")
    MAX_POINTS_PER_DAY = "max_points_per_day", _("Maximum points per customer per day")


class RuleAction(models.TextChoices):
    HOLD = "hold", _("Hold for approval")
    REFUSE = "refuse", _("Refuse")


class FraudRule(models.Model):
    """P9: one limit of the merchant's rules (category None) or of a category's own rules."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="fraud_rules")
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.CASCADE, related_name="fraud_rules"
    )
    kind = models.CharField(_("rule"), max_length=24, choices=RuleKind.choices)
    limit = models.DecimalField(
        _("limit"), max_digits=16, decimal_places=2, validators=[greater_than_zero]
    )
    action = models.CharField(
        _("when it fires"), max_length=8, choices=RuleAction.choices, default=RuleAction.HOLD
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "kind"],
                condition=Q(category__isnull=True),
                name="fraudrule_one_per_kind",
            ),
            models.UniqueConstraint(
                fields=["category", "kind"],
                condition=Q(category__isnull=False),
                name="fraudrule_one_per_kind_per_category",
            ),
            models.CheckConstraint(condition=Q(limit__gt=0), name="fraudrule_limit_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.shown_limit()}"

    # Rules that count (accruals, minutes, points) take whole numbers; the invoice amount is money.
    WHOLE = (
        RuleKind.MAX_ACCRUALS_PER_DAY,
        RuleKind.MIN_MINUTES_BETWEEN,
        RuleKind.MAX_POINTS_PER_DAY,
    )

    def clean(self):
        if self.kind in self.WHOLE and self.limit is not None and self.limit != int(self.limit):
            raise ValidationError({"limit": _("A whole number.")})

    def shown_limit(self) -> str:
        """The limit as people read it: "3" accruals, "1.000.000" COP, never "(3.00)"."""
        from lealtad.core import money

        merchant = self.merchant
        if self.kind in self.WHOLE:
            group = money.number_format(merchant.country, merchant.currency)[0]
            return f"{int(self.limit):,}".replace(",", group)
        return money.display_amount(self.limit, merchant.country, merchant.currency)
