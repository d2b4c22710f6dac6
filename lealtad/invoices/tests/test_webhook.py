"""I4: an invoice that starts waiting is told to the merchant's webhooks (`invoice.waiting`),
written in the invoice's own transaction and delivered signed to a real local receiver."""

import pytest
from django.db import transaction

from lealtad.core import testing
from lealtad.invoices import actions
from lealtad.invoices.models import Invoice
from lealtad.webhooks.models import Event
from lealtad.webhooks.tests.helpers import endpoint_on, run_worker
from lealtad.webhooks.tests.receiver import receiver  # noqa: F401 (a fixture)

# The worker closes the database connection when it is done: a transactional test survives that.
pytestmark = pytest.mark.django_db(transaction=True)


def test_a_waiting_invoice_reaches_the_receiver_with_the_api_representation(receiver):  # noqa: F811
    shop = testing.make_merchant()
    endpoint_on(receiver, events=["invoice.waiting"], merchant=shop.merchant)
    invoice, _created = actions.record_invoice(
        merchant=shop.merchant, branch=shop.branch, invoice_number="F-1", amount="25000.00"
    )
    run_worker()
    (got,) = receiver.requests
    assert got.verified, got.error
    assert got.type == "invoice.waiting"
    data = got.payload["data"]
    assert (data["id"], data["status"], data["amount"], data["invoice_number"]) == (
        str(invoice.pk),
        "waiting",
        "25000.00",
        "F-1",
    )
    assert data["transaction_id"] is None and data["branch_id"] == str(shop.branch.pk)


def test_no_event_for_an_invoice_loaded_at_once_sent_again_or_rolled_back(receiver):  # noqa: F811
    shop = testing.make_merchant()
    endpoint_on(receiver, events=["invoice.waiting"], merchant=shop.merchant)
    customer = testing.make_customer(shop).customer
    actions.record_invoice(
        merchant=shop.merchant,
        branch=shop.branch,
        invoice_number="F-2",
        amount="25000.00",
        customer=customer,
    )
    assert not Event.objects.exists()
    actions.record_invoice(
        merchant=shop.merchant, branch=shop.branch, invoice_number="F-3", amount="9000"
    )
    actions.record_invoice(
        merchant=shop.merchant, branch=shop.branch, invoice_number="f-3 ", amount="9000"
    )
    assert Event.objects.filter(type="invoice.waiting").count() == 1
    with pytest.raises(RuntimeError), transaction.atomic():
        actions.record_invoice(
            merchant=shop.merchant, branch=shop.branch, invoice_number="F-4", amount="1000"
        )
        raise RuntimeError("the POS request fails after the invoice was written")
    assert Event.objects.count() == 1
    assert not Invoice.objects.filter(invoice_key="f-4").exists()
