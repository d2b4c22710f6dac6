from django.db import models

from lealtad.customers.models import Customer
from lealtad.network.models import Merchant


class IdempotencyRecord(models.Model):
    """The first response to a POST sent with an Idempotency-Key, kept 24 hours.

    Written in the transaction that did the work (see idempotency.py): a row exists only for a
    request that finished, so `completed` is always true. Which of several simultaneous requests
    does the work is decided by a lock held for that transaction; the constraint is the backstop.

    A key belongs to exactly one owner: a merchant (POS keys and staff tokens, `credential` says
    which) or a customer (the customer's own API, /api/v1/me*, `credential` is `customer:<id>`).
    """

    merchant = models.ForeignKey(
        Merchant, on_delete=models.CASCADE, related_name="+", null=True, blank=True
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="+", null=True, blank=True
    )
    # `apikey:<id>`, `user:<id>` or `customer:<id>`: a response is replayed only to the
    # credential that caused it.
    credential = models.CharField(max_length=64, default="")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    completed = models.BooleanField(default=False)
    status_code = models.PositiveSmallIntegerField(null=True)
    response_body = models.BinaryField(null=True)
    content_type = models.CharField(max_length=80, blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "credential", "key"],
                name="idempotency_unique_key_per_credential",
            ),
            models.UniqueConstraint(
                fields=["customer", "key"],
                condition=models.Q(customer__isnull=False),
                name="idempotency_unique_key_per_customer",
            ),
            models.CheckConstraint(
                condition=models.Q(merchant__isnull=False, customer__isnull=True)
                | models.Q(merchant__isnull=True, customer__isnull=False),
                name="idempotency_one_owner",
            ),
        ]
