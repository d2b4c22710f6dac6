from django.db import models

from lealtad.network.models import Merchant


class IdempotencyRecord(models.Model):
    """The first response to a POST sent with an Idempotency-Key, kept 24 hours.

    The unique constraint (not a lookup) decides which of several simultaneous requests with one
    key does the work: the others find the row and answer from it, or 409 while it runs.
    """

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="+")
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
            models.UniqueConstraint(fields=["merchant", "key"], name="idempotency_unique_key"),
        ]
