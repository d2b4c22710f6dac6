"""I2 / I3: POS invoices recorded, loaded, claimed at the till, expired; one number, one invoice
and one accrual per merchant (`f-1001` is `F-1001 `), whichever way the number comes."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from lealtad.coins import actions as coins
from lealtad.core import errors, testing
from lealtad.customers.actions import suspend_customer
from lealtad.invoices import actions
from lealtad.invoices.models import Invoice, InvoiceStatus
from lealtad.ledger import actions as ledger
from lealtad.ledger.models import Account, Kind, Status, Transaction


@pytest.fixture
def shop(db):
    return testing.make_merchant()


@pytest.fixture
def member(shop):
    return testing.make_customer(shop).membership


def record(shop, number="F-1001", amount="25000.00", **kw):
    return actions.record_invoice(
        merchant=shop.merchant, branch=shop.branch, invoice_number=number, amount=amount, **kw
    )


def balance(member) -> int:
    return Account.objects.get(pk=member.account_id).balance


def test_an_invoice_without_a_customer_waits_at_its_branch(shop):
    invoice, created = record(shop, " F-1001 ")
    assert created is True
    assert (invoice.status, invoice.invoice_number, invoice.invoice_key) == (
        InvoiceStatus.WAITING,
        "F-1001",
        "f-1001",
    )
    assert invoice.amount == Decimal("25000.00") and invoice.currency == "COP"
    assert invoice.expires_at - invoice.created_at == dt.timedelta(days=7)
    assert invoice.transaction is None and invoice.customer is None
    assert list(actions.waiting_invoices(shop.branch)) == [invoice]
    assert not Transaction.objects.filter(merchant=shop.merchant).exists()


def test_an_invoice_with_its_customer_loads_at_once_as_a_typed_accrual(shop, member):
    invoice, created = record(shop, customer=member.customer)
    assert created is True and invoice.status == InvoiceStatus.LOADED
    txn = invoice.transaction
    assert (txn.kind, txn.points, txn.invoice_key, txn.amount) == (
        Kind.ACCRUAL,
        25,
        "f-1001",
        Decimal("25000.00"),
    )
    assert invoice.customer == member.customer and invoice.earns == "points"
    assert balance(member) == 25
    assert list(actions.waiting_invoices(shop.branch)) == []


def test_the_same_invoice_again_is_the_same_invoice_in_any_case_or_spacing(shop, member):
    first, _ = record(shop, "f-1001", customer=member.customer)
    again, created = record(shop, "F-1001 ", customer=member.customer)
    assert created is False and again.pk == first.pk
    bare, created = record(shop, "F-1001")  # the POS resending without the customer
    assert created is False and bare.pk == first.pk
    assert Invoice.objects.count() == 1 and balance(member) == 25


def test_the_same_number_with_another_amount_is_a_duplicate(shop):
    record(shop, "f-1001")
    with pytest.raises(errors.DuplicateInvoice) as exc:
        record(shop, "F-1001 ", amount="26000")
    assert exc.value.status == 409 and exc.value.code == "duplicate_invoice"
    assert Invoice.objects.get().amount == Decimal("25000.00")


def test_the_same_number_for_another_customer_is_a_duplicate(shop, member):
    record(shop, customer=member.customer)
    other = testing.make_customer(shop).customer
    with pytest.raises(errors.DuplicateInvoice):
        record(shop, customer=other)
    assert Transaction.objects.filter(merchant=shop.merchant).count() == 1


def test_sent_again_with_its_customer_a_waiting_invoice_loads(shop, member):
    waiting, _ = record(shop)
    loaded, created = record(shop, customer=member.customer)
    assert created is False and loaded.pk == waiting.pk
    assert loaded.status == InvoiceStatus.LOADED and balance(member) == 25


def test_a_number_already_accrued_by_hand_is_a_duplicate(shop, member):
    ledger.accrue_points(
        merchant=shop.merchant,
        membership=member,
        branch=shop.branch,
        amount=Decimal(25000),
        invoice_number="F-1001",
    )
    with pytest.raises(errors.DuplicateInvoice) as exc:
        record(shop, "f-1001 ")
    assert exc.value.extra["transaction_id"] == str(Transaction.objects.get().pk)
    assert "ya acumuló" in str(exc.value)  # the ledger's words, in Spanish by default
    assert not Invoice.objects.exists()


def test_a_typed_accrual_of_a_waiting_invoice_claims_it(shop, member):
    waiting, _ = record(shop)
    movement = ledger.accrue_points(
        merchant=shop.merchant,
        membership=member,
        branch=shop.branch,
        amount=Decimal("25000"),
        invoice_number=" f-1001",
    )
    waiting.refresh_from_db()
    assert waiting.status == InvoiceStatus.LOADED
    assert waiting.transaction_id == movement.transaction.pk
    assert waiting.customer_id == member.customer_id
    assert list(actions.waiting_invoices(shop.branch)) == []


def test_a_typed_accrual_of_a_waiting_invoice_with_another_amount_is_refused(shop, member):
    record(shop)
    with pytest.raises(errors.DuplicateInvoice):
        ledger.accrue_points(
            merchant=shop.merchant,
            membership=member,
            branch=shop.branch,
            amount=Decimal("30000"),
            invoice_number="F-1001",
        )
    assert balance(member) == 0
    assert not Transaction.objects.filter(merchant=shop.merchant).exists()
    assert Invoice.objects.get().status == InvoiceStatus.WAITING


def test_assign_loads_a_waiting_invoice_for_the_customer(shop, member):
    invoice, _ = record(shop)
    cashier = testing.make_cashier(shop)
    loaded = actions.assign_invoice(
        invoice.pk, merchant=shop.merchant, customer=member.customer, staff=cashier
    )
    assert loaded.status == InvoiceStatus.LOADED and loaded.loaded_by == cashier
    assert loaded.transaction.staff == cashier and loaded.transaction.branch == shop.branch
    assert loaded.loaded_at is not None and balance(member) == 25


def test_assign_twice_is_refused_and_accrues_once(shop, member):
    invoice, _ = record(shop)
    actions.assign_invoice(invoice, merchant=shop.merchant, customer=member.customer)
    with pytest.raises(errors.InvoiceAlreadyLoaded) as exc:
        actions.assign_invoice(invoice, merchant=shop.merchant, customer=member.customer)
    assert (exc.value.status, exc.value.code) == (409, "invoice_already_loaded")
    assert balance(member) == 25


def test_another_merchants_invoice_is_not_found(shop, member):
    invoice, _ = record(shop)
    other = testing.make_merchant("Otro")
    with pytest.raises(errors.NotFound):
        actions.assign_invoice(invoice.pk, merchant=other.merchant, customer=member.customer)
    with pytest.raises(errors.NotFound):
        actions.get_invoice_for(other.merchant, invoice.pk)
    with pytest.raises(errors.NotFound):
        actions.record_invoice(
            merchant=other.merchant, branch=shop.branch, invoice_number="X", amount="1000"
        )
    assert Invoice.objects.get().status == InvoiceStatus.WAITING


def test_a_suspended_customer_is_refused_and_the_invoice_keeps_waiting(shop, member):
    invoice, _ = record(shop)
    suspend_customer(member.customer, "Llame a la línea de fraude")
    member.customer.refresh_from_db()
    with pytest.raises(errors.CustomerSuspended):
        actions.assign_invoice(invoice, merchant=shop.merchant, customer=member.customer)
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.WAITING and invoice.transaction is None
    assert not Transaction.objects.filter(merchant=shop.merchant).exists()


def test_a_suspended_customer_given_by_the_pos_records_nothing(shop, member):
    suspend_customer(member.customer, "Llame a la línea de fraude")
    member.customer.refresh_from_db()
    with pytest.raises(errors.CustomerSuspended):
        record(shop, customer=member.customer)
    assert not Invoice.objects.exists()


def test_an_amount_below_the_minimum_leaves_the_invoice_waiting(shop, member):
    invoice, _ = record(shop, amount="500")
    with pytest.raises(errors.AmountBelowMinimum):
        actions.assign_invoice(invoice, merchant=shop.merchant, customer=member.customer)
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.WAITING


def test_a_held_accrual_makes_the_invoice_held(shop, member):
    member.category.audit_mode = "manual"
    member.category.save(update_fields=["audit_mode"])
    invoice, _ = record(shop, customer=member.customer)
    assert invoice.status == InvoiceStatus.HELD
    assert invoice.transaction.status == Status.PENDING
    assert balance(member) == 0
    assert Account.objects.get(pk=member.account_id).pending == 25


def test_an_issuer_whose_invoices_earn_coins_loads_coins(db):
    issuer = testing.make_merchant(coin_issuer=True, cashback_rate="0.03")
    issuer.merchant.invoice_earns = "coins"
    issuer.merchant.save(update_fields=["invoice_earns"])
    customer = testing.make_customer(issuer).customer
    invoice, _ = record(issuer)
    loaded = actions.assign_invoice(invoice, merchant=issuer.merchant, customer=customer)
    assert loaded.status == InvoiceStatus.LOADED and loaded.earns == "coins"
    assert loaded.transaction.kind == Kind.COIN_EARN
    assert (loaded.coins, loaded.points) == (750, 0)
    assert coins.wallet_of(customer)["available"] == 750


def test_a_typed_coin_earning_of_a_waiting_invoice_claims_it(db):
    issuer = testing.make_merchant(coin_issuer=True, cashback_rate="0.03")
    customer = testing.make_customer(issuer).customer
    invoice, _ = record(issuer)
    coins.earn_coins(
        merchant=issuer.merchant,
        customer=customer,
        amount=Decimal("25000"),
        branch=issuer.branch,
        invoice_number="F-1001",
    )
    invoice.refresh_from_db()
    assert (invoice.status, invoice.earns) == (InvoiceStatus.LOADED, "coins")


def test_an_invoice_waits_the_merchants_limit_then_expires(shop, member):
    shop.merchant.invoice_wait_days = 2
    shop.merchant.save(update_fields=["invoice_wait_days"])
    now = timezone.now()
    invoice, _ = record(shop, now=now)
    assert invoice.expires_at == now + dt.timedelta(days=2)
    later = now + dt.timedelta(days=2, seconds=1)
    assert list(actions.waiting_invoices(shop.branch, now=later)) == []
    with pytest.raises(errors.InvoiceExpired):
        actions.assign_invoice(invoice, merchant=shop.merchant, customer=member.customer, now=later)
    assert actions.expire_invoices(now=now) == 0
    assert actions.expire_invoices(now=later) == 1
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.EXPIRED
    with pytest.raises(errors.InvoiceExpired) as exc:
        actions.assign_invoice(invoice, merchant=shop.merchant, customer=member.customer)
    assert (exc.value.status, exc.value.code) == (409, "invoice_expired")
    assert balance(member) == 0


def test_waiting_and_recent_lists_are_newest_first_and_per_branch(shop, member):
    now = timezone.now()
    older, _ = record(shop, "F-1", now=now - dt.timedelta(minutes=5))
    newer, _ = record(shop, "F-2", now=now)
    loaded, _ = record(shop, "F-3", customer=member.customer, now=now)
    other = testing.make_merchant("Otro")
    actions.record_invoice(
        merchant=other.merchant, branch=other.branch, invoice_number="F-9", amount="1000"
    )
    assert list(actions.waiting_invoices(shop.branch, now=now)) == [newer, older]
    assert list(actions.recent_invoices(shop.branch, ["loaded", "held"])) == [loaded]
    assert list(actions.recent_invoices(shop.branch, ["waiting"], limit=1)) == [newer]


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("amount", {"amount": "abc"}),
        ("amount", {"amount": "-5"}),
        ("amount", {"amount": "0"}),
        ("invoice_number", {"number": "   "}),
        ("lines", {"lines": [{"description": "x"}] * 201}),
        ("lines[0].quantity", {"lines": [{"description": "Café", "quantity": "dos"}]}),
        ("lines[1].description", {"lines": [{"description": "Café"}, {"amount": "10"}]}),
        ("issued_at", {"issued_at": "2026-01-01"}),
    ],
)
def test_bad_input_is_refused_per_field_and_records_nothing(shop, field, kwargs):
    with pytest.raises(errors.ValidationFailed) as exc:
        record(shop, **kwargs)
    assert exc.value.errors[0]["field"] == field
    assert not Invoice.objects.exists()


def test_line_items_are_kept_cleaned(shop):
    lines = [
        {
            "description": "  Café   con leche ",
            "quantity": 2,
            "unit_price": "4000",
            "amount": "8000.00",
        }
    ]
    invoice, _ = record(shop, lines=lines)
    invoice.refresh_from_db()
    assert invoice.lines == [
        {
            "description": "Café con leche",
            "quantity": "2",
            "unit_price": "4000.00",
            "amount": "8000.00",
        }
    ]
