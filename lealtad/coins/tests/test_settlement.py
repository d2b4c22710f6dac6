"""The monthly settlement statement, its reconciliation with the ledger, and `ledger-check`'s
settlement identity: issued + converted − accepted − expired − donated − reversed = coins
outstanding (available + held in every wallet)."""

import datetime as dt
import re
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client

from lealtad.coins import actions as coins
from lealtad.coins import causes, partners, settlement
from lealtad.core import testing
from lealtad.ledger import actions as ledger
from lealtad.ledger.check import check_ledger
from lealtad.ledger.identity import coin_identity
from lealtad.ledger.models import Account, AccountKind, Kind, Transaction
from lealtad.network.models import User

pytestmark = pytest.mark.django_db
UTC = dt.UTC


def at(month, day, hour=15):
    return dt.datetime(2026, month, day, hour, tzinfo=UTC)


@pytest.fixture
def network():
    """A café and a bakery issue, a bookshop accepts; a bank converts; a school receives."""
    cafe = testing.make_merchant("Café", coin_issuer=True, cashback_rate="0.03")
    bakery = testing.make_merchant("Panadería", coin_issuer=True, cashback_rate="0.1")
    books = testing.make_merchant("Librería", coin_acceptor=True)
    bank = partners.create_partner("Banco Andino", Decimal("0.5"))
    school = causes.create_cause("Escuela Rural")
    return cafe, bakery, books, bank, school


def history(network):
    """A varied history over January to March 2026; returns the customers."""
    cafe, bakery, books, bank, school = network
    ana, beto, caro = (testing.make_customer(cafe).customer for _ in range(3))

    def earn(shop, who, amount, when, invoice=None):
        return coins.earn_coins(merchant=shop.merchant, customer=who, amount=Decimal(amount),
                                invoice_number=invoice, now=when).transaction  # fmt: skip

    def pay(who, n, when):
        return coins.pay_with_coins(merchant=books.merchant, customer=who, coins=n, now=when)

    # January: 300 + 300 at the café, 1000 at the bakery; a conversion; a payment; a donation.
    earn(cafe, ana, 10_000, at(1, 5), "C-1")
    earn(cafe, beto, 10_000, at(1, 6), "C-2")
    wrong = earn(bakery, caro, 10_000, at(1, 7), "P-1")
    partners.convert(partner=bank, customer=ana, partner_points=401, reference="B-1",
                     now=at(1, 8))  # fmt: skip  # 200 coins
    pay(ana, 150, at(1, 10))
    causes.donate(beto, school, 40, now=at(1, 12))
    # The last evening of January in Bogotá is already February in UTC: it is January's.
    earn(bakery, beto, 1000, dt.datetime(2026, 2, 1, 3, tzinfo=UTC), "P-2")  # 100 coins
    # February: the bakery's January earning is reversed; a payment is reversed; more
    # payments; a second conversion.
    ledger.reverse_transaction(merchant=bakery.merchant, transaction_id=wrong.pk,
                               reason="error de caja", now=at(2, 3))  # fmt: skip
    pay(beto, 300, at(2, 3))
    refunded = pay(beto, 60, at(2, 4)).transaction
    ledger.reverse_transaction(merchant=books.merchant, transaction_id=refunded.pk,
                               reason="devolución", now=at(2, 5))  # fmt: skip
    pay(ana, 100, at(2, 6))
    partners.convert(partner=bank, customer=caro, partner_points=100, reference="B-2",
                     now=at(2, 9))  # fmt: skip  # 50 coins
    # March: an old earning expires (24 months later would be 2028: earned back in 2024).
    earn(cafe, caro, 5000, dt.datetime(2024, 2, 10, tzinfo=UTC), "C-old")  # 150 coins
    ledger.expire_points(now=at(3, 1))
    causes.donate(ana, school, 10, now=at(3, 2))
    return ana, beto, caro


def test_each_month_reconciles_and_the_last_closes_on_what_the_wallets_hold(network):
    history(network)
    jan = settlement.statement_for(dt.date(2026, 1, 1))
    by_name = {ln.merchant.name.split()[0]: ln for ln in jan.merchants}
    assert (by_name["Café"].issued, by_name["Panadería"].issued) == (600, 1100)
    assert by_name["Librería"].accepted == 150 and by_name["Librería"].net == 150
    assert by_name["Café"].net == -600 and by_name["Panadería"].owed_by_merchant == 1100
    assert (jan.converted, jan.donated, jan.expired, jan.reversed) == (200, 40, 0, 0)
    assert jan.by_partner == [("Banco Andino", 200)] and jan.by_cause == [("Escuela Rural", 40)]
    # The café's 2024 earning is before January: it opens the statement.
    assert jan.opening == 150 and jan.closing == 150 + 600 + 1100 + 200 - 150 - 40
    assert jan.reconciles

    feb = settlement.statement_for(dt.date(2026, 2, 1))
    by_name = {ln.merchant.name.split()[0]: ln for ln in feb.merchants}
    bakery_line, books_line = by_name["Panadería"], by_name["Librería"]
    assert (bakery_line.issued, bakery_line.issued_reversed) == (0, 1000)
    assert bakery_line.owed_by_merchant == -1000 and bakery_line.net == 1000
    assert (books_line.accepted, books_line.accepted_reversed) == (460, 60)
    assert books_line.owed_to_merchant == 400
    assert feb.reversed == 1000 - 60 and feb.converted == 50
    assert feb.opening == jan.closing and feb.reconciles

    mar = settlement.statement_for(dt.date(2026, 3, 1))
    assert (mar.expired, mar.donated) == (150, 10) and mar.opening == feb.closing
    assert mar.reconciles
    wallets = Account.objects.filter(kind=AccountKind.COINS)
    outstanding = sum(a.balance + a.pending for a in wallets)
    assert mar.closing == outstanding
    # All months together: issued + converted − accepted − expired − donated − reversed.
    months = [jan, feb, mar]
    total = sum(
        m.issued + m.converted - m.accepted - m.expired - m.donated - m.reversed for m in months
    )
    assert jan.opening + total == outstanding
    assert coin_identity() == [] and check_ledger() == []
    # A quiet month lists every issuer and acceptor with zeros and changes nothing.
    quiet = settlement.statement_for(dt.date(2026, 6, 1))
    assert len(quiet.merchants) == 3 and all(ln.net == 0 for ln in quiet.merchants)
    assert quiet.opening == quiet.closing == outstanding


def test_points_movements_do_not_enter_the_statement(network):
    cafe = network[0]
    member = testing.make_customer(cafe).membership
    ledger.accrue_points(merchant=cafe.merchant, membership=member, branch=cafe.branch,
                         amount=Decimal(50_000), now=at(1, 3))  # fmt: skip
    jan = settlement.statement_for(dt.date(2026, 1, 1))
    assert jan.closing == 0 and all(ln.issued == 0 for ln in jan.merchants)


def test_ledger_check_fails_loudly_when_the_identity_does_not_hold(network):
    history(network)
    out = StringIO()
    call_command("ledger_check", stdout=out)
    assert "settlement identity holds" in out.getvalue()
    # Tamper with one movement's headline figure: its entries and lots still agree with the
    # account (the per-account check passes), but the movements no longer sum to the wallets.
    earning = Transaction.objects.filter(kind=Kind.COIN_EARN).order_by("created_at").last()
    with connection.cursor() as cursor:
        pk = earning.pk.hex if connection.vendor == "sqlite" else earning.pk
        cursor.execute("UPDATE ledger_transaction SET points = points + 7 WHERE id = %s", [pk])
    assert Transaction.objects.get(pk=earning.pk).points == earning.points + 7
    problems = coin_identity()
    assert len(problems) == 1 and "settlement identity fails" in problems[0]
    assert check_ledger() == []  # every account itself still agrees
    err = StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("ledger_check", stdout=StringIO(), stderr=err)
    assert exit_.value.code == 1
    assert "settlement identity fails" in err.getvalue()
    # Put back, it holds again.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE ledger_transaction SET points = points - 7 WHERE kind = 'coin_earn' "
                       "AND points = %s", [earning.points + 7])  # fmt: skip
    assert coin_identity() == []


@pytest.fixture
def operator():
    client = Client()
    client.force_login(User.objects.create_superuser("op", "op@example.com", testing.PASSWORD))
    return client


def test_the_operator_reads_the_statement_on_screen_and_as_csv(network, operator):
    history(network)
    page = operator.get("/admin/coins/settlement/?month=2026-02")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Estado de liquidación" in html and 'type="month"' in html
    assert "El estado cuadra con el libro contable." in html
    assert "Montos en COP" in html
    bakery = re.search(r"<th scope=\"row\">Panadería[^<]*</th>(.*?)</tr>", html, re.S).group(1)
    assert re.findall(r"<td>([^<]*?)\s*(?:\(|</td>)", bakery)[:4] == ["0", "1.000", "-1.000", "0"]
    assert "paga la red" in bakery
    assert "Convertidas de Banco Andino" in html
    csv = operator.get("/admin/coins/settlement/?month=2026-02&format=csv")
    assert csv["Content-Type"].startswith("text/csv")
    assert 'filename="settlement-2026-02.csv"' in csv["Content-Disposition"]
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "Mes;Comercio;Concepto;Valor;Moneda"
    name = network[1].merchant.name
    assert f"2026-02;{name};Monedas emitidas reversadas;1000.00;COP" in lines
    assert f"2026-02;{name};Posición neta;1000.00;COP" in lines
    assert "2026-02;Red;Convertidas de Banco Andino;50.00;COP" in lines
    # The current month by default; garbage is a message, not a 500.
    assert operator.get("/admin/coins/settlement/").status_code == 200
    for bad in ("2026-13", "garbage", "26-01", "2026-1"):
        response = operator.get(f"/admin/coins/settlement/?month={bad}")
        assert response.status_code == 400 and "errornote" in response.content.decode()


def test_merchant_staff_cannot_reach_the_statement(network):
    client = Client()
    client.force_login(network[0].admin)
    assert operator_only(client.get("/admin/coins/settlement/"))


def operator_only(response) -> bool:
    return response.status_code in (302, 403) and b"Panader" not in response.content
