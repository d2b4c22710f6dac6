"""I4: the every-minute sweep gives a new task only to a delivery that lost its own."""

from datetime import timedelta

import pytest
from django.db.models import Q
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from lealtad.core import testing
from lealtad.webhooks import delivery
from lealtad.webhooks.actions import create_endpoint
from lealtad.webhooks.models import Delivery
from lealtad.webhooks.tests.helpers import emit_accrual

pytestmark = pytest.mark.django_db


@pytest.fixture
def due_long_ago():
    shop = testing.make_merchant().merchant
    create_endpoint(shop, url="https://93.184.215.14/h", events=["accrual.posted"])
    emit_accrual(shop)
    row = Delivery.objects.get()
    Delivery.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now() - timedelta(hours=1))
    return row


def tasks_for(row):
    """The delivery's own tasks, and its event's first-attempts task (deliver_event)."""
    return DBTaskResult.objects.filter(
        Q(task_path=delivery.TASK_PATH, args_kwargs__args=[row.pk])
        | Q(task_path=delivery.EVENT_TASK_PATH, args_kwargs__args=[row.event_id])
    )


def test_a_delivery_whose_task_still_waits_gets_no_second_one(due_long_ago):
    assert tasks_for(due_long_ago).count() == 1  # a busy queue: its task has not run yet
    assert delivery.resend_stuck() == 0
    assert tasks_for(due_long_ago).count() == 1


def test_a_delivery_whose_task_was_lost_gets_a_new_one(due_long_ago):
    tasks_for(due_long_ago).update(status="RUNNING")  # what a killed worker leaves
    assert delivery.resend_stuck() == 1
    assert tasks_for(due_long_ago).filter(status="READY").count() == 1
    assert delivery.resend_stuck() == 0  # and not again while that one waits


def test_a_leased_or_recent_delivery_is_left_alone(due_long_ago):
    tasks_for(due_long_ago).delete()
    Delivery.objects.filter(pk=due_long_ago.pk).update(
        leased_until=timezone.now() + timedelta(seconds=20)
    )
    assert delivery.resend_stuck() == 0  # a worker may still be sending it
    Delivery.objects.filter(pk=due_long_ago.pk).update(
        leased_until=None, next_attempt_at=timezone.now() - timedelta(seconds=2)
    )
    assert delivery.resend_stuck() == 0  # due just now: its task is on its way
    Delivery.objects.filter(pk=due_long_ago.pk).update(status="delivered")
    assert delivery.resend_stuck(now=timezone.now() + timedelta(hours=1)) == 0
