"""Webhooks in the console (issue 12, I4): create (the URL refused next to the field), the secret
shown once, rotate, delete, disable and enable, deliveries newest first and paged, send again, a
test event; another merchant's endpoint or delivery is 404, and cashiers get 404 everywhere."""

import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone

from lealtad.core import testing
from lealtad.webhooks.actions import ROTATION_OVERLAP, create_endpoint, disable_endpoint
from lealtad.webhooks.events import EVENT_TYPES, emit
from lealtad.webhooks.models import Delivery, DisabledReason, Endpoint, Event

pytestmark = pytest.mark.django_db

PUBLIC = "https://93.184.215.14/hooks/lealtad"  # a literal public address: no DNS needed


@pytest.fixture
def shop():
    return testing.make_merchant(admin="alice")


@pytest.fixture
def console(shop):
    client = Client()
    client.force_login(shop.admin)
    return client


def secret_in(page) -> str:
    found = re.search(r'id="webhook-secret" value="(whsec_[^"]+)"', page.content.decode())
    assert found, page.content.decode()
    return found.group(1)


def make(shop, events=("accrual.posted",)):
    return create_endpoint(shop.merchant, url=PUBLIC, events=list(events))[0]


def accrual(shop, n=0):
    return emit(
        shop.merchant,
        "accrual.posted",
        {"transaction_id": f"t-{n}", "points": n, "at": timezone.now()},
    )


def test_create_shows_the_secret_once(console, shop):
    page = console.post(
        "/console/webhooks/new/",
        {"url": PUBLIC, "events": ["accrual.posted", "redemption.created"], "description": "ERP"},
    )
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    secret = secret_in(page)
    assert "se muestra solo esta vez" in page.content.decode()
    endpoint = Endpoint.objects.get(merchant=shop.merchant)
    assert endpoint.events == ["accrual.posted", "redemption.created"]
    assert (endpoint.description, endpoint.created_by) == ("ERP", shop.admin)
    assert endpoint.secret == secret
    for url in ("/console/webhooks/", f"/console/webhooks/{endpoint.pk}/"):
        later = console.get(url)
        assert later.status_code == 200 and secret not in later.content.decode()


def test_the_form_lists_every_event_with_its_translated_description(console):
    page = console.get("/console/webhooks/new/").content.decode()
    for code in EVENT_TYPES:
        assert f'value="{code}"' in page
    assert "Se acumularon puntos o monedas (accrual.posted)" in page


@pytest.mark.parametrize(
    "url",
    [
        "http://93.184.215.14/hooks",  # not https
        "https://127.0.0.1/hooks",  # loopback
        "https://10.1.2.3/hooks",  # private
        "https://169.254.169.254/latest/meta-data",  # link-local (cloud metadata)
        "https://user:pw@93.184.215.14/",  # credentials in the URL
        "not a url",
    ],
)
def test_a_url_not_allowed_is_refused_next_to_the_field(console, shop, url):
    page = console.post("/console/webhooks/new/", {"url": url, "events": ["accrual.posted"]})
    assert page.status_code == 200
    error = re.search(r'id="url-error">([^<]+)<', page.content.decode())
    assert error, page.content.decode()
    assert not re.search(r"\b(must|private|network|valid)\b", error.group(1))  # Spanish
    assert not Endpoint.objects.filter(merchant=shop.merchant).exists()


def test_other_bad_input_is_refused_next_to_its_field(console, shop):
    page = console.post("/console/webhooks/new/", {"url": PUBLIC})
    assert re.search(r'id="events-error">[^<]*al menos un evento', page.content.decode())
    page = console.post("/console/webhooks/new/", {"url": PUBLIC, "events": ["nope.event"]})
    assert 'id="events-error"' in page.content.decode()
    page = console.post(
        "/console/webhooks/new/",
        {"url": PUBLIC, "events": ["accrual.posted"], "description": "x" * 201},
    )
    assert 'id="description-error"' in page.content.decode()
    page = console.post("/console/webhooks/new/", {"url": "", "events": ["accrual.posted"]})
    assert 'id="url-error"' in page.content.decode()
    assert not Endpoint.objects.filter(merchant=shop.merchant).exists()


def test_the_list_shows_status_and_last_delivery(console, shop):
    working, gone = make(shop), make(shop, ["redemption.created"])
    accrual(shop)
    Delivery.objects.filter(endpoint=working).update(
        status=Delivery.Status.DELIVERED, last_status_code=204
    )
    disable_endpoint(gone, DisabledReason.GONE)
    page = console.get("/console/webhooks/").content.decode()
    row = re.search(rf'<tr id="webhook-{working.pk}".*?</tr>', page, re.S).group(0)
    assert "Activo" in row and "Entregado" in row and "HTTP 204" in row
    row = re.search(rf'<tr id="webhook-{gone.pk}".*?</tr>', page, re.S).group(0)
    assert "Deshabilitado" in row and "410" in row


def test_rotate_asks_first_then_shows_the_new_secret_and_the_24_hours(console, shop):
    endpoint = make(shop)
    old = endpoint.secret
    confirm = console.get(f"/console/webhooks/{endpoint.pk}/rotate/")
    assert confirm.status_code == 200 and "24 horas" in confirm.content.decode()
    endpoint.refresh_from_db()
    assert endpoint.secret == old  # the GET only asks
    page = console.post(f"/console/webhooks/{endpoint.pk}/rotate/")
    new = secret_in(page)
    assert new != old and "24 horas" in page.content.decode()
    endpoint.refresh_from_db()
    assert (endpoint.secret, endpoint.previous_secret) == (new, old)
    assert endpoint.previous_secret_until > timezone.now() + ROTATION_OVERLAP - dt.timedelta(1)
    detail = console.get(f"/console/webhooks/{endpoint.pk}/").content.decode()
    assert new not in detail and old not in detail and "secreto anterior" in detail


def test_delete_asks_first(console, shop):
    endpoint = make(shop)
    accrual(shop)
    assert console.get(f"/console/webhooks/{endpoint.pk}/delete/").status_code == 200
    assert Endpoint.objects.filter(pk=endpoint.pk).exists()
    assert console.post(f"/console/webhooks/{endpoint.pk}/delete/").status_code == 302
    assert not Endpoint.objects.filter(pk=endpoint.pk).exists()
    assert not Delivery.objects.filter(endpoint_id=endpoint.pk).exists()


def test_disable_and_enable_again(console, shop):
    endpoint = make(shop)
    console.post(f"/console/webhooks/{endpoint.pk}/disable/")
    endpoint.refresh_from_db()
    assert not endpoint.active and endpoint.disabled_reason == DisabledReason.MANUAL
    page = console.get(f"/console/webhooks/{endpoint.pk}/").content.decode()
    assert "Deshabilitado" in page and "Enviar evento de prueba" not in page
    console.post(f"/console/webhooks/{endpoint.pk}/enable/")
    endpoint.refresh_from_db()
    assert endpoint.active and endpoint.disabled_reason == ""
    assert console.get(f"/console/webhooks/{endpoint.pk}/enable/").status_code == 405


def test_deliveries_newest_first_paged_with_event_id_attempts_and_status(console, shop):
    endpoint = make(shop)
    events = [accrual(shop, n) for n in range(30)]
    Delivery.objects.filter(event=events[0]).update(
        attempts=3, last_status_code=503, next_attempt_at=timezone.now() + dt.timedelta(hours=1)
    )
    first = console.get(f"/console/webhooks/{endpoint.pk}/").content.decode()
    ids = re.findall(r"<code>(msg_[^<]+)</code>", first)
    assert len(ids) == 25 and ids[0] == events[-1].pk and events[0].pk not in ids
    second = console.get(f"/console/webhooks/{endpoint.pk}/?page=2").content.decode()
    assert re.findall(r"<code>(msg_[^<]+)</code>", second)[-1] == events[0].pk
    delivery = Delivery.objects.get(event=events[0])
    row = re.search(rf'<tr id="delivery-{delivery.pk}".*?</tr>', second, re.S).group(0)
    assert "accrual.posted" in row and ">3<" in row and "HTTP 503" in row and "Pendiente" in row


def test_send_again_keeps_the_webhook_id(console, shop):
    endpoint = make(shop)
    event = accrual(shop)
    delivery = Delivery.objects.get(event=event)
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.FAILED, attempts=9, next_attempt_at=None
    )
    response = console.post(f"/console/webhooks/{endpoint.pk}/deliveries/{delivery.pk}/redeliver/")
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PENDING and delivery.event_id == event.pk
    assert Event.objects.filter(merchant=shop.merchant).count() == 1
    page = console.get(f"/console/webhooks/{endpoint.pk}/").content.decode()
    assert event.pk in page and "mismo webhook-id" in page


def test_a_test_event_goes_to_this_endpoint_only(console, shop):
    endpoint, other = make(shop), make(shop)
    console.post(f"/console/webhooks/{endpoint.pk}/test/")
    (delivery,) = Delivery.objects.filter(event__merchant=shop.merchant)
    assert delivery.endpoint == endpoint and delivery.event.type == "webhook.test"
    assert not Delivery.objects.filter(endpoint=other).exists()
    disable_endpoint(endpoint)
    page = console.post(f"/console/webhooks/{endpoint.pk}/test/", follow=True)
    assert Delivery.objects.filter(endpoint=endpoint).count() == 1
    assert "deshabilitado" in page.content.decode().lower()


def test_another_merchants_endpoint_and_delivery_are_404(console, shop):
    theirs_shop = testing.make_merchant("Farmacia Salud", admin="charlie")
    theirs = make(theirs_shop)
    delivery = Delivery.objects.get(event=accrual(theirs_shop))
    mine = make(shop)
    base = f"/console/webhooks/{theirs.pk}"
    for url in (f"{base}/", f"{base}/rotate/", f"{base}/delete/"):
        assert console.get(url).status_code == 404
    for url in (f"{base}/rotate/", f"{base}/delete/", f"{base}/disable/", f"{base}/test/"):
        assert console.post(url).status_code == 404
    # Their delivery under my endpoint's path is not mine either.
    crossed = f"/console/webhooks/{mine.pk}/deliveries/{delivery.pk}/redeliver/"
    assert console.post(crossed).status_code == 404
    for bad in ("nope", "9" * 30, "-1"):
        assert (
            console.post(f"/console/webhooks/{mine.pk}/deliveries/{bad}/redeliver/").status_code
            == 404
        )
    assert console.get("/console/webhooks/not-a-uuid/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.active and Endpoint.objects.filter(pk=theirs.pk).exists()
    assert (
        theirs.url not in console.get("/console/webhooks/").content.decode()
        or theirs.url == mine.url
    )
    assert str(theirs.pk) not in console.get("/console/webhooks/").content.decode()


def test_a_cashier_gets_404(shop):
    endpoint = make(shop)
    client = Client()
    client.force_login(testing.make_cashier(shop))
    for url in (
        "/console/webhooks/",
        "/console/webhooks/new/",
        f"/console/webhooks/{endpoint.pk}/",
    ):
        assert client.get(url).status_code == 404
    for action in ("rotate", "delete", "disable", "test"):
        assert client.post(f"/console/webhooks/{endpoint.pk}/{action}/").status_code == 404
    endpoint.refresh_from_db()
    assert endpoint.active and not Delivery.objects.filter(endpoint=endpoint).exists()
