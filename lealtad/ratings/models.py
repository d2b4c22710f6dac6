"""F1–F6: a customer's rating of one visit, the conversation on it and the merchant's
automatic reply to detractors who said nothing."""

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from lealtad.customers.models import Customer
from lealtad.ledger.models import Transaction
from lealtad.network.models import Branch, Merchant, User
from lealtad.offers.models import GiftOffer

MAX_TEXT = 2000
DETRACTOR_MAX = 6  # F6/F7: 1–6 detractors, 7–8 passives, 9–10 promoters
PROMOTER_MIN = 9


class Source(models.TextChoices):
    EMAIL = "email", _("E-mail invitation")
    APP = "app", _("Customer app")


class Author(models.TextChoices):
    MERCHANT = "merchant", _("Merchant")
    CUSTOMER = "customer", _("Customer")


class Rating(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="ratings")
    branch = models.ForeignKey(Branch, null=True, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="ratings")
    # One rating per visit: the constraint, not a lookup, refuses the second.
    transaction = models.OneToOneField(Transaction, on_delete=models.PROTECT, related_name="rating")
    score = models.PositiveSmallIntegerField(_("score"))
    comment = models.TextField(_("comment"), blank=True, max_length=MAX_TEXT)
    created_at = models.DateTimeField()
    # The merchant opened it (the comment was read); null: unread.
    comment_read_at = models.DateTimeField(null=True, blank=True)
    # A merchant reply carried a gift (marked in the inbox's list).
    gifted = models.BooleanField(default=False)
    # F6: when the automatic reply was taken for it (sent once, whoever runs the job).
    auto_replied_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.EMAIL)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(score__gte=1, score__lte=10), name="rating_score_1_10"
            ),
        ]
        indexes = [
            models.Index(fields=["merchant", "-created_at"], name="rating_merchant_date"),
            models.Index(fields=["merchant", "score"], name="rating_merchant_score"),
            models.Index(
                fields=["merchant", "branch", "-created_at"], name="rating_merchant_branch_date"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.score} · {self.customer_id}"

    @property
    def colour(self) -> str:
        if self.score >= PROMOTER_MIN:
            return "green"
        return "red" if self.score <= DETRACTOR_MAX else "yellow"


class Message(models.Model):
    rating = models.ForeignKey(Rating, on_delete=models.CASCADE, related_name="messages")
    author = models.CharField(max_length=8, choices=Author.choices)
    body = models.TextField(max_length=MAX_TEXT)
    staff = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    gift_offer = models.ForeignKey(
        GiftOffer, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    automatic = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    # Read by the other side (the customer for the merchant's, the merchant for the customer's).
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["rating", "created_at"], name="message_rating_date")]

    def __str__(self) -> str:
        return f"{self.author}: {self.body[:40]}"


SCORES = range(1, 11)


class RatingDay(models.Model):
    """F2/F7: the inbox's counters and the score distribution of one merchant's ratings of one
    day (its own calendar) at one branch, kept by ratings.counters in the transaction of every
    change, so the inbox's header and the NPS read a few hundred rows, not every rating.
    Replies count against the rating's day, as the inbox's filters do."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="+")
    branch = models.ForeignKey(Branch, null=True, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    ratings = models.PositiveIntegerField(default=0)
    comments = models.PositiveIntegerField(default=0)
    replies = models.PositiveIntegerField(default=0)
    unread = models.PositiveIntegerField(default=0)
    score_1 = models.PositiveIntegerField(default=0)
    score_2 = models.PositiveIntegerField(default=0)
    score_3 = models.PositiveIntegerField(default=0)
    score_4 = models.PositiveIntegerField(default=0)
    score_5 = models.PositiveIntegerField(default=0)
    score_6 = models.PositiveIntegerField(default=0)
    score_7 = models.PositiveIntegerField(default=0)
    score_8 = models.PositiveIntegerField(default=0)
    score_9 = models.PositiveIntegerField(default=0)
    score_10 = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "branch", "day"],
                condition=Q(branch__isnull=False),
                name="rating_day_once",
            ),
            models.UniqueConstraint(
                fields=["merchant", "day"],
                condition=Q(branch__isnull=True),
                name="rating_day_once_no_branch",
            ),
        ]
        indexes = [models.Index(fields=["merchant", "day"], name="rating_day_merchant")]

    def __str__(self) -> str:
        return f"{self.day} · {self.ratings}"


class AutoReply(models.Model):
    """F6: the e-mail sent once to each detractor who left no comment, when `enabled`."""

    merchant = models.OneToOneField(Merchant, on_delete=models.CASCADE, related_name="auto_reply")
    subject = models.CharField(_("subject"), max_length=150)
    body = models.TextField(_("message"), max_length=MAX_TEXT)
    enabled = models.BooleanField(_("enabled"), default=False)
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.subject
