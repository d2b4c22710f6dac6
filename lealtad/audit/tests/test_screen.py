"""The audit trail in the console: the admin reads their merchant's entries (filtered by person,
action and dates), the operator the whole network's; a cashier is refused, and merchant B's admin
never sees merchant A's entries (Alice runs A, Carol is A's cashier, Charlie runs B)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone, translation

from lealtad.audit import actions as audit
from lealtad.audit import labels
from lealtad.audit.models import AuditEntry
from lealtad.core import testing
from lealtad.ledger import actions as ledger
from lealtad.network.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def a():
    shop = testing.make_merchant("Café Aroma", admin="alice")
    carol = testing.make_cashier(shop, "carol")
    reg = testing.make_customer(shop)
    for amount, number in ((20_000, "A-1"), (30_000, "A-2")):
        ledger.accrue_points(
            merchant=shop.merchant,
            amount=Decimal(amount),
            branch=shop.branch,
            membership=reg.membership,
            staff=carol,
            invoice_number=number,
        )
    ledger.adjust_points(membership=reg.membership, points=5, reason="Cortesía", staff=shop.admin)
    return shop, carol, reg


@pytest.fixture
def b():
    shop = testing.make_merchant("Farmacia Salud", admin="charlie")
    reg = testing.make_customer(shop)
    ledger.accrue_points(
        merchant=shop.merchant,
        amount=Decimal(40_000),
        branch=shop.branch,
        membership=reg.membership,
        staff=shop.admin,
        invoice_number="B-SECRET",
    )
    return shop


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


def ids_on(page) -> set[int]:
    import re

    return {int(n) for n in re.findall(r'id="audit-(\d+)"', page.content.decode())}


def test_the_admin_sees_their_entries_newest_first_readable(a, b):
    shop, _carol, _reg = a
    page = signed_in(shop.admin).get("/console/audit/")
    assert page.status_code == 200
    body = page.content.decode()
    mine = AuditEntry.objects.filter(merchant_id=shop.merchant.pk).order_by("-created_at", "-id")
    assert ids_on(page) == {e.pk for e in mine}
    shown = [int(n) for n in __import__("re").findall(r'id="audit-(\d+)"', body)]
    assert shown == [e.pk for e in mine]  # newest first
    assert "B-SECRET" not in body and "Farmacia" not in body
    # Spanish, the merchant's language: the action's name, not only its code.
    assert "<strong>Puntos ajustados</strong>" in body and "Cortesía" in body
    assert "<del>" in body and "→" in body and shop.branch.name in body
    # Before → after in words: the field's name, not its key; the values as the reader writes.
    with translation.override("es"):
        balance = labels.field("balance")
    assert f'<span class="muted">{balance}</span>: <del>50</del> → <ins>55</ins>' in body
    assert "balance" not in body.replace('data-action="', "")


def test_a_cashier_is_refused(a):
    _shop, carol, _reg = a
    assert signed_in(carol).get("/console/audit/").status_code == 404  # the console's rule
    assert Client().get("/console/audit/").status_code == 302  # to the sign-in


def test_the_filters_person_action_and_dates(a):
    shop, carol, _reg = a
    console = signed_in(shop.admin)
    by_carol = console.get("/console/audit/", {"person": str(carol.pk)})
    assert ids_on(by_carol) == set(
        AuditEntry.objects.filter(actor_id=str(carol.pk)).values_list("pk", flat=True)
    )
    assert len(ids_on(by_carol)) == 2
    adjusted = console.get("/console/audit/", {"action": "points.adjust"})
    assert ids_on(adjusted) == set(
        AuditEntry.objects.filter(action="points.adjust").values_list("pk", flat=True)
    )
    today = timezone.localdate(timezone=dt.UTC)
    later = console.get("/console/audit/", {"date_from": str(today + dt.timedelta(days=2))})
    assert ids_on(later) == set()
    around = console.get(
        "/console/audit/",
        {"date_from": str(today - dt.timedelta(days=1)), "date_to": str(today + dt.timedelta(1))},
    )
    assert len(ids_on(around)) == AuditEntry.objects.filter(merchant_id=shop.merchant.pk).count()


def test_bad_filters_are_told_by_the_field_never_a_500(a, b):
    shop, _carol, _reg = a
    console = signed_in(shop.admin)
    for query in (
        {"date_from": "31/02/2026"},
        {"date_from": "2026-05-02", "date_to": "2026-05-01"},
        {"action": "<script>"},
        {"person": str(b.admin.pk)},  # another merchant's admin is no choice here
        {"page": "zzz"},
    ):
        page = console.get("/console/audit/", query)
        assert page.status_code == 200, query
        if "page" not in query:
            assert 'class="error"' in page.content.decode(), query


def test_another_merchants_admin_never_sees_a_entries(a, b):
    _shop, carol, _reg = a
    charlie = signed_in(b.admin)
    page = charlie.get("/console/audit/", {"person": str(carol.pk)})
    assert ids_on(page) == set() and "carol" not in page.content.decode()
    everything = charlie.get("/console/audit/")
    assert ids_on(everything) == set(
        AuditEntry.objects.filter(merchant_id=b.merchant.pk).values_list("pk", flat=True)
    )
    assert "A-1" not in everything.content.decode()


def test_the_operator_sees_the_whole_network_and_filters_by_merchant(a, b):
    _shop, _carol, _reg = a
    operator = User.objects.create_superuser("operator", "op@example.com", testing.PASSWORD)
    client = signed_in(operator)
    page = client.get("/console/audit/")
    assert page.status_code == 200
    assert ids_on(page) == set(AuditEntry.objects.values_list("pk", flat=True))
    assert "B-SECRET" in page.content.decode() and "A-1" in page.content.decode()
    only_b = client.get("/console/audit/", {"merchant": str(b.merchant.pk)})
    assert ids_on(only_b) == set(
        AuditEntry.objects.filter(merchant_id=b.merchant.pk).values_list("pk", flat=True)
    )


def test_the_list_is_paged(a):
    shop, _carol, reg = a
    for n in range(55):
        audit.record(
            "customer.card", merchant=shop.merchant, target=reg.customer, after={"card": n}
        )
    console = signed_in(shop.admin)
    first = console.get("/console/audit/", {"action": "customer.card"})
    second = console.get("/console/audit/", {"action": "customer.card", "page": "2"})
    assert len(ids_on(first)) == 50 and len(ids_on(second)) == 5
    assert (
        'rel="next"' in first.content.decode() and "action=customer.card" in first.content.decode()
    )
