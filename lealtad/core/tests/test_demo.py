"""The demo is the first thing a merchant admin opens: its statements must add up and each
merchant must speak its own language."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Case, Value, When

from lealtad.ledger.models import Account, Kind, Status, Transaction
from lealtad.network.models import Merchant

pytestmark = pytest.mark.django_db

SPANISH = {"Puntos", "Gracias", "Cumpleaños", "Precio", "Descuento", "Bono", "Postre", "Reclamo"}
SPANISH |= {"revisión", "General", "Reclamo", "Bono"}


@pytest.fixture
def demo():
    call_command("demo", stdout=StringIO())


def test_every_demo_statement_adds_up_in_time_order(demo):
    """Read as the statement reads it (oldest first), every line's balance is the previous one
    plus the line's points: an accrual never shows a balance going down."""
    expiry_first = Case(When(kind=Kind.EXPIRY, then=Value(0)), default=Value(1))
    wrong = []
    accounts = Account.objects.filter(transactions__isnull=False).distinct()
    assert accounts.count() > 30
    for account in accounts:
        balance = 0
        rows = (
            Transaction.objects.filter(account=account, status=Status.POSTED)
            .order_by("posted_at", expiry_first, "created_at")
            .values_list("kind", "points", "balance_after", "posted_at")
        )
        for kind, points, balance_after, posted_at in rows:
            balance += points
            if balance_after != balance:
                wrong.append((str(account.pk), kind, points, balance_after, balance, posted_at))
        account.refresh_from_db()
        assert account.balance == balance
    assert wrong[:5] == []


def _texts(merchant: Merchant) -> str:
    from lealtad.offers.models import Gift, GiftOffer, Promotion
    from lealtad.program.models import Category, Reward

    parts = []
    parts += Promotion.objects.filter(merchant=merchant).values_list("name", "item")
    parts += Gift.objects.filter(merchant=merchant).values_list("name", "description")
    parts += GiftOffer.objects.filter(gift__merchant=merchant).values_list("note", "note")
    parts += Category.objects.filter(merchant=merchant).values_list("name", "description")
    parts += Reward.objects.filter(merchant=merchant).values_list("name", "description")
    parts += merchant.branches.values_list("name", "name")
    parts += merchant.memberships.exclude(blocked_reason="").values_list(
        "blocked_reason", "blocked_reason"
    )
    return " ".join(" ".join(p for p in pair if p) for pair in parts)


def test_the_brazilian_demo_merchant_speaks_portuguese(demo):
    posto = Merchant.objects.get(country="BR")
    text = _texts(posto)
    assert "Pontos em dobro" in text and "Obrigado pela visita" in text
    assert sorted(w for w in SPANISH if w in text.split()) == []
    cafe = Merchant.objects.get(name="Café Aroma")
    assert "Puntos dobles" in _texts(cafe)


def test_a_merchant_s_own_names_are_in_its_language_whoever_signs_it_up():
    """The default category is named in the merchant's language, not in the language of the
    screen it was signed up from."""
    from django.utils import translation

    from lealtad.core import testing

    with translation.override("es"):
        posto = testing.make_merchant(country="BR")
    with translation.override("pt-br"):
        cafe = testing.make_merchant(country="CO")
    assert posto.merchant.categories.get(is_default=True).name == "Geral"
    assert cafe.merchant.categories.get(is_default=True).name == "General"
