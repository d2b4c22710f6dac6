"""M2, M3: SMS through the outbox and the task engine to a fake Twilio that is a real HTTP
server (fake_sms.py): what it receives, an outage retried with backoff and then failed, shown to
the operator and sent again; console:// prints; the code goes by e-mail without a provider."""

import datetime as dt

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from lealtad.core import testing
from lealtad.core.sms_url import parse_sms_url
from lealtad.notifications import sms
from lealtad.notifications.models import OutgoingEmail, OutgoingSms
from lealtad.notifications.tests.fake_sms import SENDER, SID, TOKEN, fake_twilio  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)
SEND = "lealtad.notifications.tasks.send_sms"


def run_worker():
    call_command("worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)


def customer(**profile):
    shop = testing.make_merchant(email_on_join=False)
    return shop.merchant, testing.make_customer(shop, **profile).customer


def test_sms_url_forms():
    twilio = parse_sms_url("twilio://AC1:tok@?from=+573001234567")
    assert (twilio.kind, twilio.account, twilio.sender) == ("twilio", "AC1", "+573001234567")
    assert twilio.base == "https://api.twilio.com" and "tok" not in repr(twilio)
    local = parse_sms_url("twilio://AC1:tok@127.0.0.1:8625?from=%2B1555&scheme=http&timeout=3")
    assert (local.base, local.timeout, local.sender) == ("http://127.0.0.1:8625", 3.0, "+1555")
    key = parse_sms_url("twilio://SK1:secret@?messaging_service=MG1&account=AC9")
    assert (key.account, key.username, key.messaging_service) == ("AC9", "SK1", "MG1")
    assert parse_sms_url("console://").kind == "console"
    assert parse_sms_url("") is None
    for bad in (
        "twilio://AC1:tok@api.example.com?from=%2B1&scheme=http",  # a token in clear
        "twilio://AC1@?from=%2B1",
        "twilio://AC1:tok@",
        "sms://x",
    ):
        with pytest.raises(ImproperlyConfigured):
            parse_sms_url(bad)


def test_an_sms_reaches_twilio_as_twilio_expects(fake_twilio):  # noqa: F811
    merchant, ana = customer()
    assert sms.sms_enabled()
    row = sms.queue_sms(ana.mobile, "Café: 4821", purpose="test", customer=ana, merchant=merchant)
    assert DBTaskResult.objects.filter(task_path=SEND, status="READY").count() == 1
    run_worker()
    (got,) = fake_twilio.requests
    assert got.path == f"/2010-04-01/Accounts/{SID}/Messages.json"
    assert got.auth == (SID, TOKEN)
    assert got.content_type == "application/x-www-form-urlencoded"
    form = (got.form["To"], got.form["From"], got.form["Body"])
    assert form == (ana.mobile, SENDER, "Café: 4821")
    row.refresh_from_db()
    assert row.status == "sent" and row.attempts == 1 and row.provider_id.startswith("SM")
    run_worker()  # a task runs once
    assert len(fake_twilio.requests) == 1


def test_a_rolled_back_sms_is_never_sent(fake_twilio):  # noqa: F811
    merchant, ana = customer()
    with pytest.raises(RuntimeError), transaction.atomic():
        sms.queue_sms(ana.mobile, "1234", purpose="test", customer=ana, merchant=merchant)
        raise RuntimeError("the payment failed after")
    assert not OutgoingSms.objects.exists() and not DBTaskResult.objects.filter(task_path=SEND)
    run_worker()
    assert fake_twilio.requests == []


def test_send_code_by_sms_then_by_email_then_nowhere(fake_twilio, settings):  # noqa: F811
    merchant, ana = customer(mobile="+573001234567")
    to = sms.send_code(ana, merchant=merchant, text="Código: 4821", purpose="coin-payment")
    assert to == "+57 *** *** 4567"
    assert OutgoingSms.objects.get().purpose == "coin-payment"
    run_worker()
    assert fake_twilio.last_code("+573001234567") == "4821"
    # No SMS provider: the code goes by e-mail, its subject in the merchant's language.
    settings.SMS_URL = ""
    assert not sms.sms_enabled()
    to = sms.send_code(ana, merchant=merchant, text="Código: 7310", purpose="coin-payment")
    mail = OutgoingEmail.objects.get(event="code")
    assert to == f"{ana.email[0]}***@example.com" and mail.to == ana.email
    assert "7310" in mail.body and mail.subject.startswith("Tu código")
    # A provider, but no mobile: e-mail too; and neither: a typed error, nothing written.
    settings.SMS_URL = fake_twilio.url()
    ana.mobile = ""
    assert "***@" in sms.send_code(ana, merchant=merchant, text="1111", purpose="x")
    ana.email = ""
    with pytest.raises(sms.NoDestination) as caught:
        sms.send_code(ana, merchant=merchant, text="2222", purpose="x")
    assert caught.value.code == "no_code_destination"
    assert OutgoingSms.objects.count() == 1
    assert OutgoingEmail.objects.filter(event="code").count() == 2


def test_an_outage_is_retried_with_backoff_then_failed_then_sent_again(fake_twilio):  # noqa: F811
    from lealtad.network.models import User

    merchant, ana = customer()
    fake_twilio.fail_with = 500
    row = sms.queue_sms(ana.mobile, "Code 5555", purpose="test", customer=ana, merchant=merchant)
    run_worker()
    row.refresh_from_db()
    assert row.status == "failing" and "Twilio 500" in row.last_error
    waiting = DBTaskResult.objects.filter(task_path=SEND, status="READY").get()
    assert waiting.run_after == row.next_attempt_at > timezone.now()  # the backoff
    # Retried for SMS_RETRY_HOURS (24 h) with the e-mail's capped doubling, then failed.
    assert sms.send_one(row.pk, now=row.created_at + dt.timedelta(hours=23)) == "failing"
    row.refresh_from_db()
    assert row.next_attempt_at - row.created_at <= dt.timedelta(hours=24)
    assert sms.send_one(row.pk, now=row.created_at + dt.timedelta(hours=24)) == "failed"
    row.refresh_from_db()
    assert row.failed_at and row.next_attempt_at is None and "Twilio 500" in row.last_error
    assert sms.send_one(row.pk) == "done"  # the retry already queued sends nothing
    # The operator sees it with its error, and sends it again once the provider is back.
    client = Client()
    client.force_login(User.objects.create_superuser("op", "op@example.com", testing.PASSWORD))
    url = "/admin/notifications/outgoingsms/"
    page = client.get(url + "?status=failed").content.decode()
    assert "Twilio 500" in page and "24 horas" in page
    fake_twilio.fail_with = None
    client.post(url, {"action": "retry_now", "_selected_action": [row.pk]})
    row.refresh_from_db()
    assert row.failed_at is None and row.retry_from is not None
    run_worker()
    row.refresh_from_db()
    assert row.status == "sent" and fake_twilio.bodies_to(ana.mobile) == ["Code 5555"]


def test_a_hanging_provider_times_out_and_is_retried(fake_twilio, settings):  # noqa: F811
    merchant, ana = customer()
    settings.SMS_URL = fake_twilio.url(timeout=0.5)
    fake_twilio.hang_seconds = 2
    row = sms.queue_sms(ana.mobile, "9999", purpose="test", customer=ana, merchant=merchant)
    assert sms.send_one(row.pk) == "failing"
    row.refresh_from_db()
    assert "timed out" in row.last_error and row.next_attempt_at


def test_a_refused_number_fails_at_once(fake_twilio):  # noqa: F811
    merchant, ana = customer()
    fake_twilio.fail_with = 400
    row = sms.queue_sms(ana.mobile, "9999", purpose="test", customer=ana, merchant=merchant)
    assert sms.send_one(row.pk) == "failed"
    row.refresh_from_db()
    assert "21211" in row.last_error
    assert not DBTaskResult.objects.filter(task_path=SEND, status="READY").exclude(
        args_kwargs__args=[row.pk]
    )


def test_without_a_provider_an_sms_waits_and_says_why(settings):
    settings.SMS_URL = ""
    merchant, ana = customer()
    row = sms.queue_sms(ana.mobile, "9999", purpose="test", customer=ana, merchant=merchant)
    assert sms.send_one(row.pk) == "failing"
    row.refresh_from_db()
    assert "SMS_URL" in row.last_error


def test_console_prints_the_message(settings, capsys):
    settings.SMS_URL = "console://"
    merchant, ana = customer()
    sms.queue_sms(ana.mobile, "Café Aroma: 4821", purpose="test", customer=ana, merchant=merchant)
    run_worker()
    out = capsys.readouterr().out
    assert f"SMS to {ana.mobile}" in out and "Café Aroma: 4821" in out
    assert OutgoingSms.objects.get().status == "sent"


def test_a_lost_sms_task_is_enqueued_again_by_the_sweep(fake_twilio):  # noqa: F811
    from lealtad.notifications.actions import resend_stuck

    merchant, ana = customer()
    row = sms.queue_sms(ana.mobile, "3141", purpose="test", customer=ana, merchant=merchant)
    DBTaskResult.objects.filter(task_path=SEND).delete()  # the worker died with it
    assert resend_stuck(now=row.created_at + dt.timedelta(minutes=11)) == 1
    run_worker()
    assert fake_twilio.bodies_to(ana.mobile) == ["3141"]


def test_anonymisation_blanks_sms_and_cancels_the_waiting_ones(fake_twilio):  # noqa: F811
    from lealtad.customers.privacy import anonymise

    merchant, ana = customer()
    sent = sms.queue_sms(ana.mobile, "Code 1", purpose="test", customer=ana, merchant=merchant)
    run_worker()
    waiting = sms.queue_sms(ana.mobile, "Code 2", purpose="test", customer=ana, merchant=merchant)
    report = anonymise(ana)
    assert (report.sms_blanked, report.sms_cancelled) == (2, 1)
    sent.refresh_from_db()
    waiting.refresh_from_db()
    assert (sent.to, sent.body, sent.status) == ("", "", "sent")
    assert (waiting.to, waiting.body, waiting.status) == ("", "", "cancelled")
    run_worker()
    assert fake_twilio.bodies_to(ana.mobile) == ["Code 1"]


def test_the_demo_says_where_a_development_sms_appears(settings):
    from lealtad.core.management.commands.demo import _where_messages_appear

    settings.SMS_URL = "console://"
    assert "SMS (payment and redemption codes) are printed here" in _where_messages_appear()
    settings.SMS_URL = ""
    assert "codes go by e-mail" in _where_messages_appear()
