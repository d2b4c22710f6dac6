import re

import pytest

from lealtad.core import testing


@pytest.fixture
def shop(db):
    return testing.make_merchant("Café Aroma", admin="alice")


@pytest.fixture
def ana(shop):
    """A customer of the café with an e-mail and a mobile."""
    return testing.make_customer(shop).customer


def last_code(to: str) -> str:
    """The six digits of the newest sign-in e-mail to `to` (the outbox)."""
    from lealtad.notifications.models import OutgoingEmail

    mail = OutgoingEmail.objects.filter(to=to).order_by("-pk").first()
    assert mail is not None, f"no e-mail to {to}"
    return re.search(r"\b(\d{6})\b", mail.body).group(1)
