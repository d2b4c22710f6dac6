"""`lealtad demo` puts POS invoices at the café's main branch: the till's panel shows two."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from lealtad.invoices import actions
from lealtad.invoices.models import Invoice, InvoiceStatus
from lealtad.network.models import Merchant

pytestmark = pytest.mark.django_db


def test_the_demo_has_two_waiting_invoices_and_one_loaded_at_the_cafe_and_is_idempotent():
    call_command("demo", stdout=StringIO())
    call_command("demo", stdout=StringIO())
    cafe = Merchant.objects.get(name="Café Aroma")
    main = cafe.branches.order_by("created_at").first()
    waiting = list(actions.waiting_invoices(main))
    assert [i.invoice_number for i in waiting] == ["POS-CH-0003", "POS-CH-0002"]
    loaded = Invoice.objects.get(status=InvoiceStatus.LOADED)
    assert (loaded.branch, loaded.invoice_number) == (main, "POS-CH-0001")
    # 18 points times the regular's category multiplier.
    assert loaded.transaction.amount == Decimal("18500.00") and loaded.transaction.points >= 18
    assert Invoice.objects.count() == 3
    assert loaded.lines[0] == {
        "description": "Capuchino",
        "quantity": "2",
        "unit_price": "6500.00",
        "amount": "13000.00",
    }
