"""M1: customer e-mails go through the outbox to a real SMTP server (aiosmtpd)."""

import socket
from decimal import Decimal

import pytest
from aiosmtpd.controller import Controller
from django.core.management import call_command
from django.test import Client, override_settings

from lealtad.core import testing
from lealtad.core.email_url import parse_email_url
from lealtad.ledger import actions as ledger
from lealtad.notifications.actions import deliver
from lealtad.notifications.models import OutgoingEmail

pytestmark = pytest.mark.django_db


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            (envelope.rcpt_tos, envelope.original_content.decode("ascii", errors="replace"))
        )
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        with override_settings(**parse_email_url(f"smtp://127.0.0.1:{controller.port}")):
            yield inbox
    finally:
        controller.stop()


def decoded(text: str) -> str:
    import email

    message = email.message_from_string(text)
    subject = str(email.header.make_header(email.header.decode_header(message["Subject"])))
    charset = message.get_content_charset() or "utf-8"
    return subject + "\n" + message.get_payload(decode=True).decode(charset)


def test_join_accrual_and_redemption_reach_the_customer(smtp):
    shop = testing.make_merchant(welcome_bonus_points=20, email_on_accrual=True)
    made = testing.make_customer(shop, welcome_bonus=True)
    member = made.membership
    ledger.accrue_points(
        merchant=shop.merchant, membership=member, branch=shop.branch, amount=Decimal("90000")
    )
    reward = testing.make_reward(shop, cost=50, name="Almuerzo")
    ledger.redeem_reward(membership=member, reward_id=reward.pk, branch=shop.branch)
    assert OutgoingEmail.objects.filter(sent_at__isnull=True).count() == 3
    assert deliver() == (3, 0)
    assert len(smtp.messages) == 3
    texts = [decoded(content) for _to, content in smtp.messages]
    assert all(to == [made.customer.email] for to, _c in smtp.messages)
    assert "Bienvenido" in texts[0] and "20 puntos" in texts[0]
    assert "90 puntos" in texts[1] and "110 puntos" in texts[1]
    assert "Almuerzo" in texts[2] and "60 puntos" in texts[2]
    assert deliver() == (0, 0)  # sent once


def test_the_merchants_settings_decide(smtp):
    shop = testing.make_merchant(email_on_join=False, email_on_redemption=False)
    member = testing.make_customer(shop).membership
    ledger.accrue_points(
        merchant=shop.merchant, membership=member, branch=shop.branch, amount=Decimal("90000")
    )
    ledger.redeem_reward(
        membership=member, reward_id=testing.make_reward(shop, cost=5).pk, branch=shop.branch
    )
    assert not OutgoingEmail.objects.exists()


def test_portuguese_for_a_brazilian_merchant(smtp):
    shop = testing.make_merchant("Posto", country="BR")
    testing.make_customer(shop)
    call_command("send_emails", verbosity=0)
    ((_to, content),) = smtp.messages
    assert "Bem-vindo" in decoded(content)


def test_a_rolled_back_movement_sends_nothing(smtp):
    from django.db import transaction

    shop = testing.make_merchant(email_on_accrual=True)
    member = testing.make_customer(shop).membership
    OutgoingEmail.objects.all().delete()
    with pytest.raises(RuntimeError), transaction.atomic():
        ledger.accrue_points(
            merchant=shop.merchant, membership=member, branch=shop.branch, amount=Decimal(9000)
        )
        raise RuntimeError("what followed the accrual failed")
    assert not OutgoingEmail.objects.exists()


def test_a_server_that_is_down_is_retried_later():
    shop = testing.make_merchant()
    testing.make_customer(shop)
    with override_settings(**parse_email_url(f"smtp://127.0.0.1:{free_port()}?timeout=2")):
        assert deliver() == (0, 1)
    row = OutgoingEmail.objects.get()
    assert row.sent_at is None and row.attempts == 1 and row.last_error


def test_the_console_saves_which_emails_are_sent():
    shop = testing.make_merchant()
    client = Client()
    client.force_login(shop.admin)
    response = client.post(
        "/console/program/",
        {
            "point_value": "1000",
            "points_validity_days": "365",
            "welcome_bonus_points": "0",
            "email_on_accrual": "on",
        },
    )
    assert response.status_code == 302
    shop.merchant.refresh_from_db()
    assert (
        shop.merchant.email_on_join,
        shop.merchant.email_on_accrual,
        shop.merchant.email_on_redemption,
    ) == (False, True, False)


def test_a_held_accrual_is_told_when_approved(smtp):
    from lealtad.program.models import AuditMode

    shop = testing.make_merchant(email_on_join=False, email_on_accrual=True)
    member = testing.make_customer(shop).membership
    member.category.audit_mode = AuditMode.MANUAL
    member.category.save()
    held = ledger.accrue_points(
        merchant=shop.merchant, membership=member, branch=shop.branch, amount=Decimal("30000")
    )
    assert not OutgoingEmail.objects.exists()  # nothing spendable yet
    ledger.approve_accrual(merchant=shop.merchant, transaction_id=held.transaction.pk)
    assert deliver() == (1, 0)
    assert "30 puntos" in decoded(smtp.messages[0][1])


def test_an_outage_longer_than_any_limit_loses_nothing_and_sends_once():
    """M3: the mail server is down for 40 attempts (the old code gave up after 5), then comes
    up on the same port: the e-mail arrives exactly once."""
    import datetime as dt

    from django.utils import timezone

    from lealtad.notifications.actions import RETRY_MAX_SECONDS, retry_delay

    shop = testing.make_merchant()
    made = testing.make_customer(shop)
    port = free_port()
    now = timezone.now()
    with override_settings(**parse_email_url(f"smtp://127.0.0.1:{port}?timeout=2")):
        for attempt in range(1, 41):
            assert deliver(now=now) == (0, 1)
            row = OutgoingEmail.objects.get()
            assert row.attempts == attempt and row.sent_at is None and row.cancelled_at is None
            assert row.next_attempt_at == now + retry_delay(attempt)
            # Not hammered: before its turn, it is not tried again.
            assert deliver(now=row.next_attempt_at - dt.timedelta(seconds=1)) == (0, 0)
            now = row.next_attempt_at
        assert retry_delay(40) == dt.timedelta(seconds=RETRY_MAX_SECONDS)  # capped
        assert "ConnectionRefusedError" in row.last_error
        inbox = Inbox()
        controller = Controller(inbox, hostname="127.0.0.1", port=port)
        controller.start()
        try:
            assert deliver(now=now) == (1, 0)
            assert deliver(now=now + dt.timedelta(days=1)) == (0, 0)
        finally:
            controller.stop()
    assert [to for to, _content in inbox.messages] == [[made.customer.email]]
    row = OutgoingEmail.objects.get()
    assert row.sent_at == now and row.attempts == 41 and row.status == "sent"


def test_the_operator_sees_what_is_failing_and_sends_it_again(smtp):
    from lealtad.network.models import User

    shop = testing.make_merchant()
    testing.make_customer(shop)
    with override_settings(**parse_email_url(f"smtp://127.0.0.1:{free_port()}?timeout=2")):
        assert deliver() == (0, 1)
    client = Client()
    client.force_login(User.objects.create_superuser("op", "op@example.com", testing.PASSWORD))
    url = "/admin/notifications/outgoingemail/"
    page = client.get(url + "?status=failing")
    assert page.status_code == 200
    text = page.content.decode()
    assert "no se han podido enviar" in text and "ConnectionRefusedError" in text
    row = OutgoingEmail.objects.get()
    assert deliver() == (0, 0)  # waiting for its turn
    client.post(url, {"action": "retry_now", "_selected_action": [row.pk]})
    assert deliver() == (1, 0)
    assert len(smtp.messages) == 1


def test_a_backend_that_fails_silently_does_not_mark_the_email_sent(monkeypatch):
    """A mailer configured with fail_silently (Django 6.1's MAILERS options allow it) hides the
    SMTP error and counts 0 sent: the e-mail must stay waiting, not be marked sent."""
    from lealtad.notifications import actions

    shop = testing.make_merchant()
    testing.make_customer(shop)
    configured = actions._mailer

    def fail_silently():
        mailer = configured()
        mailer.fail_silently = True
        return mailer

    monkeypatch.setattr(actions, "_mailer", fail_silently)
    with override_settings(**parse_email_url(f"smtp://127.0.0.1:{free_port()}?timeout=2")):
        assert deliver() == (0, 1)
    row = OutgoingEmail.objects.get()
    assert row.sent_at is None and row.attempts == 1 and row.next_attempt_at
