"""R1 promotions and R2 gifts: what a merchant offers beyond the plain points rule."""

import datetime as dt
import uuid
from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from lealtad.core.numbers import format_percent, format_points
from lealtad.customers.models import Membership
from lealtad.ledger.models import Transaction
from lealtad.network.models import Branch, Merchant, User
from lealtad.program.models import Category, Reward


class PromotionKind(models.TextChoices):
    SPECIAL_PRICE = "special_price", _("A prize at a special points price")
    MULTIPLIER = "multiplier", _("Points multiplier on accrual")
    BONUS = "bonus", _("Fixed bonus on accrual")
    FREE_ITEM = "free_item", _("A free item")


class Target(models.TextChoices):
    EVERYONE = "everyone", _("Everyone")
    CATEGORIES = "categories", _("Customers of some categories")
    BIRTHDAY = "birthday", _("Customers in their birthday month")
    CUSTOMERS = "customers", _("Chosen customers")
    # A6: customers who marked the merchant as favourite in the app (lealtad.favourites).
    FAVOURITES = "favourites", _("Customers who marked us as favourite")


class Promotion(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="promotions")
    name = models.CharField(_("name"), max_length=120)
    description = models.CharField(_("description"), max_length=500, blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=PromotionKind.choices)
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"))
    target = models.CharField(
        _("for"), max_length=12, choices=Target.choices, default=Target.EVERYONE
    )
    categories = models.ManyToManyField(
        Category, blank=True, related_name="promotions", verbose_name=_("categories")
    )
    members = models.ManyToManyField(Membership, blank=True, related_name="promotions")
    reward = models.ForeignKey(
        Reward,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="promotions",
        verbose_name=_("prize"),
    )
    special_price = models.PositiveIntegerField(
        _("special price (points)"), null=True, blank=True, validators=[MinValueValidator(1)]
    )
    multiplier = models.DecimalField(
        _("multiplier"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("1.01")), MaxValueValidator(Decimal("100"))],
    )
    bonus_points = models.PositiveIntegerField(
        _("bonus points"), null=True, blank=True, validators=[MinValueValidator(1)]
    )
    item = models.CharField(_("free item"), max_length=120, blank=True)
    min_amount = models.DecimalField(
        _("minimum purchase"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    uses_per_customer = models.PositiveIntegerField(
        _("times each customer may take it"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_on", "name"]
        indexes = [models.Index(fields=["merchant", "ends_on"])]
        # The forms' ranges, held by the database too (as the categories' factor and the
        # rules' limits are): a 0 or negative setting silently means nothing, or everything.
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")), name="promo_window"
            ),
            models.CheckConstraint(
                condition=Q(multiplier__isnull=True) | Q(multiplier__gt=1, multiplier__lte=100),
                name="promo_multiplier_1_100",
            ),
            models.CheckConstraint(
                condition=Q(bonus_points__isnull=True) | Q(bonus_points__gte=1),
                name="promo_bonus_gte_1",
            ),
            models.CheckConstraint(
                condition=Q(special_price__isnull=True) | Q(special_price__gte=1),
                name="promo_special_price_gte_1",
            ),
            models.CheckConstraint(
                condition=Q(min_amount__isnull=True) | Q(min_amount__gte=0),
                name="promo_min_amount_gte_0",
            ),
            models.CheckConstraint(
                condition=Q(uses_per_customer__isnull=True) | Q(uses_per_customer__gte=1),
                name="promo_uses_gte_1",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PromotionUse(models.Model):
    """One time a customer took a promotion: a bonus inside an accrual, a prize at the special
    price, or a free item handed over at the till."""

    promotion = models.ForeignKey(Promotion, on_delete=models.PROTECT, related_name="uses")
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    transaction = models.ForeignKey(
        Transaction, null=True, blank=True, on_delete=models.PROTECT, related_name="promotion_uses"
    )
    points = models.IntegerField(default=0)  # extra points the promotion added (accruals)
    branch = models.ForeignKey(Branch, null=True, on_delete=models.PROTECT, related_name="+")
    staff = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["promotion", "membership"])]


class GiftKind(models.TextChoices):
    PRODUCT = "product", _("Product")
    POINTS = "points", _("Points")
    DISCOUNT = "discount", _("Discount")


class Gift(models.Model):
    """R2: an entry of the merchant's gift catalog."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="gifts")
    name = models.CharField(_("name"), max_length=120)
    description = models.CharField(_("description"), max_length=500, blank=True)
    kind = models.CharField(_("kind"), max_length=8, choices=GiftKind.choices)
    points = models.PositiveIntegerField(
        _("points"), null=True, blank=True, validators=[MinValueValidator(1)]
    )
    discount_percent = models.DecimalField(
        _("discount (%)"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("100"))],
    )
    valid_days = models.PositiveIntegerField(
        _("valid for (days after it is offered)"),
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(3660)],
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "name"], name="gift_unique_name"),
            models.CheckConstraint(
                condition=~Q(kind="points") | Q(points__isnull=False), name="gift_points_has_points"
            ),
            models.CheckConstraint(
                condition=~Q(kind="discount") | Q(discount_percent__isnull=False),
                name="gift_discount_has_percent",
            ),
            models.CheckConstraint(
                condition=Q(points__isnull=True) | Q(points__gte=1), name="gift_points_gte_1"
            ),
            models.CheckConstraint(
                condition=Q(discount_percent__isnull=True)
                | Q(discount_percent__gt=0, discount_percent__lte=100),
                name="gift_discount_0_100",
            ),
            models.CheckConstraint(
                condition=Q(valid_days__gte=1, valid_days__lte=3660), name="gift_valid_days_range"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def summary(self) -> str:
        if self.kind == GiftKind.POINTS:
            return ngettext("%(points)s point", "%(points)s points", self.points) % {
                "points": format_points(self.points)
            }
        if self.kind == GiftKind.DISCOUNT:
            return _("%(percent)s off") % {"percent": format_percent(self.discount_percent)}
        return self.description or self.name


class GiftStatus(models.TextChoices):
    OFFERED = "offered", _("Offered")
    REDEEMED = "redeemed", _("Redeemed")
    EXPIRED = "expired", _("Expired")


class GiftOffer(models.Model):
    """A gift offered to one customer: offered, then redeemed or expired."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    gift = models.ForeignKey(Gift, on_delete=models.PROTECT, related_name="offers")
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="gifts")
    status = models.CharField(max_length=8, choices=GiftStatus.choices, default=GiftStatus.OFFERED)
    note = models.CharField(_("note"), max_length=300, blank=True)
    offered_at = models.DateTimeField()
    offered_by = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+")
    expires_at = models.DateTimeField()
    redeemed_at = models.DateTimeField(null=True, blank=True)
    redeemed_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    branch = models.ForeignKey(
        Branch, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The points gift's credit in the ledger.
    transaction = models.OneToOneField(
        Transaction, null=True, blank=True, on_delete=models.PROTECT, related_name="gift"
    )

    class Meta:
        ordering = ["-offered_at"]
        indexes = [models.Index(fields=["membership", "status"])]

    @property
    def valid_until(self):
        """The last moment it can be taken (offers run to the end of their last day)."""
        return self.expires_at - dt.timedelta(seconds=1)

    def status_at(self, now) -> str:
        """The status as the customer sees it: an offer past its date is expired even before
        the nightly job writes it down."""
        if self.status == GiftStatus.OFFERED and self.expires_at <= now:
            return GiftStatus.EXPIRED
        return self.status

    def get_status_at_display(self, now) -> str:
        return GiftStatus(self.status_at(now)).label
