"""Numbers on screens: one way to write points, money, percentages, multipliers and limits per
language — never a Decimal as it is ("1E+1", "1.00")."""

import re
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import translation

from lealtad.core import numbers, testing
from lealtad.program.models import FraudRule, RuleKind

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "es",
            ["10\u00a0%", "12,5\u00a0%", "1.250.000", "25.000 COP", "12,5 BRL", "×1,5", "2\u00a0%"],
        ),
        ("pt-br", ["10%", "12,5%", "1.250.000", "25.000 COP", "12,5 BRL", "×1,5", "2%"]),
        ("en", ["10%", "12.5%", "1,250,000", "25,000 COP", "12.5 BRL", "×1.5", "2%"]),
    ],
)
def test_numbers_are_written_the_language_s_way(language, expected):
    with translation.override(language):
        assert [
            numbers.format_percent(Decimal("10").normalize()),  # 1E+1 inside
            numbers.format_percent(Decimal("12.50")),
            numbers.format_points(1_250_000),
            numbers.format_money(Decimal("25000.00"), "COP"),
            numbers.format_money(Decimal("12.50"), "BRL"),
            numbers.format_multiplier(Decimal("1.50")),
            numbers.format_rate(Decimal("0.0200")),
        ] == expected


def test_limits_and_money_are_written_as_what_they_count():
    shop = testing.make_merchant()  # Colombia
    rule = FraudRule(merchant=shop.merchant, kind=RuleKind.MAX_ACCRUALS_PER_DAY, limit=Decimal("1"))
    assert rule.shown_limit() == "1"
    rule.kind, rule.limit = RuleKind.MAX_POINTS_PER_DAY, Decimal("2500.00")
    assert rule.shown_limit() == "2.500"
    with translation.override("en"):  # the country decides how money is written, not the screen
        assert numbers.format_money(Decimal("150000.00"), "COP", "CO") == "150.000 COP"
        assert numbers.format_money(Decimal("1234.5"), "USD", "PA") == "1,234.50 USD"
    assert numbers.trimmed(Decimal("1.00")) == Decimal("1")
    assert str(numbers.trimmed(Decimal("10"))) == "10"
    assert str(numbers.trimmed(Decimal("12.50"))) == "12.5"


def test_a_ten_percent_gift_reads_ten_percent_off():
    shop = testing.make_merchant()
    gift = testing.make_gift(shop, "discount", discount_percent=Decimal("10"))
    with translation.override("es"):
        assert gift.summary == "10\u00a0% de descuento"
    with translation.override("pt-br"):
        assert gift.summary == "10% de desconto"


def test_an_out_of_stock_prize_says_so_at_the_till():
    shop = testing.make_merchant()
    made = testing.make_customer(shop)
    testing.make_reward(shop, cost=10, stock=0, name="Torta agotada")
    client = Client()
    client.force_login(testing.make_cashier(shop))
    page = client.get(f"/cashier/c/{made.customer.pk}/").content.decode()
    assert "Agotado" in page
    assert "0 faltan" not in page


def test_a_refusal_names_its_limit_as_a_count():
    from lealtad.core.errors import FraudRuleRefused
    from lealtad.ledger import actions

    shop = testing.make_merchant()
    made = testing.make_customer(shop)
    FraudRule.objects.create(
        merchant=shop.merchant, kind=RuleKind.MAX_ACCRUALS_PER_DAY, limit=1, action="refuse"
    )
    accrue = dict(merchant=shop.merchant, customer=made.customer, branch=shop.branch)
    actions.accrue_points(amount=Decimal("5000"), invoice_number="A-1", **accrue)
    with translation.override("es"), pytest.raises(FraudRuleRefused) as refused:
        actions.accrue_points(amount=Decimal("5000"), invoice_number="A-2", **accrue)
    assert str(refused.value.detail).endswith("(1).")
    client = Client()
    client.force_login(shop.admin)
    page = client.get("/console/rules/").content.decode()
    assert 'value="1"' in page
    assert 'value="1.00"' not in page


def test_console_forms_show_decimals_as_typed():
    from lealtad.program.models import Category

    shop = testing.make_merchant()
    gift = testing.make_gift(shop, "discount", discount_percent=Decimal("10"))
    category = Category.objects.create(
        merchant=shop.merchant, name="Oro", multiplier=Decimal("1.5")
    )
    promo = testing.make_promotion(shop, "multiplier", multiplier=Decimal("2"))
    client = Client()
    client.force_login(shop.admin)
    for url, value in (
        (f"/console/gifts/{gift.pk}/", 'value="10"'),
        (f"/console/categories/{category.pk}/", 'value="1.5"'),
        (f"/console/promotions/{promo.pk}/", 'value="2"'),
        ("/console/program/", 'value="1.000"'),  # AmountField: as typed in Colombia
    ):
        page = client.get(url).content.decode()
        assert value in page, url
        assert not re.search(r'value="\d+\.\d?0"', page), url  # 10.00, 1.50


def test_one_point_is_singular():
    from lealtad.core.errors import InsufficientPoints
    from lealtad.ledger import actions

    shop = testing.make_merchant()  # a point per 1000
    made = testing.make_customer(shop)
    client = Client()
    client.force_login(testing.make_cashier(shop))
    page = client.post(
        f"/cashier/c/{made.customer.pk}/accrue/", {"amount": "1000", "invoice_number": "S-1"}
    ).content.decode()
    assert "+1 punto. Nuevo saldo: 1." in page
    reward = testing.make_reward(shop, cost=2)
    with translation.override("es"), pytest.raises(InsufficientPoints) as refused:
        actions.redeem_reward(membership=made.membership, reward_id=reward.pk, branch=shop.branch)
    assert str(refused.value.detail) == "Falta 1 punto."
    with translation.override("pt-br"):
        assert testing.make_gift(shop, "points", points=1).summary == "1 ponto"
        assert testing.make_gift(shop, "points", points=1500).summary == "1.500 pontos"
