"""The points rules on the screens: the till's accrual and its preview, the console's program
settings. Messages are the user's language (Spanish by default), next to their field."""

from decimal import Decimal

import pytest
from django.test import Client

from lealtad.cashier import goals
from lealtad.core import testing
from lealtad.ledger import actions
from lealtad.ledger.models import Account, Transaction
from lealtad.network.models import Merchant
from lealtad.program.models import Category, FraudRule

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    return testing.make_merchant()


@pytest.fixture
def carol(shop):
    return testing.make_cashier(shop, "carol")


@pytest.fixture
def till(carol):
    client = Client()
    client.force_login(carol)
    return client


@pytest.fixture
def console(shop):
    client = Client()
    client.force_login(shop.admin)
    return client


@pytest.fixture
def member(shop):
    return testing.make_customer(shop).membership


def accrue(till, member, amount, invoice=""):
    return till.post(
        f"/cashier/c/{member.customer_id}/accrue/", {"amount": amount, "invoice_number": invoice}
    ).content.decode()


def error_of(page, field):
    """The message shown next to `field` on the accrual form."""
    if field == "amount":
        return page.split('id="amount-error">')[1].split("</p>")[0]
    return page.split('id="id_invoice_number"')[1].split('<p class="error">')[1].split("</p>")[0]


def test_an_invoice_in_another_case_is_refused_next_to_its_field(till, member):
    accrue(till, member, "5.000", "F-1001")
    page = accrue(till, member, "5.000", "f-1001")
    assert "ya acumuló puntos" in error_of(page, "invoice_number")
    assert Transaction.objects.filter(kind="accrual").count() == 1


def test_a_reversed_invoice_says_it_was_reversed(till, shop, member):
    txn = actions.accrue_points(
        merchant=shop.merchant,
        membership=member,
        amount=Decimal(5000),
        branch=shop.branch,
        invoice_number="F-5",
    ).transaction
    actions.reverse_transaction(merchant=shop.merchant, transaction_id=txn.pk, reason="Error")
    assert "fue anulada" in error_of(accrue(till, member, "5.000", "F-5"), "invoice_number")


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("999", "La compra mínima que da puntos es de 1.000 COP."),
        ("25,5", "Los montos en COP se escriben sin decimales, como 25.000."),
        ("1e6", "Escriba el monto así: 25.000."),
    ],
)
def test_amounts_that_earn_nothing_or_are_not_typed_here_are_refused(
    till, carol, member, typed, message
):
    page = accrue(till, member, typed)
    assert error_of(page, "amount") == message
    assert not Transaction.objects.exists()
    assert goals.progress(carol, member.merchant)["accruals"]["done"] == 0


def test_the_till_shows_the_minimum_purchase(till, member):
    page = till.get(f"/cashier/c/{member.customer_id}/").content.decode()
    assert "1 punto por cada 1.000 COP" in page and "desde 1.000 COP" in page


def test_the_preview_is_the_accrual_with_its_promotions(till, shop, member):
    """ "Otorga 25", then +50: the preview left out the promotions the accrual adds."""
    testing.make_promotion(shop, kind="multiplier", multiplier=Decimal("2"), name="Doble")
    testing.make_promotion(shop, kind="bonus", bonus_points=50, name="Bono")
    url = f"/cashier/c/{member.customer_id}/accrue/quote/"
    quote = till.get(url, {"amount": "25.000"}).content.decode()
    assert "Otorga 100 puntos" in quote
    assert "Incluye +25 de Doble." in quote and "Incluye +50 de Bono." in quote
    accrue(till, member, "25.000")
    assert Account.objects.get(pk=member.account_id).balance == 100


@pytest.mark.parametrize(
    ("typed", "shown"),
    [("999", "1.000 COP"), ("25,5", "sin decimales"), ("abc", "25.000"), ("", "")],
)
def test_the_preview_says_why_an_amount_gives_nothing(till, member, typed, shown):
    url = f"/cashier/c/{member.customer_id}/accrue/quote/"
    page = till.get(url, {"amount": typed}).content.decode()
    assert shown in page and "Otorga" not in page


def test_another_merchants_customer_gets_no_quote(till):
    other = testing.make_merchant("Otra")
    stranger = testing.make_customer(other).customer
    url = f"/cashier/c/{stranger.pk}/accrue/quote/"
    assert till.get(url, {"amount": "5000"}).status_code == 404


def test_a_brazilian_till_reads_brazilian_amounts(db):
    shop = testing.make_merchant("Posto", country="BR", point_value="1")
    client = Client()
    client.force_login(testing.make_cashier(shop))
    member = testing.make_customer(shop).membership
    accrue(client, member, "1.234,56")
    assert Account.objects.get(pk=member.account_id).balance == 1234
    page = accrue(client, member, "1,234.56")
    assert "1.234,56" in error_of(page, "amount")


# --- the console's program settings ------------------------------------------------------------


def test_a_category_multiplier_of_zero_is_refused(console, shop):
    page = console.post(
        "/console/categories/new/", {"name": "Nada", "multiplier": "0", "audit_mode": "default"}
    ).content.decode()
    assert "Debe ser mayor que cero." in page
    assert not Category.objects.filter(name="Nada").exists()


def test_fraud_limits_are_above_zero_and_whole_where_they_count(console, shop):
    rules = {
        f"{k}_{f}": "" if f == "limit" else "hold"
        for k in (
            "max_invoice_amount",
            "max_accruals_per_day",
            "min_minutes_between",
            "max_points_per_day",
        )
        for f in ("limit", "action")
    }
    page = console.post(
        "/console/rules/",
        {**rules, "max_invoice_amount_limit": "0", "max_accruals_per_day_limit": "2.5"},
    ).content.decode()
    assert page.count('class="error"') == 2
    assert not FraudRule.objects.exists()
    console.post(
        "/console/rules/",
        {**rules, "max_invoice_amount_limit": "1.000.000", "max_accruals_per_day_limit": "3"},
    )
    assert dict(FraudRule.objects.values_list("kind", "limit")) == {
        "max_invoice_amount": Decimal("1000000"),
        "max_accruals_per_day": Decimal("3"),
    }
    page = console.get("/console/rules/").content.decode()
    assert 'value="1.000.000"' in page and 'value="3"' in page


def test_a_point_value_typed_with_thousands_is_a_thousand(console, shop):
    """ "1.000" in Colombia is a thousand pesos; read as 1.000 it made every peso a point."""
    console.post(
        "/console/program/",
        {"point_value": "1.500", "points_validity_days": "365", "welcome_bonus_points": "0"},
    )
    assert Merchant.objects.get(pk=shop.merchant.pk).point_value == Decimal("1500")
    page = console.get("/console/program/").content.decode()
    assert 'value="1.500"' in page
