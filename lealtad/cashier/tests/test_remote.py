"""P6 remote redemption at the till: the code goes to the customer's mobile through the real
worker and a fake Twilio (a real HTTP server), the cashier types it, and the redemption is
posted once, under every prize rule."""

import datetime as dt
import re
import threading

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client

from lealtad.cashier import remote
from lealtad.cashier.models import RemoteRedemption
from lealtad.core import testing
from lealtad.customers.models import Membership
from lealtad.ledger.models import Account, Transaction
from lealtad.notifications.models import OutgoingEmail, OutgoingSms
from lealtad.notifications.tests.fake_sms import fake_twilio  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db(transaction=True)


def run_worker():
    call_command("worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)


@pytest.fixture
def shop():
    return testing.make_merchant(email_on_join=False, email_on_redemption=False)


@pytest.fixture
def carol(shop):
    return testing.make_cashier(shop, "carol")


@pytest.fixture
def till(carol):
    client = Client()
    client.force_login(carol)
    return client


@pytest.fixture
def member(shop, till):
    membership = testing.make_customer(shop).membership
    till.post(f"/cashier/c/{membership.customer_id}/accrue/", {"amount": "150000"})
    return membership


def balance(membership):
    return Account.objects.get(pk=membership.account_id).balance


def start(till, member, reward):
    page = till.get(f"/cashier/c/{member.customer_id}/redeem/{reward.pk}/").content.decode()
    assert "Remoto: enviar el código al cliente" in page
    response = till.post(f"/cashier/c/{member.customer_id}/redeem/{reward.pk}/remote/")
    assert response.status_code == 302, response.content.decode()
    return response["Location"]


def test_a_remote_redemption_is_confirmed_by_the_code_sent_by_sms(
    till,
    shop,
    member,
    fake_twilio,  # noqa: F811
):
    reward = testing.make_reward(shop, cost=100, name="Café gratis")
    url = start(till, member, reward)
    page = till.get(url).content.decode()
    mobile = member.customer.mobile
    assert f"+57 *** *** {mobile[-4:]}" in page and 'autocomplete="one-time-code"' in page
    assert not Transaction.objects.filter(kind="redemption").exists()  # not before the code
    run_worker()
    (body,) = fake_twilio.bodies_to(mobile)
    assert "Café gratis" in body and "redimir" in body  # in the merchant's language
    code = fake_twilio.last_code(mobile)
    first = till.post(url, {"action": "confirm", "code": code}).content.decode()
    again = till.post(url, {"action": "confirm", "code": code}).content.decode()
    for page in (first, again):
        assert "Nuevo saldo: 50 puntos" in page and "remota, confirmada" in page
    assert Transaction.objects.filter(kind="redemption").count() == 1
    assert balance(member) == 50
    row = RemoteRedemption.objects.get()
    assert row.status == "redeemed" and row.transaction.kind == "redemption"


def test_wrong_codes_say_how_many_are_left_then_cancel(till, shop, member, fake_twilio):  # noqa: F811
    reward = testing.make_reward(shop, cost=100)
    url = start(till, member, reward)
    run_worker()
    code = fake_twilio.last_code(member.customer.mobile)
    wrong = "0000" if code != "0000" else "1111"
    page = till.post(url, {"action": "confirm", "code": wrong}).content.decode()
    assert "Código incorrecto. Intentos restantes: 2." in page and 'aria-invalid="true"' in page
    till.post(url, {"action": "confirm", "code": wrong})
    page = till.post(url, {"action": "confirm", "code": wrong}).content.decode()
    assert "cancel" in page.lower()
    page = till.post(url, {"action": "confirm", "code": code}).content.decode()  # too late
    assert "ya no está abierta" in page
    assert not Transaction.objects.filter(kind="redemption").exists() and balance(member) == 150


def test_a_resent_code_replaces_the_first_and_resends_are_limited(
    till,
    shop,
    member,
    fake_twilio,  # noqa: F811
):
    reward = testing.make_reward(shop, cost=100)
    url = start(till, member, reward)
    run_worker()
    mobile = member.customer.mobile
    first = fake_twilio.last_code(mobile)
    for _n in range(remote.MAX_RESENDS):
        page = till.post(url, {"action": "resend"}).content.decode()
    assert re.search(r'value="resend"\s+disabled', page)
    page = till.post(url, {"action": "resend"}).content.decode()
    assert "demasiadas veces" in page
    run_worker()
    assert len(fake_twilio.bodies_to(mobile)) == 1 + remote.MAX_RESENDS
    last = fake_twilio.last_code(mobile)
    if first != last:
        page = till.post(url, {"action": "confirm", "code": first}).content.decode()
        assert "Código incorrecto" in page
    till.post(url, {"action": "confirm", "code": last})
    assert Transaction.objects.filter(kind="redemption").count() == 1


def test_without_an_sms_provider_the_code_goes_by_email(till, shop, member, settings):
    settings.SMS_URL = ""
    reward = testing.make_reward(shop, cost=100)
    url = start(till, member, reward)
    assert "***@example.com" in till.get(url).content.decode()
    mail = OutgoingEmail.objects.get(event="code", to=member.customer.email)
    code = re.findall(r"\b(\d{4})\b", mail.body)[-1]
    till.post(url, {"action": "confirm", "code": code})
    assert Transaction.objects.filter(kind="redemption").count() == 1
    assert not OutgoingSms.objects.exists()


def test_the_code_stands_in_for_the_document_check(till, shop, member, fake_twilio):  # noqa: F811
    shop.merchant.redemption_requires_document_check = True
    shop.merchant.save()
    reward = testing.make_reward(shop, cost=100)
    url = start(till, member, reward)
    run_worker()
    till.post(url, {"action": "confirm", "code": fake_twilio.last_code(member.customer.mobile)})
    assert Transaction.objects.filter(kind="redemption").count() == 1


@pytest.mark.parametrize("refusal", ["poor", "blocked", "out_of_stock"])
def test_a_prize_that_cannot_be_redeemed_sends_no_code(till, shop, member, refusal):
    reward = testing.make_reward(shop, cost=1000 if refusal == "poor" else 100)
    if refusal == "blocked":
        Membership.objects.filter(pk=member.pk).update(blocked=True, blocked_reason="Reclamo")
    if refusal == "out_of_stock":
        reward.stock = 0
        reward.save()
    url = f"/cashier/c/{member.customer_id}/redeem/{reward.pk}/remote/"
    response = till.post(url)
    assert response.status_code == 200
    assert not RemoteRedemption.objects.exists() and not OutgoingSms.objects.exists()


def test_points_gone_before_the_code_cancel_the_request(till, shop, member, fake_twilio):  # noqa: F811
    reward = testing.make_reward(shop, cost=100)
    cheaper = testing.make_reward(shop, cost=100)
    url = start(till, member, reward)
    run_worker()
    code = fake_twilio.last_code(member.customer.mobile)
    confirm = till.get(f"/cashier/c/{member.customer_id}/redeem/{cheaper.pk}/").content.decode()
    token = confirm.split('name="token" value="')[1].split('"')[0]
    till.post(f"/cashier/c/{member.customer_id}/redeem/{cheaper.pk}/", {"token": token})
    assert balance(member) == 50
    page = till.post(url, {"action": "confirm", "code": code}).content.decode()
    assert "puntos" in page and "ya no está abierta" in till.get(url).content.decode()
    assert Transaction.objects.filter(kind="redemption").count() == 1 and balance(member) == 50
    assert RemoteRedemption.objects.get().status == "cancelled"


def test_an_expired_request_is_refused(till, shop, member, fake_twilio):  # noqa: F811
    reward = testing.make_reward(shop, cost=100)
    url = start(till, member, reward)
    run_worker()
    code = fake_twilio.last_code(member.customer.mobile)
    row = RemoteRedemption.objects.get()
    RemoteRedemption.objects.filter(pk=row.pk).update(
        expires_at=row.created_at - dt.timedelta(seconds=1)
    )
    page = till.post(url, {"action": "confirm", "code": code}).content.decode()
    assert "venció" in page and not Transaction.objects.filter(kind="redemption").exists()


def test_cancel_at_the_till(till, shop, member, fake_twilio):  # noqa: F811
    reward = testing.make_reward(shop, cost=100)
    url = start(till, member, reward)
    assert till.post(url, {"action": "cancel"}).status_code == 302
    assert RemoteRedemption.objects.get().status == "cancelled"


def test_another_merchants_request_is_not_found(till, shop, member, fake_twilio):  # noqa: F811
    reward = testing.make_reward(shop, cost=100)
    url = start(till, member, reward)
    other = testing.make_merchant()
    charlie = Client()
    charlie.force_login(testing.make_cashier(other))
    assert charlie.get(url).status_code == 404
    assert charlie.post(url, {"action": "confirm", "code": "1234"}).status_code == 404
    stranger = testing.make_customer(shop).customer
    row = RemoteRedemption.objects.get()
    assert till.get(f"/cashier/c/{stranger.pk}/remote/{row.pk}/").status_code == 404


@pytest.mark.postgres
def test_ten_cashiers_confirming_at_once_redeem_once(shop, member, fake_twilio):  # noqa: F811
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (row locks): set DATABASE_URL=postgres://… to run it")
    reward = testing.make_reward(shop, cost=100)
    row = remote.start(
        membership=member,
        reward_row={
            "id": str(reward.pk),
            "name": reward.name,
            "points_cost": 100,
            "affordable": True,
        },
        branch=shop.branch,
        staff=None,
    )
    run_worker()
    code = fake_twilio.last_code(member.customer.mobile)
    barrier, outcomes = threading.Barrier(10), []

    def cashier():
        try:
            barrier.wait()
            outcomes.append(remote.confirm(row, code).status)
        except Exception as exc:
            outcomes.append(type(exc).__name__)
        finally:
            connection.close()

    threads = [threading.Thread(target=cashier) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == ["redeemed"] * 10
    assert Transaction.objects.filter(kind="redemption").count() == 1 and balance(member) == 50
