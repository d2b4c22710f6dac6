"""A8: a customer asks, in the app or through /me, to convert a partner's points where the partner
allows it; the partner lists the requests with its key, debits its points and confirms (coins
credited once, by `partners.convert`) or refuses (nothing moves, the customer sees why)."""

from decimal import Decimal

import pytest
from django.test import Client

from lealtad.api.tests.conftest import Api
from lealtad.app.testing import customer_token, sign_in
from lealtad.coins import conversion_requests, partners
from lealtad.coins.actions import wallet_of
from lealtad.coins.models import ConversionRequest, PartnerConversion
from lealtad.core import testing
from lealtad.ledger.check import check_ledger

pytestmark = pytest.mark.django_db


@pytest.fixture
def bank():
    bank = partners.create_partner("Banco Andino", Decimal("0.25"))
    bank.app_conversion = True
    bank.save()
    return bank


@pytest.fixture
def bank_api(bank):
    return Api(partners.issue_partner_key(bank)[1])


@pytest.fixture
def ana():
    return testing.make_customer(testing.make_merchant("Café Aroma")).customer


@pytest.fixture
def me(ana):
    return Api(customer_token(ana))


def test_a_request_waits_and_the_partner_confirms_it_once(bank, bank_api, ana, me):
    partners_listed = me.get("/me/conversion-partners").json()
    assert partners_listed == [{"id": bank.pk, "name": "Banco Andino", "rate": "0.250000"}]
    made = me.post(
        "/me/conversion-requests",
        {"partner_id": bank.pk, "partner_points": 1000},
        **{"Idempotency-Key": "conv-1"},
    )
    assert made.status_code == 201, made.content
    assert (made.json()["status"], made.json()["coins"]) == ("pending", 250)
    again = me.post(
        "/me/conversion-requests",
        {"partner_id": bank.pk, "partner_points": 1000},
        **{"Idempotency-Key": "conv-1"},
    )
    assert again["Idempotent-Replayed"] == "true" and ConversionRequest.objects.count() == 1
    assert wallet_of(ana)["available"] == 0

    pending = bank_api.get("/partner/conversion-requests").json()
    assert [(p["document_number"], p["partner_points"], p["coins"]) for p in pending] == [
        (ana.document_number, 1000, 250)
    ]
    request_id = pending[0]["id"]
    done = bank_api.post(f"/partner/conversion-requests/{request_id}/confirm")
    assert done.status_code == 201, done.content
    assert done.json()["status"] == "converted" and done.json()["conversion"]["coins"] == 250
    twice = bank_api.post(f"/partner/conversion-requests/{request_id}/confirm")
    assert twice.status_code == 200
    assert wallet_of(ana)["available"] == 250 and PartnerConversion.objects.count() == 1
    assert bank_api.get("/partner/conversion-requests").json() == []
    refused_late = bank_api.post(f"/partner/conversion-requests/{request_id}/refusal", {})
    assert refused_late.status_code == 409
    assert refused_late.json()["code"] == "conversion_request_decided"
    mine = me.get("/me/conversion-requests").json()
    assert [(m["status"], m["coins"]) for m in mine] == [("converted", 250)]
    assert me.get("/me/conversions").json()[0]["coins"] == 250
    assert check_ledger() == []


def test_a_refused_request_moves_nothing_and_says_why(bank, bank_api, ana, me):
    made = me.post("/me/conversion-requests", {"partner_id": bank.pk, "partner_points": 400})
    request_id = made.json()["id"]
    no = bank_api.post(
        f"/partner/conversion-requests/{request_id}/refusal", {"reason": "Saldo insuficiente"}
    )
    assert no.status_code == 200 and no.json()["status"] == "refused"
    late = bank_api.post(f"/partner/conversion-requests/{request_id}/confirm")
    assert late.status_code == 409 and late.json()["code"] == "conversion_request_decided"
    assert wallet_of(ana)["available"] == 0
    assert me.get("/me/conversion-requests").json()[0]["reason"] == "Saldo insuficiente"


def test_what_cannot_be_asked(bank, ana, me):
    closed = partners.create_partner("Aerolínea", Decimal("2"))
    off = me.post("/me/conversion-requests", {"partner_id": closed.pk, "partner_points": 10})
    assert off.status_code == 422 and off.json()["code"] == "partner_conversion_unavailable"
    for unknown in (999_999, 10**30, -1, 0):
        answer = me.post("/me/conversion-requests", {"partner_id": unknown, "partner_points": 10})
        assert answer.status_code in (404, 422), unknown
    small = me.post("/me/conversion-requests", {"partner_id": bank.pk, "partner_points": 3})
    assert small.status_code == 422 and small.json()["code"] == "conversion_below_one_coin"
    for points in (0, -5, 10**13, "100"):
        body = {"partner_id": bank.pk, "partner_points": points}
        answer = me.post("/me/conversion-requests", body)
        assert answer.status_code == 422, points
    for _ in range(conversion_requests.MAX_PENDING):
        conversion_requests.request_conversion(ana, bank.pk, 100)
    full = me.post("/me/conversion-requests", {"partner_id": bank.pk, "partner_points": 100})
    assert full.status_code == 422 and full.json()["code"] == "too_many_pending_requests"


def test_a_partner_sees_and_answers_only_its_own_requests(bank, ana, me):
    other = partners.create_partner("Aerolínea", Decimal("2"))
    other_api = Api(partners.issue_partner_key(other)[1])
    made = me.post("/me/conversion-requests", {"partner_id": bank.pk, "partner_points": 400})
    request_id = made.json()["id"]
    assert other_api.get("/partner/conversion-requests").json() == []
    assert other_api.post(f"/partner/conversion-requests/{request_id}/confirm").status_code == 404
    for bad in ("abc", "9" * 30, "-1"):
        assert other_api.post(f"/partner/conversion-requests/{bad}/confirm").status_code == 404
    # A customer token, a merchant key: not a partner.
    assert me.post(f"/partner/conversion-requests/{request_id}/confirm").status_code in (401, 403)
    assert wallet_of(ana)["available"] == 0


def test_the_app_screen_asks_and_shows_the_answer_in_spanish(bank, bank_api, ana):
    client = Client()
    client.cookies["django_language"] = "es"
    sign_in(client, ana)
    page = client.get("/app/coins/").content.decode()
    assert "Convertir puntos aquí" in page and "Banco Andino" in page
    form = {"partner": str(bank.pk), "partner_points": "1000", "token": "t1"}
    sent = client.post("/app/coins/convert/", form)
    assert sent["Location"] == "/app/coins/?requested=1"
    assert client.post("/app/coins/convert/", form)["Location"] == "/app/coins/?requested=1"
    assert ConversionRequest.objects.count() == 1  # the same form twice: one request
    shown = client.get("/app/coins/?requested=1").content.decode()
    assert "Su solicitud fue enviada" in shown and 'data-request="pending"' in shown
    small = client.post("/app/coins/convert/", {"partner": str(bank.pk), "partner_points": "2"})
    assert small.status_code == 422
    text = small.content.decode()
    assert 'id="partner_points-error"' in text and "menos de una moneda" in text
    empty = client.post("/app/coins/convert/", {"partner": "", "partner_points": "x"})
    assert empty.status_code == 422 and 'id="partner-error"' in empty.content.decode()
    request_id = ConversionRequest.objects.get().pk
    bank_api.post(f"/partner/conversion-requests/{request_id}/confirm")
    after = client.get("/app/coins/").content.decode()
    assert 'data-request="converted"' in after and 'data-available="250"' in after


def test_the_operator_turns_app_conversion_on_in_the_admin(db):
    from lealtad.network.models import User

    operator = Client()
    operator.force_login(User.objects.create_superuser("op", "op@example.com", testing.PASSWORD))
    made = operator.post(
        "/admin/coins/partner/add/",
        {"name": "Puntos Sur", "rate": "0.5", "active": "on", "app_conversion": "on"},
    )
    assert made.status_code == 302, made.content[:2000]
    assert [p.name for p in conversion_requests.app_partners()] == ["Puntos Sur"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_confirms_credit_once(bank, ana):
    import threading

    from django.conf import settings
    from django.db import connection

    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("needs PostgreSQL (row locks): set DATABASE_URL=postgres://… to run it")
    request = conversion_requests.request_conversion(ana, bank.pk, 1000)
    secret = partners.issue_partner_key(bank)[1]
    barrier = threading.Barrier(4)
    answers = []

    def confirm():
        barrier.wait(timeout=30)
        answers.append(Api(secret).post(f"/partner/conversion-requests/{request.pk}/confirm"))
        connection.close()

    threads = [threading.Thread(target=confirm) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 201]
    assert wallet_of(ana)["available"] == 250 and PartnerConversion.objects.count() == 1
    assert check_ledger() == []
