"""M1: every customer e-mail reads well whatever the profile holds (no "Hola :" for a customer
registered without a first name), in every language the merchants speak."""

import pytest
from django.template.loader import render_to_string
from django.utils import translation

from lealtad.core import testing
from lealtad.notifications.models import Event

pytestmark = pytest.mark.django_db

CONTEXT = {
    Event.JOIN: {"bonus": 0},
    Event.ACCRUAL: {"points": 25, "balance": 125},
    Event.REDEMPTION: {"points": 50, "balance": 75, "reward": "Almuerzo"},
}
GREETINGS = {
    "es": ("Hola,", "Hola Ana:"),
    "pt-br": ("Olá,", "Olá Ana,"),
    "en": ("Hello,", "Hello Ana,"),
}


@pytest.mark.parametrize("language", sorted(GREETINGS))
@pytest.mark.parametrize("event", sorted(CONTEXT))
@pytest.mark.parametrize("first_name", ["", "Ana"])
def test_every_email_greets_with_or_without_a_first_name(language, event, first_name):
    shop = testing.make_merchant()
    customer = testing.make_customer(shop, complete=False).customer
    customer.first_name = first_name
    context = {**CONTEXT[event], "merchant": shop.merchant, "customer": customer}
    with translation.override(language):
        body = render_to_string(f"notifications/{event}.txt", context).strip()
        subject = render_to_string(f"notifications/{event}_subject.txt", context).strip()
    nameless, named = GREETINGS[language]
    assert body.splitlines()[0] == (named if first_name else nameless)
    for text in (body, subject):
        # A blank value leaves a space before punctuation, or two spaces in a row.
        assert " :" not in text and " ," not in text and "  " not in text
        assert "{{" not in text and "%(" not in text


def test_the_queued_join_email_of_a_quick_registration_says_hola_comma():
    shop = testing.make_merchant()
    made = testing.make_customer(shop, complete=False)
    row = made.customer.emails.get()
    assert row.body.splitlines()[0] == "Hola,"
    assert row.body.splitlines()[1] == ""  # one blank line, as with a name
