"""Issue 16: an outbox message is sent in three steps, claim → send → record (`actions.claim`,
`record_sent`, `record_failed`). What each step promises across a dead worker or a lost database
connection, one fault at a time (the crash run, test_crash_worker.py, does them all at once)."""

import asyncio
import email
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from django.db import connection, connections
from django.test import override_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from lealtad.core import testing
from lealtad.core.email_url import parse_email_url
from lealtad.notifications import actions, sms
from lealtad.notifications.models import Event, OutgoingEmail, OutgoingSms
from lealtad.notifications.tests.fake_sms import fake_twilio  # noqa: F401 (a fixture)
from lealtad.notifications.tests.test_mail import free_port

pytestmark = pytest.mark.django_db(transaction=True)


class Inbox:
    def __init__(self, on_data=None):
        self.message_ids: list[str] = []
        self.on_data = on_data

    async def handle_DATA(self, server, session, envelope):
        if self.on_data:
            await asyncio.to_thread(self.on_data)
        self.message_ids.append(email.message_from_bytes(envelope.original_content)["Message-ID"])
        return "250 OK"


def serve(inbox: Inbox):
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    return controller, override_settings(**parse_email_url(f"smtp://127.0.0.1:{controller.port}"))


def an_sms() -> OutgoingSms:
    shop = testing.make_merchant()
    return sms.queue_sms(
        "+573001234567", "Su código: 123456", purpose="test", merchant=shop.merchant
    )


def an_email() -> OutgoingEmail:
    shop = testing.make_merchant()
    return OutgoingEmail.objects.create(
        merchant=shop.merchant,
        event=Event.CODE,
        to="ana@example.com",
        subject="Su código",
        body="123456\n",
        created_at=timezone.now(),
    )


def the_worker_dies(row) -> None:
    """What a worker killed holding `row` leaves: its lease, run out."""
    type(row).objects.filter(pk=row.pk).update(leased_until=timezone.now() - timedelta(seconds=1))


def test_a_claimed_message_is_held_then_swept_once_its_lease_runs_out(fake_twilio):  # noqa: F811
    row = an_sms()
    DBTaskResult.objects.get(task_path=actions.SEND_TASKS[OutgoingSms]).claim("a-worker")
    assert actions.claim(OutgoingSms, row.pk) is not None
    assert sms.send_one(row.pk) == "done"  # another task: the holder is sending it
    assert actions.resend_stuck() == 0  # the holder may only be slow
    assert fake_twilio.requests == []
    the_worker_dies(row)
    assert actions.resend_stuck() == 1
    assert sms.send_one(row.pk) == "sent"
    row.refresh_from_db()
    assert (row.status, row.interrupted, row.leased_until, row.doubt_since) == (
        "sent",
        1,
        None,
        None,
    )
    # Interrupted before it reached the provider: asked, not found, sent once.
    assert fake_twilio.lookups == [row.to] and len(fake_twilio.messages) == 1


def test_an_sms_the_provider_took_before_its_worker_died_is_not_sent_again(fake_twilio):  # noqa: F811
    row = an_sms()
    claimed = actions.claim(OutgoingSms, row.pk)
    sid = sms.deliver(sms.provider(), claimed.to, claimed.body)  # handed over, then killed
    the_worker_dies(row)
    assert sms.send_one(row.pk) == "sent"
    row.refresh_from_db()
    assert (row.status, row.provider_id, row.interrupted) == ("sent", sid, 1)
    assert len(fake_twilio.messages) == 1  # Twilio's list said it had it
    assert fake_twilio.lookups == [row.to]


def test_an_sms_lookup_that_fails_is_retried_and_still_asks(fake_twilio, settings):  # noqa: F811
    settings.EMAIL_RETRY_FIRST_SECONDS = 1
    row = an_sms()
    actions.claim(OutgoingSms, row.pk)
    the_worker_dies(row)
    fake_twilio.fail_with = 500
    assert sms.send_one(row.pk) == "failing"
    row.refresh_from_db()
    first_doubt = row.doubt_since
    assert first_doubt is not None and row.leased_until is None
    actions.claim(OutgoingSms, row.pk)  # and its next worker dies too: the first doubt stays
    the_worker_dies(row)
    assert actions.claim(OutgoingSms, row.pk).doubt_since == first_doubt
    the_worker_dies(row)
    fake_twilio.fail_with = None
    assert sms.send_one(row.pk) == "sent"
    row.refresh_from_db()
    assert (row.interrupted, row.doubt_since) == (3, None)
    assert len(fake_twilio.lookups) == 2 and len(fake_twilio.messages) == 1


def test_an_email_sent_again_after_its_worker_died_keeps_its_message_id():
    inbox = Inbox()
    controller, mail_settings = serve(inbox)
    try:
        with mail_settings:
            row = an_email()
            claimed = actions.claim(OutgoingEmail, row.pk)
            mailer = actions._mailer()
            mailer.open()
            actions._send_message(mailer, claimed)  # the server took it; the worker was killed
            mailer.close()
            the_worker_dies(row)
            assert actions.send_one(row.pk) == "sent"
    finally:
        controller.stop()
    row.refresh_from_db()
    # SMTP cannot be asked: this is the window left (docs/tasks.md), known on the row and the
    # same message to the receiver, which drops a repeated Message-ID.
    assert row.interrupted == 1 and row.message_id.startswith("<") and "outbox" in row.message_id
    assert inbox.message_ids == [row.message_id, row.message_id]


def test_a_database_lost_after_the_send_is_recorded_not_sent_again():
    if connection.vendor != "postgresql":
        pytest.skip("pg_terminate_backend: PostgreSQL")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (sender,) = cursor.fetchone()

    def terminate_the_sender():  # while the mail server takes the message
        try:
            with connections["default"].cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s)", [sender])
        finally:
            connections["default"].close()

    inbox = Inbox(on_data=terminate_the_sender)
    controller, mail_settings = serve(inbox)
    try:
        with mail_settings:
            row = an_email()
            assert actions.send_one(row.pk) == "sent"
    finally:
        controller.stop()
    row.refresh_from_db()
    assert (row.status, row.attempts, row.interrupted) == ("sent", 1, 0)
    assert inbox.message_ids == [row.message_id]
