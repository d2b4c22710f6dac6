"""F6: the automatic reply goes once to each detractor who left no comment, a few minutes after
the rating, when the merchant switched it on; it shows in the conversation."""

import datetime as dt

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from lealtad.core import errors
from lealtad.notifications import engine
from lealtad.notifications.models import Event, OutgoingEmail
from lealtad.ratings import actions
from lealtad.ratings.models import AutoReply, Message
from lealtad.ratings.tests import helpers

pytestmark = pytest.mark.django_db
LATER = dt.timedelta(minutes=6)


@pytest.fixture
def shop():
    shop = helpers.shop(rating_invite=False)
    actions.save_auto_reply(
        shop.merchant,
        subject="Queremos saber qué pasó",
        body="Lamentamos que tu visita no fuera buena. ¿Nos cuentas?",
        enabled=True,
    )
    return shop


def rate(shop, score, comment="", now=None):
    return actions.rate_visit(helpers.visit(shop), score=score, comment=comment, now=now)


def auto_emails():
    return OutgoingEmail.objects.filter(event=Event.AUTO_REPLY)


def test_a_silent_detractor_gets_it_once_after_the_delay(shop):
    now = timezone.now()
    rating = rate(shop, 3, now=now)
    task = DBTaskResult.objects.get(task_path="lealtad.ratings.tasks.auto_reply")
    assert task.run_after == now + dt.timedelta(seconds=300)
    assert actions.send_auto_replies(now=now + dt.timedelta(minutes=4)) == 0  # too soon
    assert actions.send_auto_replies(now=now + LATER) == 1
    assert actions.send_auto_replies(now=now + LATER) == 0
    assert actions.send_auto_reply(rating.pk, now=now + LATER) is False
    email = auto_emails().get()
    assert (email.to, email.subject) == (rating.customer.email, "Queremos saber qué pasó")
    assert "¿Nos cuentas?" in email.body and "/rate/" in email.body
    message = Message.objects.get(rating=rating)
    assert message.automatic and message.author == "merchant" and message.staff is None
    rating.refresh_from_db()
    assert rating.auto_replied_at == now + LATER


def test_not_to_a_commenter_nor_to_seven_and_up(shop):
    now = timezone.now()
    rate(shop, 2, "El pan estaba duro", now=now)
    rate(shop, 7, now=now)
    rate(shop, 10, now=now)
    assert actions.send_auto_replies(now=now + LATER) == 0
    assert not auto_emails().exists() and not Message.objects.exists()


def test_not_when_switched_off_nor_to_old_ratings(shop):
    now = timezone.now()
    AutoReply.objects.filter(merchant=shop.merchant).update(enabled=False)
    rate(shop, 1, now=now)
    assert actions.send_auto_replies(now=now + LATER) == 0
    AutoReply.objects.filter(merchant=shop.merchant).update(enabled=True)
    # Switching it on answers the recent silence, not every detractor of the past.
    assert actions.send_auto_replies(now=now + dt.timedelta(days=3)) == 0
    assert actions.send_auto_replies(now=now + LATER) == 1


def test_not_when_the_merchant_already_answered(shop):
    now = timezone.now()
    rating = rate(shop, 4, now=now)
    actions.reply(rating, body="Hola, ¿qué pasó?", staff=shop.admin, now=now)
    assert actions.send_auto_replies(now=now + LATER) == 0


def test_the_periodic_job_runs_every_minute():
    job = next(j for j in engine.PERIODIC if j.name == "rating-auto-replies")
    assert job.every == dt.timedelta(minutes=1)
    assert job.task().name == "auto_replies"


def test_saving_the_auto_reply_checks_its_text(shop):
    for subject, body in (("", "x"), ("x" * 151, "x"), ("Hola", ""), ("Hola", "x" * 10_000)):
        with pytest.raises(errors.ValidationFailed):
            actions.save_auto_reply(shop.merchant, subject=subject, body=body, enabled=True)
    auto = AutoReply.objects.get(merchant=shop.merchant)
    assert auto.subject == "Queremos saber qué pasó"  # unchanged
    actions.save_auto_reply(shop.merchant, subject=" Nuevo ", body=" Texto ", enabled=False)
    auto.refresh_from_db()
    assert (auto.subject, auto.body, auto.enabled) == ("Nuevo", "Texto", False)


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_sends_it_when_its_task_is_due(settings):
    from lealtad.notifications.tests.test_tasks import run_worker

    settings.RATING_AUTO_REPLY_DELAY_SECONDS = 0
    shop = helpers.shop(rating_invite=False)
    actions.save_auto_reply(shop.merchant, subject="Hola", body="¿Qué pasó?", enabled=True)
    rating = actions.rate_visit(helpers.visit(shop), score=1)
    run_worker()
    rating.refresh_from_db()
    assert rating.auto_replied_at is not None
    assert Message.objects.get(rating=rating).automatic
    email = auto_emails().get()
    assert email.sent_at is not None  # the same worker ran its send task
