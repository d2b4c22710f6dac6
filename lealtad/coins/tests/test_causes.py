"""K5: causes, `donate`, and the operator's donation report (screen and CSV)."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from lealtad.coins import actions as coins
from lealtad.coins import causes
from lealtad.coins.models import Cause, Donation
from lealtad.core import errors, testing
from lealtad.ledger.check import check_ledger
from lealtad.ledger.identity import coin_identity
from lealtad.ledger.models import Entry, Kind, Lot
from lealtad.network.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    return testing.make_merchant(coin_issuer=True, cashback_rate="0.1")


@pytest.fixture
def school():
    return causes.create_cause("Escuela Rural", "Útiles para la escuela de la vereda")


def earn(shop, customer, amount, when=None):
    return coins.earn_coins(
        merchant=shop.merchant, customer=customer, amount=Decimal(amount), now=when
    )


def test_a_donation_takes_the_oldest_coins_first_and_names_the_cause(shop, school):
    customer = testing.make_customer(shop).customer
    now = timezone.now()
    old = earn(shop, customer, 1000, now - dt.timedelta(days=300)).transaction  # 100 coins
    new = earn(shop, customer, 500, now - dt.timedelta(days=1)).transaction  # 50 coins
    donation = causes.donate(customer, school, 120)
    assert donation.coins == 120 and donation.cause == school
    txn = donation.transaction
    assert (txn.kind, txn.points, txn.balance_after) == (Kind.DONATION, -120, 30)
    taken = dict(Entry.objects.filter(transaction=txn).values_list("lot__transaction", "points"))
    assert taken == {old.pk: -100, new.pk: -20}
    assert Lot.objects.get(transaction=new).remaining == 30
    assert coins.wallet_of(customer)["available"] == 30
    from lealtad.coins.partners import describe

    assert describe(txn) == "Donación a Escuela Rural"
    assert check_ledger() == [] and coin_identity() == []


def test_more_than_the_wallet_holds_is_refused_and_moves_nothing(shop, school):
    customer = testing.make_customer(shop).customer
    earn(shop, customer, 1000)
    with pytest.raises(errors.InsufficientPoints) as refused:
        causes.donate(customer, school, 101)
    assert refused.value.code == "insufficient_coins"
    assert "100 disponibles" in str(refused.value.detail)
    assert coins.wallet_of(customer)["available"] == 100 and not Donation.objects.exists()
    nobody = testing.make_customer(shop).customer
    with pytest.raises(errors.InsufficientPoints):
        causes.donate(nobody, school, 1)


def test_expired_coins_cannot_be_given(shop, school):
    customer = testing.make_customer(shop).customer
    earn(shop, customer, 1000, timezone.now() - dt.timedelta(days=800))  # past 24 months
    with pytest.raises(errors.InsufficientPoints):
        causes.donate(customer, school, 1)
    assert coins.wallet_of(customer)["available"] == 0
    assert check_ledger() == [] and coin_identity() == []


def test_bad_amounts_inactive_causes_and_suspended_customers(shop, school):
    customer = testing.make_customer(shop).customer
    earn(shop, customer, 1000)
    for bad in (0, -1, 1.5, "5", True, None):
        with pytest.raises(errors.ValidationFailed):
            causes.donate(customer, school, bad)
    school.active = False
    school.save()
    with pytest.raises(causes.CauseUnavailable):
        causes.donate(customer, school, 1)
    school.active = True
    school.save()
    customer.suspended = True
    customer.save(update_fields=["suspended"])
    with pytest.raises(errors.CustomerSuspended):
        causes.donate(customer, school, 1)
    assert not Donation.objects.exists()


def _history(shop, school):
    """Three donors to the school over two months, one to the park."""
    park = causes.create_cause("Parque Limpio")
    causes.create_cause("Sin donaciones")
    a, b, c = (testing.make_customer(shop).customer for _ in range(3))
    for customer in (a, b, c):
        earn(shop, customer, 10_000, dt.datetime(2026, 1, 2, tzinfo=dt.UTC))
    jan, feb = dt.datetime(2026, 1, 20, 15, tzinfo=dt.UTC), dt.datetime(2026, 2, 3, tzinfo=dt.UTC)
    causes.donate(a, school, 10, now=jan)
    causes.donate(a, school, 5, now=jan)
    causes.donate(b, school, 20, now=jan)
    causes.donate(c, school, 7, now=feb)
    causes.donate(a, park, 3, now=feb)
    return park


def test_the_report_per_cause_and_month(shop, school):
    _history(shop, school)
    report = {block["cause"].name: block for block in causes.donation_report()}
    assert list(report) == ["Escuela Rural", "Parque Limpio", "Sin donaciones"]
    months = [
        (ln.month, ln.coins, ln.donors, ln.donations) for ln in report["Escuela Rural"]["months"]
    ]
    assert months == [(dt.date(2026, 1, 1), 35, 2, 3), (dt.date(2026, 2, 1), 7, 1, 1)]
    total = report["Escuela Rural"]["total"]
    assert (total.coins, total.donors, total.donations) == (42, 3, 4)
    assert report["Sin donaciones"]["total"].coins == 0
    only_feb = causes.donation_report(dt.date(2026, 2, 1), dt.date(2026, 2, 28))
    assert [b["total"].coins for b in only_feb] == [7, 3, 0]


@pytest.fixture
def operator():
    client = Client()
    client.force_login(User.objects.create_superuser("op", "op@example.com", testing.PASSWORD))
    return client


def test_the_operator_sees_the_report_on_screen_and_as_csv(shop, school, operator):
    _history(shop, school)
    listing = operator.get("/admin/coins/cause/")
    assert b"/admin/coins/cause/report/" in listing.content
    page = operator.get("/admin/coins/cause/report/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Donaciones por causa" in html and "Escuela Rural" in html and "2026-01" in html
    row = re.search(r"<tr>\s*<td>Escuela Rural</td><td>2026-01</td>\s*<td>35</td><td>2</td>", html)
    assert row, html
    csv = operator.get("/admin/coins/cause/report/?format=csv")
    assert csv["Content-Type"].startswith("text/csv")
    text = csv.content.decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[0] == "Causa;Mes;Monedas;Donantes;Donaciones"
    assert "Escuela Rural;2026-01;35;2;3" in lines and "Escuela Rural;Total;42;3;4" in lines
    bad = operator.get("/admin/coins/cause/report/?date_from=2026-03-01&date_to=2026-01-01")
    assert bad.status_code == 400 and "errornote" in bad.content.decode()
    assert operator.get("/admin/coins/cause/report/?date_from=garbage").status_code == 400


def test_a_cause_name_never_runs_as_a_formula_in_the_csv(shop, operator):
    evil = causes.create_cause("=HYPERLINK(1)")
    customer = testing.make_customer(shop).customer
    earn(shop, customer, 1000)
    causes.donate(customer, evil, 1)
    text = operator.get("/admin/coins/cause/report/?format=csv").content.decode("utf-8-sig")
    assert "'=HYPERLINK(1);" in text


def test_merchant_staff_cannot_see_the_report(shop):
    client = Client()
    client.force_login(shop.admin)
    response = client.get("/admin/coins/cause/report/")
    assert response.status_code in (302, 403)
    assert Cause.objects.count() == 0 or b"Escuela" not in response.content


def test_the_statement_line_names_the_cause(shop, school):
    from lealtad.coins.statement import coin_statement

    customer = testing.make_customer(shop).customer
    earn(shop, customer, 1000)
    causes.donate(customer, school, 30)
    latest = coin_statement(customer, shop.merchant)[0]
    assert (latest.label, latest.coins, latest.balance) == ("Donación a Escuela Rural", -30, 70)
