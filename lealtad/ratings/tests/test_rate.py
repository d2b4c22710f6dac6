"""F1: a posted visit is rated once, 1 to 10, with an optional comment; bad input writes nothing."""

import pytest
from django.db import transaction

from lealtad.core import errors, testing
from lealtad.ledger import actions as ledger
from lealtad.ratings import actions
from lealtad.ratings.models import Rating
from lealtad.ratings.tests import helpers

pytestmark = pytest.mark.django_db


def test_a_visit_is_rated_with_its_date_branch_and_customer():
    shop = helpers.shop()
    txn = helpers.visit(shop)
    rating = actions.rate_visit(txn, score=9, comment="  Muy buen café  ")
    assert (rating.merchant, rating.branch, rating.customer_id, rating.transaction) == (
        shop.merchant,
        shop.branch,
        txn.customer_id,
        txn,
    )
    assert (rating.score, rating.comment, rating.source, rating.colour) == (
        9,
        "Muy buen café",
        "email",
        "green",
    )
    assert rating.comment_read_at is None and not rating.gifted


def test_a_visit_is_rated_once():
    txn = helpers.visit(helpers.shop())
    actions.rate_visit(txn, score=8)
    with pytest.raises(errors.AlreadyRated) as refused:
        actions.rate_visit(txn, score=3, comment="otra vez")
    assert (refused.value.code, refused.value.status) == ("already_rated", 409)
    assert list(Rating.objects.values_list("score", flat=True)) == [8]


@pytest.mark.parametrize("score", [0, 11, "7", 7.5, None, True, -1])
def test_a_score_outside_1_to_10_is_refused(score):
    txn = helpers.visit(helpers.shop())
    with pytest.raises(errors.ValidationFailed) as refused:
        actions.rate_visit(txn, score=score)
    assert refused.value.errors[0]["field"] == "score"
    assert not Rating.objects.exists()


def test_a_comment_of_10000_characters_is_refused():
    txn = helpers.visit(helpers.shop())
    with pytest.raises(errors.ValidationFailed) as refused:
        actions.rate_visit(txn, score=5, comment="x" * 10_000)
    assert refused.value.errors[0]["field"] == "comment"
    assert not Rating.objects.exists()
    assert actions.rate_visit(txn, score=5, comment="x" * 2000).comment == "x" * 2000


def test_html_in_a_comment_is_kept_as_text():
    txn = helpers.visit(helpers.shop())
    rating = actions.rate_visit(txn, score=2, comment="<script>alert(1)</script>")
    assert rating.comment == "<script>alert(1)</script>"


def test_only_posted_visits_with_a_customer_can_be_rated():
    from lealtad.program.models import AuditMode

    shop = helpers.shop()
    member = testing.make_customer(shop).membership
    member.category.audit_mode = AuditMode.MANUAL
    member.category.save()
    held = helpers.visit(shop, member)
    with pytest.raises(errors.NotFound):
        actions.rate_visit(held, score=9)  # awaiting approval: not a visit yet
    adjustment = ledger.adjust_points(
        membership=member, points=10, reason="ajuste", staff=shop.admin
    ).transaction
    with pytest.raises(errors.NotFound):
        actions.rate_visit(adjustment, score=9)
    assert not Rating.objects.exists()


def test_someone_elses_visit_is_not_found():
    shop = helpers.shop()
    txn = helpers.visit(shop)
    stranger = testing.make_customer(shop).customer
    with pytest.raises(errors.NotFound):
        actions.get_visit_for(stranger, txn.pk)
    with pytest.raises(errors.NotFound):
        actions.rate_visit(txn, score=9, customer=stranger)
    assert not Rating.objects.exists()
    assert actions.get_visit_for(txn.customer, txn.pk) == txn


def test_another_merchants_rating_is_not_found():
    shop, other = helpers.shop(), helpers.shop()
    rating = actions.rate_visit(helpers.visit(shop), score=4, comment="lento")
    with pytest.raises(errors.NotFound):
        actions.get_rating_for(other.merchant, rating.pk)
    with pytest.raises(errors.NotFound):
        actions.get_rating_for(other.merchant, "not-an-id")
    with pytest.raises(errors.NotFound):
        actions.mark_read(rating, staff=other.admin)
    with pytest.raises(errors.NotFound):
        actions.reply(rating, body="hola", staff=other.admin)
    assert actions.get_rating_for(shop.merchant, rating.pk) == rating
    assert not rating.messages.exists()


def test_a_rating_rolled_back_with_its_transaction_leaves_nothing():
    txn = helpers.visit(helpers.shop())
    with pytest.raises(RuntimeError), transaction.atomic():
        actions.rate_visit(txn, score=3)
        raise RuntimeError("what followed failed")
    assert not Rating.objects.exists()
    assert actions.rate_visit(txn, score=3).score == 3


def test_redemptions_and_coin_payments_are_visits_too():
    shop = helpers.shop()
    member = testing.make_customer(shop).membership
    helpers.visit(shop, member, amount="300000")
    reward = testing.make_reward(shop, cost=50)
    redemption = ledger.redeem_reward(
        membership=member, reward_id=reward.pk, branch=shop.branch
    ).transaction
    assert actions.rate_visit(redemption, score=10).transaction == redemption


def test_a_rating_emits_rating_received_in_its_transaction(settings):
    from lealtad.webhooks import actions as webhooks
    from lealtad.webhooks.models import Delivery, Event

    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    shop = helpers.shop(rating_invite=False)
    endpoint, _secret = webhooks.create_endpoint(
        shop.merchant, url="http://127.0.0.1:8117/hook", events=["rating.received"]
    )
    txn = helpers.visit(shop)
    with pytest.raises(RuntimeError), transaction.atomic():
        actions.rate_visit(txn, score=4)
        raise RuntimeError("rolled back")
    assert not Event.objects.filter(type="rating.received").exists()
    rating = actions.rate_visit(txn, score=4, comment="Frío")
    event = Event.objects.get(type="rating.received")
    assert event.payload["data"] == {
        "id": str(rating.pk),
        "score": 4,
        "comment": "Frío",
        "customer_id": str(txn.customer_id),
        "transaction_id": str(txn.pk),
        "branch_id": str(shop.branch.pk),
        "source": "email",
        "at": rating.created_at.isoformat(),
    }
    assert Delivery.objects.get(event=event).endpoint == endpoint
