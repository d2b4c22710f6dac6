"""I2 on PostgreSQL: a POS retrying one invoice from ten threads at once makes one invoice and one
accrual; ten tills claiming one waiting invoice at once load it once; the ledger stays whole."""

import threading
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from lealtad.core import errors, testing
from lealtad.invoices import actions
from lealtad.invoices.models import Invoice, InvoiceStatus
from lealtad.ledger import actions as ledger
from lealtad.ledger.models import Account, Transaction

COUNT = 10


def at_once(work):
    barrier = threading.Barrier(COUNT)
    results = [None] * COUNT

    def run(i):
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except Exception as exc:  # collected and asserted by the caller
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(COUNT)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def assert_ledger_clean():
    """What `lealtad ledger-check` proves: it exits 0 and says every account agrees."""
    out = StringIO()
    call_command("ledger_check", stdout=out)
    assert "every account agrees" in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_ten_pushes_of_one_invoice_make_one_invoice_and_one_accrual(postgres_only):
    shop = testing.make_merchant()
    member = testing.make_customer(shop).membership

    def push(i):
        return actions.record_invoice(
            merchant=shop.merchant,
            branch=shop.branch,
            invoice_number="F-1001" if i % 2 else " f-1001",
            amount="25000.00",
            customer=member.customer,
        )

    results = at_once(push)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(created for _invoice, created in results) == [False] * (COUNT - 1) + [True]
    assert len({invoice.pk for invoice, _created in results}) == 1
    assert Invoice.objects.count() == 1
    assert Transaction.objects.filter(merchant=shop.merchant).count() == 1
    assert Account.objects.get(pk=member.account_id).balance == 25
    assert_ledger_clean()


@pytest.mark.django_db(transaction=True)
def test_ten_tills_claiming_one_invoice_load_it_once(postgres_only):
    shop = testing.make_merchant()
    members = [testing.make_customer(shop).membership for _ in range(COUNT)]
    invoice, _created = actions.record_invoice(
        merchant=shop.merchant, branch=shop.branch, invoice_number="F-7", amount="10000"
    )

    def claim(i):
        return actions.assign_invoice(
            invoice.pk, merchant=shop.merchant, customer=members[i].customer
        )

    results = at_once(claim)
    loaded = [r for r in results if isinstance(r, Invoice)]
    refused = [r for r in results if isinstance(r, errors.InvoiceAlreadyLoaded)]
    assert len(loaded) == 1 and len(refused) == COUNT - 1, results
    assert Transaction.objects.filter(merchant=shop.merchant).count() == 1
    assert sum(Account.objects.get(pk=m.account_id).balance for m in members) == 10
    assert Invoice.objects.get().status == InvoiceStatus.LOADED
    assert_ledger_clean()


@pytest.mark.django_db(transaction=True)
def test_typed_accruals_and_pushes_of_one_number_at_once_leave_no_ghost(postgres_only):
    shop = testing.make_merchant()
    member = testing.make_customer(shop).membership

    def work(i):
        if i % 2:
            return actions.record_invoice(
                merchant=shop.merchant, branch=shop.branch, invoice_number="F-5", amount="5000"
            )
        return ledger.accrue_points(
            merchant=shop.merchant,
            membership=member,
            branch=shop.branch,
            amount=Decimal(5000),
            invoice_number="f-5",
        )

    results = at_once(work)
    unexpected = [
        r
        for r in results
        if isinstance(r, Exception) and not isinstance(r, errors.DuplicateInvoice)
    ]
    assert not unexpected, results
    assert Transaction.objects.filter(merchant=shop.merchant).count() == 1
    assert Account.objects.get(pk=member.account_id).balance == 5
    # Whatever came first, no invoice is left waiting for a number already accrued.
    assert not Invoice.objects.filter(status=InvoiceStatus.WAITING).exists()
    assert_ledger_clean()
