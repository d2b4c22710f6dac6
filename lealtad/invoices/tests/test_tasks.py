"""I3: the task engine expires invoices past their wait every 10 minutes (`lealtad worker`)."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone

from lealtad.core import testing
from lealtad.invoices import actions
from lealtad.invoices.models import InvoiceStatus
from lealtad.notifications import engine

# The worker closes the database connection when it is done: a transactional test survives that.
pytestmark = pytest.mark.django_db(transaction=True)


def test_the_worker_expires_invoices_past_their_wait_and_only_those():
    shop = testing.make_merchant()
    now = timezone.now()
    old, _ = actions.record_invoice(
        merchant=shop.merchant,
        branch=shop.branch,
        invoice_number="F-OLD",
        amount="1000",
        now=now - dt.timedelta(days=7, minutes=1),
    )
    fresh, _ = actions.record_invoice(
        merchant=shop.merchant, branch=shop.branch, invoice_number="F-NEW", amount="1000"
    )
    (job,) = [job for job in engine.PERIODIC if job.name == "invoice-expiry"]
    assert job.every == dt.timedelta(minutes=10)
    # Ticks inside one period, whatever the clock says (now + 1 minute may be the next period).
    start = dt.datetime.fromisoformat(job.period(now))
    assert engine.tick(start, jobs=[job]) == ["invoice-expiry"]
    assert engine.tick(start + dt.timedelta(minutes=1), jobs=[job]) == []  # this period: taken
    call_command("worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert (old.status, fresh.status) == (InvoiceStatus.EXPIRED, InvoiceStatus.WAITING)
