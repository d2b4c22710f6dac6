"""What the webhook tests share: a merchant with an endpoint on the receiver, an event, a worker."""

import uuid
from decimal import Decimal

from django.core.management import call_command
from django.utils import timezone

from lealtad.core import testing
from lealtad.webhooks.actions import create_endpoint
from lealtad.webhooks.events import emit


def run_worker():
    """The real worker, once over what is due (as `lealtad worker --batch` does)."""
    call_command("worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)


def endpoint_on(receiver, events=("accrual.posted",), merchant=None):
    merchant = merchant or testing.make_merchant().merchant
    endpoint, secret = create_endpoint(merchant, url=receiver.url, events=list(events))
    receiver.secrets = [secret]
    return endpoint, secret


def accrual_data(points=25) -> dict:
    return {
        "transaction_id": uuid.uuid4(),
        "amount": Decimal("25000.00"),
        "points": points,
        "at": timezone.now(),
    }


def emit_accrual(merchant, points=25):
    return emit(merchant, "accrual.posted", accrual_data(points))
