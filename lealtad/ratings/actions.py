"""F1–F6: rating a visit, the conversation on it, gifts attached to a reply and the automatic
reply to silent detractors. Every function is atomic; the e-mails are outbox rows written in
the same transaction (sent by the task engine), so none tells of something rolled back."""

import datetime as dt
import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from lealtad.core.errors import AlreadyRated, NotFound, ValidationFailed
from lealtad.core.ids import parse_id
from lealtad.customers.models import Customer, Membership
from lealtad.ledger.models import Kind, Status, Transaction
from lealtad.network.models import Merchant, User
from lealtad.offers.models import Gift
from lealtad.ratings import counters, mail
from lealtad.ratings.models import (
    DETRACTOR_MAX,
    MAX_TEXT,
    Author,
    AutoReply,
    Message,
    Rating,
    Source,
)

log = logging.getLogger("lealtad.ratings")
# F1: what a customer can rate: the visits that moved value at the merchant's till or POS.
VISIT_KINDS = (Kind.ACCRUAL, Kind.REDEMPTION, Kind.COIN_PAYMENT)
# F6: the automatic reply answers recent silence only; switching it on does not write to every
# detractor of the past.
AUTO_REPLY_WINDOW = dt.timedelta(days=2)


# --- access helpers ------------------------------------------------------------------------


def is_visit(txn: Transaction) -> bool:
    return (
        txn.kind in VISIT_KINDS
        and txn.status == Status.POSTED
        and txn.merchant_id is not None
        and txn.customer_id is not None
    )


def get_visit_for(customer: Customer, transaction_id) -> Transaction:
    """The customer's own visit (the app's `POST /me/ratings`); anyone else's → 404."""
    try:
        txn = Transaction.objects.select_related("merchant", "branch", "customer").get(
            pk=parse_id(transaction_id), customer=customer
        )
    except Transaction.DoesNotExist:
        raise NotFound(_("Visit not found.")) from None
    if not is_visit(txn):
        raise NotFound(_("Visit not found."))
    return txn


def get_rating_for(merchant: Merchant, rating_id) -> Rating:
    """A rating of this merchant; another merchant's → 404."""
    try:
        return Rating.objects.select_related("customer", "branch", "transaction").get(
            pk=parse_id(rating_id), merchant=merchant
        )
    except Rating.DoesNotExist:
        raise NotFound(_("Rating not found.")) from None


# --- input ---------------------------------------------------------------------------------


def clean_score(score) -> int:
    # An int and nothing else: "7", 7.5, True and None are the caller's mistakes, not scores.
    if type(score) is not int or not 1 <= score <= 10:
        raise ValidationFailed([{"field": "score", "message": _("Choose a score from 1 to 10.")}])
    return score


def clean_text(text, field: str, *, required: bool) -> str:
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise ValidationFailed([{"field": field, "message": _("Write it as text.")}])
    text = text.strip()
    if required and not text:
        raise ValidationFailed([{"field": field, "message": _("Write a message.")}])
    if len(text) > MAX_TEXT:
        raise ValidationFailed(
            [
                {
                    "field": field,
                    "message": _("At most %(max)s characters (this one has %(count)s).")
                    % {"max": MAX_TEXT, "count": len(text)},
                }
            ]
        )
    if "\x00" in text:
        raise ValidationFailed([{"field": field, "message": _("Write it as text.")}])
    return text


# --- rating --------------------------------------------------------------------------------


def rate_visit(
    transaction_: Transaction,
    *,
    score,
    comment="",
    source: str = Source.EMAIL,
    customer: Customer | None = None,
    now=None,
) -> Rating:
    """F1: the customer rates one posted visit, once. `customer`, when given (the app), must be
    the visit's. A second rating of the visit, even at the same instant, is refused by the
    one-to-one constraint (AlreadyRated, 409) and writes nothing."""
    now = now or timezone.now()
    txn = transaction_
    if not is_visit(txn) or (customer is not None and txn.customer_id != customer.pk):
        raise NotFound(_("Visit not found."))
    score = clean_score(score)
    comment = clean_text(comment, "comment", required=False)
    if source not in Source.values:
        raise ValidationFailed([{"field": "source", "message": _("Unknown source.")}])
    try:
        with transaction.atomic():
            rating = Rating.objects.create(
                merchant_id=txn.merchant_id,
                branch_id=txn.branch_id,
                customer_id=txn.customer_id,
                transaction=txn,
                score=score,
                comment=comment,
                created_at=now,
                source=source,
            )
            if score <= DETRACTOR_MAX and not comment:
                _enqueue_auto_reply(rating, now)
            counters.refresh_for(rating)
            _emit_received(rating)
    except IntegrityError:
        raise AlreadyRated() from None
    return rating


def _enqueue_auto_reply(rating: Rating, now) -> None:
    from lealtad.ratings.tasks import auto_reply

    run_after = now + dt.timedelta(seconds=settings.RATING_AUTO_REPLY_DELAY_SECONDS)
    auto_reply.using(run_after=run_after).enqueue(str(rating.pk))


def _emit_received(rating: Rating) -> None:
    try:
        from lealtad.webhooks.events import emit
    except ImportError:  # the webhooks app is not on this branch
        return
    emit(
        rating.merchant,
        "rating.received",
        {
            "id": str(rating.pk),
            "score": rating.score,
            "comment": rating.comment,
            "customer_id": str(rating.customer_id),
            "transaction_id": str(rating.transaction_id),
            "branch_id": str(rating.branch_id) if rating.branch_id else None,
            "source": rating.source,
            "at": rating.created_at.isoformat(),
        },
        now=rating.created_at,
    )


# --- conversation --------------------------------------------------------------------------


def _check_staff(rating: Rating, staff: User | None) -> None:
    if staff is not None and staff.merchant_id != rating.merchant_id:
        raise NotFound(_("Rating not found."))


def reply(
    rating: Rating,
    *,
    body,
    staff: User | None,
    gift: Gift | None = None,
    new_gift: dict | None = None,
    now=None,
) -> Message:
    """F4/F5: the merchant answers (also when there was no comment), optionally with a gift
    from the catalog or one made on the spot; the gift becomes this customer's gift offer (the
    till sees it) and the customer is told by e-mail with the link to the conversation."""
    now = now or timezone.now()
    _check_staff(rating, staff)
    body = clean_text(body, "body", required=True)
    if gift is not None and new_gift is not None:
        raise ValidationFailed(
            [{"field": "gift", "message": _("Attach one gift: from the catalog or a new one.")}]
        )
    if gift is not None and gift.merchant_id != rating.merchant_id:
        raise NotFound(_("Gift not found."))
    # Imported here: the offers actions reach the ledger's, which invite to rate from here.
    from lealtad.offers import actions as offers

    with transaction.atomic():
        rating = (
            Rating.objects.select_for_update()
            .select_related("merchant", "customer")
            .get(pk=rating.pk)
        )
        if new_gift is not None:
            gift = offers.create_gift(rating.merchant, **new_gift)
        offer = None
        if gift is not None:
            membership = Membership.objects.filter(
                merchant_id=rating.merchant_id, customer_id=rating.customer_id
            ).first()
            if membership is None:
                raise NotFound(_("Customer not found."))
            offer = offers.offer_gift(gift=gift, membership=membership, staff=staff, now=now)
            if not rating.gifted:
                Rating.objects.filter(pk=rating.pk).update(gifted=True)
                rating.gifted = True
        message = Message.objects.create(
            rating=rating,
            author=Author.MERCHANT,
            body=body,
            staff=staff,
            gift_offer=offer,
            created_at=now,
        )
        # The merchant answering has read what the customer said.
        _mark_read(rating, Author.CUSTOMER, now)
        counters.refresh_for(rating)
        mail.reply(rating, message, now)
    return message


def customer_reply(rating: Rating, *, body, now=None) -> Message:
    """F4: the customer answers from the signed page (later from the app)."""
    now = now or timezone.now()
    body = clean_text(body, "body", required=True)
    with transaction.atomic():
        message = Message.objects.create(
            rating=rating, author=Author.CUSTOMER, body=body, created_at=now
        )
        _mark_read(rating, Author.MERCHANT, now)
        counters.refresh_for(rating)
    return message


def mark_read(rating: Rating, *, staff: User | None, now=None) -> int:
    """F4: the merchant opened the rating: its comment and the customer's messages are read.
    Returns how many things became read (0 when it was already)."""
    now = now or timezone.now()
    _check_staff(rating, staff)
    with transaction.atomic():
        count = _mark_read(rating, Author.CUSTOMER, now)
        if count:
            counters.refresh_for(rating)
        return count


def customer_opened(rating: Rating, now=None) -> int:
    """The customer opened the conversation: the merchant's messages are read."""
    now = now or timezone.now()
    return Message.objects.filter(
        rating=rating, author=Author.MERCHANT, read_at__isnull=True
    ).update(read_at=now)


def _mark_read(rating: Rating, author: str, now) -> int:
    """Mark what `author` wrote as read by the other side (for the customer's side, the
    rating's comment too)."""
    count = Message.objects.filter(rating=rating, author=author, read_at__isnull=True).update(
        read_at=now
    )
    if author == Author.CUSTOMER:
        count += Rating.objects.filter(pk=rating.pk, comment_read_at__isnull=True).update(
            comment_read_at=now
        )
    return count


def last_merchant_message_at(rating: Rating):
    return (
        rating.messages.filter(author=Author.MERCHANT)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )


# --- automatic reply (F6) ------------------------------------------------------------------


def save_auto_reply(merchant: Merchant, *, subject, body, enabled: bool, now=None) -> AutoReply:
    """ "Guardar y programar": the automatic reply's text and its switch."""
    now = now or timezone.now()
    errors = []
    subject = subject.strip() if isinstance(subject, str) else ""
    if not subject:
        errors.append({"field": "subject", "message": _("Write the subject.")})
    elif len(subject) > 150:
        errors.append(
            {"field": "subject", "message": _("At most %(max)s characters.") % {"max": 150}}
        )
    try:
        body = clean_text(body, "body", required=True)
    except ValidationFailed as exc:
        errors.extend(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    auto, _created = AutoReply.objects.update_or_create(
        merchant=merchant,
        defaults={"subject": subject, "body": body, "enabled": bool(enabled), "updated_at": now},
    )
    return auto


def _due(now):
    """Silent detractors' ratings the automatic reply has not answered yet, old enough."""
    delay = dt.timedelta(seconds=settings.RATING_AUTO_REPLY_DELAY_SECONDS)
    return Rating.objects.filter(
        ~Exists(Message.objects.filter(rating=OuterRef("pk"))),
        Exists(AutoReply.objects.filter(merchant=OuterRef("merchant"), enabled=True)),
        auto_replied_at__isnull=True,
        score__lte=DETRACTOR_MAX,
        comment="",
        created_at__lte=now - delay,
        created_at__gt=now - AUTO_REPLY_WINDOW,
    )


def send_auto_reply(rating_id, now=None) -> bool:
    """Answer one silent detractor if still due. The rating is taken by a conditional UPDATE
    of `auto_replied_at`: two workers on the same rating send one reply."""
    now = now or timezone.now()
    with transaction.atomic():
        taken = _due(now).filter(pk=rating_id).update(auto_replied_at=now)
        if not taken:
            return False
        rating = Rating.objects.select_related("merchant", "customer").get(pk=rating_id)
        auto = AutoReply.objects.get(merchant_id=rating.merchant_id)
        Message.objects.create(
            rating=rating,
            author=Author.MERCHANT,
            body=f"{auto.subject}\n\n{auto.body}",
            automatic=True,
            created_at=now,
        )
        counters.refresh_for(rating)
        mail.auto_reply(rating, auto, now)
    return True


def send_auto_replies(now=None, batch: int = 500) -> int:
    """The periodic sweep (every minute): every due silent detractor gets the reply once."""
    now = now or timezone.now()
    ids = list(_due(now).order_by("created_at").values_list("pk", flat=True)[:batch])
    return sum(send_auto_reply(pk, now) for pk in ids)


# --- invitations (F1) ----------------------------------------------------------------------


def invite_after_visit(txn: Transaction, now=None):
    """Call it inside the transaction that posts a visit: when the merchant invites and the
    customer has an e-mail, the invitation is written now and sent after the merchant's delay
    (rolled back with the visit, never sent for a visit that did not happen)."""
    now = now or timezone.now()
    if not is_visit(txn):
        return None
    merchant = txn.merchant
    if not merchant.rating_invite or not txn.customer.email:
        return None
    return mail.invitation(txn, now)


# --- the customer's app (A5) ---------------------------------------------------------------

# The app offers to rate the visits of the last 30 days (the e-mail link's 7 days are the
# link's own life; a signed-in customer needs no link).
APP_RATE_WINDOW = dt.timedelta(days=30)


def rateable_visits(customer: Customer, now=None, limit: int = 50):
    """The customer's posted visits of the last 30 days that have no rating yet, newest first."""
    now = now or timezone.now()
    return list(
        Transaction.objects.select_related("merchant", "branch")
        .filter(
            customer=customer,
            kind__in=VISIT_KINDS,
            status=Status.POSTED,
            merchant__isnull=False,
            created_at__gte=now - APP_RATE_WINDOW,
            rating__isnull=True,
        )
        .order_by("-created_at")[:limit]
    )


def ratings_of(customer: Customer):
    """The customer's ratings, newest first, each with `unread`: merchant messages not read."""
    from django.db.models import Count, Q

    return (
        Rating.objects.filter(customer=customer)
        .select_related("merchant", "branch", "transaction")
        .annotate(
            unread=Count(
                "messages",
                filter=Q(messages__author=Author.MERCHANT, messages__read_at__isnull=True),
            )
        )
        .order_by("-created_at")
    )


def get_rating_of(customer: Customer, rating_id) -> Rating:
    """The customer's own rating; anyone else's → 404."""
    try:
        return Rating.objects.select_related("merchant", "branch", "transaction").get(
            pk=parse_id(rating_id), customer=customer
        )
    except (Rating.DoesNotExist, NotFound):
        raise NotFound(_("Rating not found.")) from None
