"""A6: merchants a customer marked as favourite in the app. A favourite receives the merchant's
offers: promotions aimed at "customers who marked us as favourite" (offers.Target.FAVOURITES)."""

from django.db import models

from lealtad.customers.models import Customer
from lealtad.network.models import Merchant


class Favourite(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="favourites")
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="favoured_by")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "merchant"], name="favourite_unique"),
        ]
        indexes = [models.Index(fields=["merchant"], name="favourite_merchant_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id} ♥ {self.merchant_id}"
