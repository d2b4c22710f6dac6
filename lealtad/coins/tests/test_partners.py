"""K4: partner programs, their own keys, and `POST /api/v1/partner/conversions`."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from lealtad.api.tests.conftest import Api
from lealtad.coins import actions as coins
from lealtad.coins import partners
from lealtad.coins.models import PartnerConversion
from lealtad.core import testing
from lealtad.ledger.check import check_ledger
from lealtad.ledger.identity import coin_identity
from lealtad.ledger.models import Kind, Transaction


@pytest.fixture
def bank(db):
    return partners.create_partner("Banco Andino", Decimal("0.25"))


@pytest.fixture
def bank_api(bank):
    return Api(partners.issue_partner_key(bank)[1])


@pytest.fixture
def shop(db):
    return testing.make_merchant(coin_issuer=True, cashback_rate="0.03")


@pytest.fixture
def customer(shop):
    return testing.make_customer(shop).customer


def body_for(customer, points=1000, reference="R-1", **extra):
    return {
        "document_type": customer.document_type,
        "document_number": customer.document_number,
        "country": customer.country,
        "partner_points": points,
        "reference": reference,
        **extra,
    }


def problem(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["code"] == code, response.json()
    return response.json()


def test_a_conversion_credits_floor_of_points_times_rate_and_names_the_partner(
    bank, bank_api, customer
):
    response = bank_api.post("/partner/conversions", body_for(customer, points=1003))
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["coins"] == 250 and data["partner_points"] == 1003  # floor(250.75)
    assert data["partner"] == "Banco Andino" and data["customer_id"] == str(customer.pk)
    assert coins.wallet_of(customer)["available"] == 250
    txn = Transaction.objects.get(pk=data["id"])
    assert txn.kind == Kind.CONVERSION and txn.points == 250 and txn.balance_after == 250
    assert partners.describe(txn) == "Monedas de Banco Andino"
    assert txn.partner_conversion.partner == bank
    assert check_ledger() == [] and coin_identity() == []


def test_the_document_is_found_in_its_normal_form(bank_api, customer):
    number = f"{int(customer.document_number):,}".replace(",", ".")  # 10.007.919 as people write
    body = body_for(customer, document_number=number, document_type="cc", country="co")
    assert bank_api.post("/partner/conversions", body).status_code == 201


def test_the_same_reference_again_is_the_same_conversion_never_a_second_credit(bank_api, customer):
    first = bank_api.post("/partner/conversions", body_for(customer))
    again = bank_api.post("/partner/conversions", body_for(customer))
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    assert coins.wallet_of(customer)["available"] == 250
    assert Transaction.objects.filter(kind=Kind.CONVERSION).count() == 1
    # Another reference is another conversion.
    assert (
        bank_api.post("/partner/conversions", body_for(customer, reference="R-2")).status_code
        == 201
    )
    assert coins.wallet_of(customer)["available"] == 500


def test_the_same_reference_with_other_data_is_refused(bank_api, customer, shop):
    bank_api.post("/partner/conversions", body_for(customer))
    problem(bank_api.post("/partner/conversions", body_for(customer, points=2000)), 409,
            "conversion_reference_reused")  # fmt: skip
    other = testing.make_customer(shop).customer
    problem(bank_api.post("/partner/conversions", body_for(other)), 409,
            "conversion_reference_reused")  # fmt: skip
    assert coins.wallet_of(other)["available"] == 0


def test_references_belong_to_their_partner(bank_api, customer):
    airline = partners.create_partner("Aerolínea", Decimal("2"))
    airline_api = Api(partners.issue_partner_key(airline)[1])
    assert bank_api.post("/partner/conversions", body_for(customer)).status_code == 201
    assert airline_api.post("/partner/conversions", body_for(customer)).status_code == 201
    assert coins.wallet_of(customer)["available"] == 250 + 2000


def test_refusals_are_problems(bank_api, customer):
    problem(bank_api.post("/partner/conversions", body_for(customer, document_number="99999999")),
            404, "not_found")  # fmt: skip
    problem(bank_api.post("/partner/conversions", body_for(customer, points=3)), 422,
            "conversion_below_one_coin")  # fmt: skip
    below = bank_api.post("/partner/conversions", body_for(customer, points=3)).json()
    assert below["minimum"] == 4
    for bad in (0, -5, "100", 1.5, True, 10**13):
        problem(bank_api.post("/partner/conversions", body_for(customer, points=bad)), 422,
                "validation_error")  # fmt: skip
    for field, value in (("document_type", "XX"), ("document_number", "12"), ("country", "C"),
                         ("reference", ""), ("reference", "x" * 65)):  # fmt: skip
        problem(bank_api.post("/partner/conversions", body_for(customer, **{field: value})), 422,
                "validation_error")  # fmt: skip
    problem(bank_api.post("/partner/conversions", raw="{"), 400, "http_error")
    assert Transaction.objects.filter(kind=Kind.CONVERSION).count() == 0


def test_a_suspended_customer_converts_nothing(bank_api, customer):
    customer.suspended = True
    customer.save(update_fields=["suspended"])
    problem(bank_api.post("/partner/conversions", body_for(customer)), 403, "customer_suspended")


def test_a_partner_key_reaches_only_the_partner_endpoint(bank_api, customer, shop):
    for path in (f"/customers/{customer.pk}", "/customers?q=x", "/rewards"):
        problem(bank_api.get(path), 403, "forbidden")
    problem(bank_api.post("/coins/earnings", {"customer_id": str(customer.pk), "amount": "1000"}),
            403, "forbidden")  # fmt: skip
    problem(bank_api.post("/accruals", {"customer_id": str(customer.pk), "amount": "1000"}), 403,
            "forbidden")  # fmt: skip


def test_merchant_and_staff_credentials_get_403_at_the_partner_endpoint(shop, customer):
    for token in (shop.api_key, testing.token_for(shop.admin)):
        problem(Api(token).post("/partner/conversions", body_for(customer)), 403, "forbidden")
    problem(Api("lpp_nope").post("/partner/conversions", body_for(customer)), 401, "unauthorized")
    problem(Api().post("/partner/conversions", body_for(customer)), 401, "unauthorized")
    assert coins.wallet_of(customer)["available"] == 0


def test_a_revoked_key_or_an_inactive_partner_is_refused(bank, customer):
    key, secret = partners.issue_partner_key(bank)
    partners.revoke_partner_key(key)
    problem(Api(secret).post("/partner/conversions", body_for(customer)), 401, "unauthorized")
    _key, secret = partners.issue_partner_key(bank)
    bank.active = False
    bank.save(update_fields=["active"])
    problem(Api(secret).post("/partner/conversions", body_for(customer)), 401, "unauthorized")


@pytest.mark.django_db(transaction=True)
def test_the_same_conversion_posted_by_ten_threads_at_once_credits_once(postgres_only):
    bank = partners.create_partner("Banco Paralelo", Decimal("0.5"))
    secret = partners.issue_partner_key(bank)[1]
    customer = testing.make_customer(testing.make_merchant()).customer
    count = 10
    barrier = threading.Barrier(count)
    statuses = [None] * count

    def work(i):
        try:
            barrier.wait(timeout=30)
            statuses[i] = Api(secret).post("/partner/conversions", body_for(customer)).status_code
        except Exception as exc:  # collected and asserted below
            statuses[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(statuses) == [200] * (count - 1) + [201], statuses
    assert PartnerConversion.objects.count() == 1
    assert Transaction.objects.filter(kind=Kind.CONVERSION).count() == 1
    assert coins.wallet_of(customer)["available"] == 500
    assert check_ledger() == [] and coin_identity() == []


@pytest.mark.in_process
def test_the_operator_defines_a_partner_and_issues_its_key_in_the_admin(customer):
    """In process only (in_process): it clears this process's actor cache, not a live server's."""
    import re

    from django.test import Client

    from lealtad.coins.models import Partner, PartnerKey
    from lealtad.network.models import User

    operator = Client()
    operator.force_login(User.objects.create_superuser("op", "op@example.com", testing.PASSWORD))
    made = operator.post("/admin/coins/partner/add/", {"name": "Aerolínea Sur", "rate": "1.5",
                                                       "active": "on"})  # fmt: skip
    assert made.status_code == 302, made.content[:2000]
    partner = Partner.objects.get(name="Aerolínea Sur")
    assert partner.rate == Decimal("1.5") and partner.network.currency == "COP"
    refused = operator.post("/admin/coins/partner/add/", {"name": "Cero", "rate": "0"})
    assert refused.status_code == 200 and not Partner.objects.filter(name="Cero").exists()
    page = operator.post("/admin/coins/partnerkey/add/", {"partner": partner.pk, "name": "Prod"})
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    secret = re.search(rb'<code id="secret"[^>]*>(lpp_[^<]+)</code>', page.content).group(1)
    secret = secret.decode()
    response = Api(secret).post("/partner/conversions", body_for(customer, points=10))
    assert response.status_code == 201 and response.json()["coins"] == 15
    key = PartnerKey.objects.get(partner=partner)
    change = operator.get(f"/admin/coins/partnerkey/{key.pk}/change/")
    assert change.status_code == 200 and secret.encode() not in change.content
    assert key.key_hash.encode() not in change.content
    operator.post("/admin/coins/partnerkey/", {"action": "revoke", "_selected_action": [key.pk]})
    # No cache to clear: the revocation replaced the key's generation in the shared cache.
    again = Api(secret).post("/partner/conversions", body_for(customer, reference="R-9"))
    assert again.status_code == 401


def test_the_statement_line_names_the_partner(bank, customer, shop):
    from lealtad.coins.statement import coin_statement

    partners.convert(partner=bank, customer=customer, partner_points=400, reference="S-1")
    (line,) = coin_statement(customer, shop.merchant)
    assert (line.label, line.merchant_name, line.coins) == (
        "Monedas de Banco Andino",
        "Banco Andino",
        100,
    )
    assert not line.own and line.invoice_number == ""
