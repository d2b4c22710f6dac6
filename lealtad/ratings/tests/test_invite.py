"""F1: after a posted visit the customer is invited by e-mail, written in the visit's
transaction and sent after the merchant's delay, to a real SMTP server (aiosmtpd)."""

import datetime as dt
import re

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from lealtad.core import testing
from lealtad.ledger import actions as ledger
from lealtad.notifications.actions import deliver
from lealtad.notifications.models import Event, OutgoingEmail
from lealtad.notifications.tests.test_mail import decoded, smtp  # noqa: F401 (a fixture)
from lealtad.ratings.models import Rating
from lealtad.ratings.tests import helpers

pytestmark = pytest.mark.django_db
SEND = "lealtad.notifications.tasks.send_email"


def invitations():
    return OutgoingEmail.objects.filter(event=Event.RATING_INVITE)


def test_the_invitation_is_sent_after_the_delay_with_a_link_that_rates(smtp):  # noqa: F811
    shop = helpers.shop(rating_invite_delay_minutes=120)
    now = timezone.now()
    txn = helpers.visit(shop, now=now)
    row = invitations().get()
    assert row.next_attempt_at == now + dt.timedelta(minutes=120)
    task = DBTaskResult.objects.filter(task_path=SEND, args_kwargs__args=[row.pk]).get()
    assert task.run_after == row.next_attempt_at  # the worker takes it then, not before
    assert deliver(now=now + dt.timedelta(minutes=119)) == (0, 0)
    assert smtp.messages == []
    assert deliver(now=now + dt.timedelta(minutes=121)) == (1, 0)
    ((to, content),) = smtp.messages
    assert to == [txn.customer.email]
    text = decoded(content)
    assert f"¿Cómo fue tu visita a {shop.merchant.name}?" in text and "de 1 a 10" in text
    link = re.search(r"https?://\S+/rate/\S+/", text).group(0)
    path = link.split("8000", 1)[1]
    assert Client().post(path, {"score": "10"}).status_code == 302
    assert Rating.objects.get().transaction == txn


def test_a_redemption_and_an_approved_accrual_invite_too():
    from lealtad.program.models import AuditMode

    shop = helpers.shop()
    member = testing.make_customer(shop).membership
    helpers.visit(shop, member, amount="300000")
    ledger.redeem_reward(
        membership=member, reward_id=testing.make_reward(shop, cost=50).pk, branch=shop.branch
    )
    assert invitations().count() == 2
    member.category.audit_mode = AuditMode.MANUAL
    member.category.save()
    held = helpers.visit(shop, member)
    assert invitations().count() == 2  # not a visit until approved
    ledger.approve_accrual(merchant=shop.merchant, transaction_id=held.pk)
    assert invitations().count() == 3


def test_a_rolled_back_visit_invites_nobody():
    shop = helpers.shop()
    member = testing.make_customer(shop).membership
    with pytest.raises(RuntimeError), transaction.atomic():
        helpers.visit(shop, member)
        assert invitations().count() == 1  # written in the visit's transaction
        raise RuntimeError("what followed the visit failed")
    assert not invitations().exists()
    assert not DBTaskResult.objects.filter(task_path=SEND).exists()


def test_no_invitation_when_the_merchant_says_no_or_the_customer_has_no_email():
    shop = helpers.shop(rating_invite=False)
    helpers.visit(shop)
    assert not invitations().exists()
    shop = helpers.shop()
    helpers.visit(shop, testing.make_customer(shop, email=None).membership)
    assert not invitations().exists()


def test_a_zero_delay_invitation_goes_at_once(smtp):  # noqa: F811
    shop = helpers.shop(rating_invite_delay_minutes=0)
    helpers.visit(shop)
    assert invitations().get().next_attempt_at is None
    assert deliver() == (1, 0)


def test_the_console_saves_the_invitation_settings():
    shop = helpers.shop()
    client = Client()
    client.force_login(shop.admin)
    data = {"point_value": "1000", "points_validity_days": "365", "welcome_bonus_points": "0"}
    page = client.post("/console/program/", {**data, "rating_invite_delay_minutes": "20000"})
    assert page.status_code == 200 and "10080" in page.content.decode()
    saved = client.post(
        "/console/program/", {**data, "rating_invite": "on", "rating_invite_delay_minutes": "30"}
    )
    assert saved.status_code == 302
    shop.merchant.refresh_from_db()
    assert (shop.merchant.rating_invite, shop.merchant.rating_invite_delay_minutes) == (True, 30)
    text = client.get("/console/program/").content.decode()
    assert "Invitar a los clientes a calificar cada visita" in text


def test_a_captured_coin_payment_invites_and_can_be_rated():
    import re as regex
    from decimal import Decimal

    from lealtad.coins import actions as coins
    from lealtad.coins import payments
    from lealtad.ratings import actions

    issuer = testing.make_merchant("Café", coin_issuer=True, cashback_rate="1")
    acceptor = helpers.shop(name="Librería", coin_acceptor=True)
    customer = testing.make_customer(issuer).customer
    coins.earn_coins(merchant=issuer.merchant, customer=customer, amount=Decimal(500))
    payment = payments.start_payment(
        merchant=acceptor.merchant, customer=customer, invoice_amount=Decimal(300), coins=200
    )
    assert not invitations().exists()  # held, not paid yet
    body = OutgoingEmail.objects.filter(to=customer.email, event="code").latest("pk").body
    code = regex.findall(r"\b(\d{4,6})\b", body)[-1]
    payment = payments.confirm_payment(payment.pk, merchant=acceptor.merchant, code=code)
    invitation = invitations().get()
    assert (invitation.merchant, invitation.to) == (acceptor.merchant, customer.email)
    rating = actions.rate_visit(payment.transaction, score=9)
    assert rating.merchant == acceptor.merchant and rating.transaction.kind == "coin_payment"
