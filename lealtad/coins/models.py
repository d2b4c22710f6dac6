"""The coins package's own rows (the wallet itself is a ledger Account of kind COINS)."""

import uuid

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from lealtad.network.models import Merchant


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
