"""Cajero Light at the till (I2, I3): the waiting POS invoices, picked, loaded when the customer
is identified, and the transaction history — with every refusal and another merchant's ids."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from lealtad.core import testing
from lealtad.customers.actions import qr_payload
from lealtad.invoices.actions import assign_invoice, record_invoice
from lealtad.invoices.models import Invoice
from lealtad.ledger.models import Account, Transaction
from lealtad.network.models import Branch

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    return testing.make_merchant()


@pytest.fixture
def till(shop):
    client = Client()
    client.force_login(testing.make_cashier(shop, "carol"))
    return client


@pytest.fixture
def member(shop):
    return testing.make_customer(shop).membership


def invoice(shop, number="F-1001", amount="25000", branch=None, **extra):
    return record_invoice(
        merchant=shop.merchant,
        branch=branch or shop.branch,
        invoice_number=number,
        amount=Decimal(amount),
        **extra,
    )[0]


def balance(membership):
    return Account.objects.get(pk=membership.account_id).balance


def accruals():
    return Transaction.objects.filter(kind="accrual")


def page(response):
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_the_panel_lists_only_this_branchs_waiting_invoices(shop, till, member):
    mine = invoice(shop, "F-1001", "25000")
    north = Branch.objects.create(merchant=shop.merchant, name="Norte")
    invoice(shop, "N-77", "31000", branch=north)
    other = testing.make_merchant("Otra Tienda")
    invoice(other, "X-9", "99000")
    loaded = invoice(shop, "F-1002", "12000")
    assign_invoice(loaded, merchant=shop.merchant, customer=member.customer)
    html = page(till.get("/cashier/"))
    assert "Facturas en espera" in html
    assert f'id="pos-inv-{mine.pk}"' in html
    assert "25.000 COP" in html  # the merchant's format
    assert "N-77" not in html and "X-9" not in html and "F-1002" not in html
    assert 'hx-trigger="every 1500ms"' in html


def test_the_panel_answers_204_until_something_changes(shop, till):
    first = page(till.get("/cashier/invoices/panel/"))
    version = first.split("?v=")[1].split('"')[0].split("&")[0]
    assert till.get("/cashier/invoices/panel/", {"v": version}).status_code == 204
    new = invoice(shop, "F-2001", "18000")
    html = page(till.get("/cashier/invoices/panel/", {"v": version}))
    assert f'id="pos-inv-{new.pk}"' in html and "18.000 COP" in html
    assert "autofocus" not in html  # a swap must never move the cashier's cursor


def test_the_panel_poll_is_a_handful_of_queries(shop, till):
    for n in range(6):
        invoice(shop, f"F-30{n}", "10000")
    till.get("/cashier/")  # the session exists
    with CaptureQueriesContext(connection) as queries:
        assert till.get("/cashier/invoices/panel/").status_code == 200
    assert len(queries) <= 5, [q["sql"] for q in queries]


def test_another_merchants_invoice_is_not_found(shop, till, member):
    other = testing.make_merchant("Otra Tienda")
    theirs = invoice(other, "X-9", "99000")
    assert till.get(f"/cashier/invoices/{theirs.pk}/").status_code == 404
    assert till.post(f"/cashier/invoices/{theirs.pk}/pick/").status_code == 404
    assert till.post(f"/cashier/invoices/{theirs.pk}/identify/", {"q": "x"}).status_code == 404
    url = f"/cashier/invoices/{theirs.pk}/load/{member.customer_id}/"
    assert till.post(url).status_code == 404
    assert till.get("/cashier/invoices/not-an-id/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "waiting" and not accruals().exists()


def test_picking_then_identifying_the_customer_loads_the_invoice(shop, till, member):
    inv = invoice(shop, "F-1001", "25000")
    html = page(till.post(f"/cashier/invoices/{inv.pk}/pick/"))
    assert "Factura F-1001 (25.000 COP) seleccionada." in html
    assert f'action="/cashier/invoices/{inv.pk}/identify/" method="post"' in html
    scanned = {"q": qr_payload(member.customer)}
    response = till.post(f"/cashier/invoices/{inv.pk}/identify/", scanned)
    html = page(response)
    assert response["HX-Push-Url"] == f"/cashier/c/{member.customer_id}/"
    assert "Factura F-1001 (25.000 COP) cargada." in html
    assert "+25 puntos. Nuevo saldo: 25." in html
    inv.refresh_from_db()
    assert (inv.status, inv.customer_id, inv.loaded_by.username) == (
        "loaded",
        member.customer_id,
        "carol",
    )
    assert balance(member) == 25 and accruals().count() == 1
    # The pick is spent: the search is the usual one again.
    assert 'action="/cashier/search/" method="get"' in page(till.get("/cashier/"))


def test_a_search_that_finds_no_single_member_keeps_the_invoice_picked(shop, till):
    inv = invoice(shop)
    till.post(f"/cashier/invoices/{inv.pk}/pick/")
    html = page(till.post(f"/cashier/invoices/{inv.pk}/identify/", {"q": "nadie@example.com"}))
    assert "Cliente no encontrado." in html
    assert f"/cashier/invoices/{inv.pk}/identify/" in html
    inv.refresh_from_db()
    assert inv.status == "waiting" and not accruals().exists()


def test_picking_on_the_customers_card_loads_it_to_them(shop, till, member):
    inv = invoice(shop, "F-1001", "25000")
    html = page(till.get(f"/cashier/c/{member.customer_id}/"))
    assert f'name="customer" value="{member.customer_id}"' in html
    html = page(till.post(f"/cashier/invoices/{inv.pk}/pick/", {"customer": member.customer_id}))
    assert "+25 puntos. Nuevo saldo: 25." in html
    assert balance(member) == 25


def test_with_the_confirm_setting_one_key_loads_and_a_double_submit_loads_once(shop, till, member):
    shop.merchant.invoice_load_confirm = True
    shop.merchant.save(update_fields=["invoice_load_confirm"])
    inv = invoice(shop, "F-1001", "25000")
    till.post(f"/cashier/invoices/{inv.pk}/pick/")
    html = page(
        till.post(f"/cashier/invoices/{inv.pk}/identify/", {"q": member.customer.document_number})
    )
    assert "¿Cargar la factura F-1001 (25.000 COP) a " in html
    assert 'id="pos-load" autofocus' in html
    assert not accruals().exists()
    load = f"/cashier/invoices/{inv.pk}/load/{member.customer_id}/"
    first = page(till.post(load))
    second = page(till.post(load))  # a double Enter
    assert "+25 puntos. Nuevo saldo: 25." in first
    assert "Factura F-1001 (25.000 COP) cargada." in second
    assert accruals().count() == 1 and balance(member) == 25


def test_an_invoice_loaded_by_another_till_is_explained_and_nothing_moves(shop, till, member):
    inv = invoice(shop, "F-1001", "25000")
    till.post(f"/cashier/invoices/{inv.pk}/pick/")
    someone = testing.make_customer(shop).membership
    assign_invoice(inv, merchant=shop.merchant, customer=someone.customer)  # the other till
    html = page(till.post(f"/cashier/invoices/{inv.pk}/identify/", {"q": member.customer.email}))
    assert "La factura F-1001 ya no está en espera: ya fue cargada." in html
    assert balance(member) == 0 and accruals().count() == 1
    # And picked from a page drawn before: the same message, nothing picked.
    html = page(till.post(f"/cashier/invoices/{inv.pk}/pick/"))
    assert "La factura F-1001 ya no está en espera" in html
    assert 'action="/cashier/search/" method="get"' in html


def test_an_expired_invoice_cannot_be_loaded(shop, till, member):
    inv = invoice(shop, "F-1001", "25000")
    html = page(till.post(f"/cashier/invoices/{inv.pk}/pick/"))
    Invoice.objects.filter(pk=inv.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    html = page(till.post(f"/cashier/invoices/{inv.pk}/load/{member.customer_id}/"))
    assert "La factura F-1001 esperó demasiado: venció y ya no se puede cargar." in html
    assert f'id="pos-inv-{inv.pk}"' not in html  # gone from the panel
    html = page(till.post(f"/cashier/invoices/{inv.pk}/pick/"))
    assert "La factura F-1001 esperó demasiado" in html
    assert balance(member) == 0 and not accruals().exists()
    html = page(till.get("/cashier/invoices/"))
    expired = html.split('id="history-expired"')[1]
    assert "F-1001" in expired


def test_a_suspended_customer_is_refused_and_the_invoice_keeps_waiting(shop, till, member):
    customer = member.customer
    customer.suspended, customer.suspension_message = True, "Llame al 601 555 0100"
    customer.save(update_fields=["suspended", "suspension_message"])
    inv = invoice(shop, "F-1001", "25000")
    till.post(f"/cashier/invoices/{inv.pk}/pick/")
    html = page(till.post(f"/cashier/invoices/{inv.pk}/identify/", {"q": customer.email}))
    assert 'id="pos-error"' in html and "Llame al 601 555 0100" in html
    inv.refresh_from_db()
    assert inv.status == "waiting" and not accruals().exists()
    # Still picked: the next customer identified gets it.
    assert f"/cashier/invoices/{inv.pk}/identify/" in html
    other = testing.make_customer(shop).membership
    html = page(till.post(f"/cashier/invoices/{inv.pk}/identify/", {"q": other.customer.email}))
    assert "+25 puntos." in html and balance(other) == 25


def test_unselecting_forgets_the_pick(shop, till):
    inv = invoice(shop)
    till.post(f"/cashier/invoices/{inv.pk}/pick/")
    response = till.post("/cashier/invoices/drop/", {"next": "https://evil.example/"})
    assert response.status_code == 303 and response["Location"] == "/cashier/"
    assert 'action="/cashier/search/" method="get"' in page(till.get("/cashier/"))


def test_the_history_lists_waiting_loaded_and_expired_apart(shop, till, member):
    waiting = invoice(shop, "F-1", "11000")
    loaded = invoice(shop, "F-2", "22000")
    assign_invoice(loaded, merchant=shop.merchant, customer=member.customer)
    gone = invoice(shop, "F-3", "33000")
    Invoice.objects.filter(pk=gone.pk).update(status="expired")
    invoice(testing.make_merchant("Otra"), "X-1", "1000")
    html = page(till.get("/cashier/invoices/"))
    assert "Histórico de transacciones" in html
    _head, rest = html.split('id="history-waiting"')
    waiting_part, rest = rest.split('id="history-loaded"')
    loaded_part, expired_part = rest.split('id="history-expired"')
    assert "F-1" in waiting_part and f"history-load-{waiting.pk}" in waiting_part
    assert "F-2" not in waiting_part and "F-3" not in waiting_part
    assert "F-2" in loaded_part and "22 puntos" in loaded_part
    assert member.customer.full_name in loaded_part
    assert "F-3" in expired_part and "F-1<" not in expired_part
    assert "X-1" not in html


def test_view_invoice_shows_the_pos_line_items(shop, till):
    inv = invoice(
        shop,
        "F-9",
        "25000",
        lines=[
            {
                "description": "Café con leche",
                "quantity": 2,
                "unit_price": "5000",
                "amount": "10000",
            },
            {"description": "Pandebono", "quantity": 3, "unit_price": "5000", "amount": "15000"},
        ],
    )
    html = page(till.get(f"/cashier/invoices/{inv.pk}/"))
    assert "Factura F-9" in html and "25.000 COP" in html
    assert "Café con leche" in html and "Pandebono" in html and "10.000 COP" in html
    assert f'action="/cashier/invoices/{inv.pk}/pick/"' in html


def test_the_till_navigation_reaches_the_history(till):
    html = page(till.get("/cashier/"))
    assert 'id="nav-history" href="/cashier/invoices/"' in html or (
        'href="/cashier/invoices/" id="nav-history"' in html
    )


def test_a_customer_new_to_this_merchant_is_enrolled_then_asked_for_the_invoice(shop, till):
    """A customer of another merchant of the network: the masked card first; once enrolled,
    their card asks "Cargar factura" (a page reached by a GET never loads by itself)."""
    elsewhere = testing.make_merchant("Otra Tienda")
    stranger = testing.make_customer(elsewhere).customer
    inv = invoice(shop, "F-1001", "25000")
    till.post(f"/cashier/invoices/{inv.pk}/pick/")
    html = page(till.post(f"/cashier/invoices/{inv.pk}/identify/", {"q": stranger.email}))
    assert f"/cashier/open/{stranger.pk}/" in html
    response = till.post(f"/cashier/open/{stranger.pk}/", follow=True)
    html = page(response)
    assert 'id="pos-confirm"' in html and 'id="pos-load" autofocus' in html
    assert not accruals().exists()
    html = page(till.post(f"/cashier/invoices/{inv.pk}/load/{stranger.pk}/"))
    assert "+25 puntos. Nuevo saldo: 25." in html
    inv.refresh_from_db()
    assert inv.status == "loaded" and inv.customer_id == stranger.pk


def test_a_held_accrual_says_so(shop, till, member):
    from lealtad.program.models import FraudRule

    FraudRule.objects.create(merchant=shop.merchant, kind="max_invoice_amount", limit=10000)
    inv = invoice(shop, "F-1001", "25000")
    html = page(till.post(f"/cashier/invoices/{inv.pk}/pick/", {"customer": member.customer_id}))
    assert "25 puntos en espera de aprobación del administrador" in html
    inv.refresh_from_db()
    assert inv.status == "held" and balance(member) == 0


@pytest.mark.django_db(transaction=True)
def test_tills_loading_one_invoice_at_once_make_one_accrual(postgres_only):
    """Five tills (and double clicks) load one invoice at the same moment: one accrual; those
    for the same customer see its receipt, those for another customer that it went already."""
    import threading

    from django.db import connections

    shop = testing.make_merchant()
    cashier = testing.make_cashier(shop, "carol")
    first = testing.make_customer(shop).membership
    second = testing.make_customer(shop).membership
    inv = invoice(shop, "F-1001", "25000")
    targets = [first, first, first, second, second]
    clients = []
    for _n in targets:
        client = Client()
        client.force_login(cashier)
        clients.append(client)
    start, answers = threading.Barrier(len(targets)), [None] * len(targets)

    def load(i):
        try:
            start.wait()
            url = f"/cashier/invoices/{inv.pk}/load/{targets[i].customer_id}/"
            answers[i] = page(clients[i].post(url))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=load, args=(i,)) for i in range(len(targets))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    inv.refresh_from_db()
    winner = first if inv.customer_id == first.customer_id else second
    assert accruals().count() == 1 and balance(winner) == 25
    assert balance(first) + balance(second) == 25
    for target, html in zip(targets, answers, strict=True):
        if target == winner:
            assert "Factura F-1001 (25.000 COP) cargada." in html
        else:
            assert "La factura F-1001 ya no está en espera: ya fue cargada." in html


def test_at_a_coin_issuer_the_invoice_earns_coins_and_the_till_says_so():
    shop = testing.make_merchant("Café Aroma", coin_issuer=True, cashback_rate="0.1")
    shop.merchant.invoice_earns = "coins"
    shop.merchant.save(update_fields=["invoice_earns"])
    client = Client()
    client.force_login(testing.make_cashier(shop))
    member = testing.make_customer(shop).membership
    inv = invoice(shop, "F-1001", "25000")
    html = page(client.post(f"/cashier/invoices/{inv.pk}/pick/", {"customer": member.customer_id}))
    assert "+2.500 monedas. Monedas disponibles: 2.500." in html
    inv.refresh_from_db()
    assert (inv.status, inv.earns) == ("loaded", "coins")
    loaded = page(client.get("/cashier/invoices/")).split('id="history-loaded"')[1]
    assert "2.500 monedas" in loaded
