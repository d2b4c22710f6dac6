"""Console customer screens: list, three-step registration with dependents, profile figures and
statement, reversal, blocks, consent; errors next to fields and tenancy (merchant B gets 404)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from lealtad.core import testing
from lealtad.core.errors import CustomerBlocked, Forbidden
from lealtad.customers.actions import get_membership_for
from lealtad.customers.models import Customer, Membership
from lealtad.ledger import actions as ledger
from lealtad.ledger.check import check_ledger
from lealtad.ledger.models import Kind, Transaction
from lealtad.program.models import Category

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    return testing.make_merchant(admin="alice")


@pytest.fixture
def other():
    return testing.make_merchant(name="Otra Tienda", admin="charlie")


def client_for(user) -> Client:
    client = Client()
    client.cookies["django_language"] = "en"  # messages checked in English
    client.force_login(user)
    return client


@pytest.fixture
def console(shop):
    return client_for(shop.admin)


def accrue(shop, member, amount, when=None, invoice=None):
    return ledger.accrue_points(
        merchant=shop.merchant,
        customer=member.customer,
        amount=Decimal(amount),
        branch=shop.branch,
        invoice_number=invoice,
        now=when,
    )


# --- the list -----------------------------------------------------------------------------------


def test_list_searches_filters_and_pages(console, shop, other):
    ana = testing.make_customer(shop, first_name="Ana María", last_name="Rojas")
    luis = testing.make_customer(shop, first_name="Luis", last_name="Pérez")
    testing.make_customer(other, first_name="Ana", last_name="Otra")  # merchant B's: never shown
    page = console.get("/console/customers/").content.decode()
    assert "Ana María Rojas" in page and "Luis Pérez" in page and "Otra" not in page

    by_name = console.get("/console/customers/", {"q": "rojas ana"}).content.decode()
    assert "Ana María Rojas" in by_name and "Luis" not in by_name
    by_doc = console.get("/console/customers/", {"q": luis.customer.document_number}).content
    assert "Luis Pérez" in by_doc.decode() and "Rojas" not in by_doc.decode()
    by_mail = console.get("/console/customers/", {"q": ana.customer.email.upper()}).content
    assert "Ana María Rojas" in by_mail.decode()

    gold = Category.objects.create(merchant=shop.merchant, name="Oro")
    Membership.objects.filter(pk=luis.membership.pk).update(category=gold, blocked=True)
    only_gold = console.get("/console/customers/", {"category": gold.pk}).content.decode()
    assert "Luis Pérez" in only_gold and "Rojas" not in only_gold
    blocked = console.get("/console/customers/", {"status": "blocked"}).content.decode()
    assert "Luis Pérez" in blocked and "Rojas" not in blocked
    testing.make_customer(shop, complete=False)
    incomplete = console.get("/console/customers/", {"status": "incomplete"}).content.decode()
    assert "Rojas" not in incomplete and "Customers found: 1" in incomplete


def test_list_bad_filters_are_errors_not_500(console, other):
    foreign = Category.objects.filter(merchant=other.merchant).first()
    for params in ({"category": foreign.pk}, {"branch": "nope"}, {"status": "x"}, {"page": "zz"}):
        response = console.get("/console/customers/", params)
        assert response.status_code == 200, params


def test_list_query_count_does_not_grow(console, shop, django_assert_max_num_queries):
    for _ in range(3):
        testing.make_customer(shop)
    console.get("/console/customers/")
    with django_assert_max_num_queries(12):
        console.get("/console/customers/")
    for _ in range(10):
        testing.make_customer(shop)
    with django_assert_max_num_queries(12):
        console.get("/console/customers/")


# --- the three-step registration ----------------------------------------------------------------

PERSONAL = {
    "document_type": "CC",
    "first_name": "Marta",
    "last_name": "Lucía Díaz",
    "gender": "F",
    "birth_date": "1985-03-02",
    "person_type": "person",
}
CONTACT = {
    "postal_code": "110111",
    "address": "Calle 85 # 11-20",
    "city": "Bogotá",
    "state": "Cundinamarca",
    "mobile": "300 555 1234",
    "email": "marta@example.com",
}


def step(console, data, go="next"):
    return console.post("/console/customers/new/", {**data, "go": go})


def test_three_steps_register_a_customer_with_card(console, shop):
    category = Category.objects.get(merchant=shop.merchant, is_default=True)
    doc = testing.colombian_document()
    personal = {**PERSONAL, "document_number": doc, "category": category.pk, "step": 0}
    page = step(console, personal)
    assert page.status_code == 200 and 'name="step" value="1"' in page.content.decode()
    page = step(console, {**personal, **CONTACT, "step": 1, "visited": "0"})
    assert 'name="step" value="2"' in page.content.decode()
    response = step(
        console,
        {
            **personal,
            **CONTACT,
            "step": 2,
            "visited": "0,1",
            "card_number": "A-0001",
            "redeem_policy": "all",
        },
        go="save",
    )
    assert response.status_code == 302
    customer = Customer.objects.get(document_number=doc)
    m = customer.memberships.get()
    assert (customer.first_name, customer.email, customer.mobile) == (
        "Marta",
        "marta@example.com",
        "+573005551234",
    )
    assert (customer.postal_code, customer.state, customer.profile_complete) == (
        "110111",
        "Cundinamarca",
        True,
    )
    assert (m.card_number, m.redeem_policy, m.holder_id) == ("A-0001", "all", None)
    assert response["Location"] == f"/console/customers/{customer.pk}/"


def test_each_step_validates_before_the_next_and_back_keeps_typed(console, shop):
    category = Category.objects.get(merchant=shop.merchant, is_default=True)
    bad = {**PERSONAL, "document_number": "12ab", "gender": "", "category": category.pk}
    page = step(console, {**bad, "step": 0}).content.decode()
    assert 'name="step" value="0"' in page
    assert 'id="document_number-error"' in page and 'id="gender-error"' in page
    assert not Customer.objects.exists()

    personal = {**PERSONAL, "document_number": testing.colombian_document(), "category": 1}
    personal["category"] = category.pk
    page = step(console, {**personal, "step": 1, "email": "nope", "mobile": ""}).content.decode()
    assert 'name="step" value="1"' in page and 'id="email-error"' in page
    # Back from step 2 shows what was typed in step 1, and carries step 2's typing along.
    page = step(console, {**personal, "step": 1, "city": "Cali"}, go="back").content.decode()
    assert 'name="step" value="0"' in page and 'value="Marta"' in page
    assert '<input type="hidden" name="city" value="Cali">' in page
    assert not Customer.objects.exists()


def test_dependent_accrues_to_holder_and_redeems_only_when_allowed(console, shop):
    holder = testing.make_customer(shop)
    Membership.objects.filter(pk=holder.membership.pk).update(card_number="H-77")
    category = Category.objects.get(merchant=shop.merchant, is_default=True)
    doc = testing.colombian_document()
    data = {
        **PERSONAL,
        **CONTACT,
        "document_number": doc,
        "category": category.pk,
        "email": "hijo@example.com",
        "mobile": "301 555 9876",
        "dependent": "on",
        "holder": "H-77",
        "step": 2,
        "redeem_policy": "all",  # ignored for a dependent: the holder's policy rules
    }
    assert step(console, data, go="save").status_code == 302
    dependent = Membership.objects.get(customer__document_number=doc)
    assert dependent.holder_id == holder.membership.pk
    assert dependent.redeem_policy == "holder"

    accrue(shop, dependent, 5000)
    holder.membership.account.refresh_from_db()
    dependent.account.refresh_from_db()
    assert (holder.membership.account.balance, dependent.account.balance) == (5, 0)

    reward = testing.make_reward(shop, cost=2)
    member = get_membership_for(shop.merchant, dependent.customer_id)
    with pytest.raises(Forbidden):
        ledger.redeem_reward(membership=member, reward_id=reward.pk, branch=shop.branch)
    Membership.objects.filter(pk=holder.membership.pk).update(redeem_policy="all")
    member = get_membership_for(shop.merchant, dependent.customer_id)
    ledger.redeem_reward(membership=member, reward_id=reward.pk, branch=shop.branch)
    holder.membership.account.refresh_from_db()
    assert holder.membership.account.balance == 3


def test_holder_must_exist_here_and_not_be_a_dependent(console, shop, other):
    foreign = testing.make_customer(other)
    category = Category.objects.get(merchant=shop.merchant, is_default=True)
    data = {
        **PERSONAL,
        **CONTACT,
        "document_number": testing.colombian_document(),
        "category": category.pk,
        "dependent": "on",
        "step": 2,
        "redeem_policy": "holder",
    }
    for holder in ("", foreign.customer.document_number, "Nadie Conocido"):
        page = step(console, {**data, "holder": holder}, go="save").content.decode()
        assert 'id="holder-error"' in page, holder
    assert not Customer.objects.filter(document_number=data["document_number"]).exists()


def test_document_already_known(console, shop, other):
    mine = testing.make_customer(shop)
    theirs = testing.make_customer(other)
    category = Category.objects.get(merchant=shop.merchant, is_default=True)
    base = {**PERSONAL, "category": category.pk, "step": 0}
    page = step(console, {**base, "document_number": mine.customer.document_number})
    assert f"/console/customers/{mine.customer.pk}/" in page.content.decode()
    page = step(console, {**base, "document_number": theirs.customer.document_number})
    assert 'name="customer_id"' in page.content.decode()
    joined = console.post("/console/customers/join/", {"customer_id": theirs.customer.pk})
    assert joined.status_code == 302
    assert Membership.objects.filter(merchant=shop.merchant, customer=theirs.customer).exists()


def test_joining_a_suspended_or_unknown_customer(console, shop, other):
    theirs = testing.make_customer(other).customer
    Customer.objects.filter(pk=theirs.pk).update(
        suspended=True, suspension_message="Llame al 601 555 0100"
    )
    page = console.post("/console/customers/join/", {"customer_id": theirs.pk}, follow=True)
    assert page.status_code == 200 and "Llame al 601 555 0100" in page.content.decode()
    assert not Membership.objects.filter(merchant=shop.merchant, customer=theirs).exists()
    assert console.post("/console/customers/join/", {"customer_id": "x"}).status_code == 404
    assert console.get("/console/customers/join/").status_code == 405


def test_card_number_taken(console, shop):
    testing.make_customer(shop)
    Membership.objects.filter(merchant=shop.merchant).update(card_number="C-1")
    category = Category.objects.get(merchant=shop.merchant, is_default=True)
    data = {
        **PERSONAL,
        **CONTACT,
        "document_number": testing.colombian_document(),
        "category": category.pk,
        "step": 2,
        "card_number": "C-1",
        "redeem_policy": "holder",
    }
    page = step(console, data, go="save").content.decode()
    assert 'id="card_number-error"' in page
    assert not Customer.objects.filter(document_number=data["document_number"]).exists()


# --- profile: consumption figures and the statement ---------------------------------------------


def test_consumption_and_running_balance_by_hand(console, shop):
    member = testing.make_customer(shop).membership
    day = dt.timedelta(days=1)
    start = timezone.now() - 10 * day
    accrue(shop, member, 12000, start)  # +12
    accrue(shop, member, 8000, start + day)  # +8 → 20
    wrong = accrue(shop, member, 30000, start + 2 * day)  # +30 → 50, reversed below
    reward = testing.make_reward(shop, cost=15)
    member = get_membership_for(shop.merchant, member.customer_id)
    ledger.redeem_reward(
        membership=member, reward_id=reward.pk, branch=shop.branch, now=start + 3 * day
    )  # -15 → 35
    ledger.reverse_transaction(
        merchant=shop.merchant,
        transaction_id=wrong.transaction.pk,
        reason="Factura anulada",
        now=start + 4 * day,
    )  # -30 → 5

    page = console.get(f"/console/customers/{member.customer_id}/")
    html = page.content.decode()
    # Purchases that stand: 12,000 and 8,000 → average 10,000; the reversed one is left out.
    figures = page.context["figures"]
    assert figures["purchases"] == 2 and figures["average_ticket"] == Decimal("10000.00")
    assert figures["redemptions"] == 1
    assert figures["last_purchase"] == start + day
    assert figures["last_redemption"] == start + 3 * day
    balances = [(t.kind, t.points, t.balance_after) for t in page.context["rows"]][::-1]
    assert balances == [
        (Kind.ACCRUAL, 12, 12),
        (Kind.ACCRUAL, 8, 20),
        (Kind.ACCRUAL, 30, 50),
        (Kind.REDEMPTION, -15, 35),
        (Kind.REVERSAL, -30, 5),
    ]
    assert "Factura anulada" in html and 'id="available">5<' in html

    # A period starting after the first two accruals opens with their balance.
    since = timezone.localdate(start + 2 * day).isoformat()
    page = console.get(f"/console/customers/{member.customer_id}/", {"date_from": since})
    assert page.context["opening"] == 20
    assert len(page.context["rows"]) == 3
    bad = console.get(
        f"/console/customers/{member.customer_id}/", {"date_from": "2026-13-01", "date_to": "x"}
    )
    assert bad.status_code == 200 and 'id="date_from-error"' in bad.content.decode()
    reversed_range = console.get(
        f"/console/customers/{member.customer_id}/",
        {"date_from": "2026-05-02", "date_to": "2026-05-01"},
    )
    assert 'id="date_to-error"' in reversed_range.content.decode()


def test_expiring_within_30_days(console, shop):
    member = testing.make_customer(shop).membership
    shop.merchant.points_validity_days = 40
    shop.merchant.save()
    accrue(shop, member, 7000, timezone.now() - dt.timedelta(days=20))  # expires in 20 days
    accrue(shop, member, 3000)  # expires in 40 days
    page = console.get(f"/console/customers/{member.customer_id}/")
    assert page.context["points"]["expiring_30d"] == 7


def test_change_category(console, shop, other):
    member = testing.make_customer(shop).membership
    gold = Category.objects.create(merchant=shop.merchant, name="Oro", multiplier=2)
    url = f"/console/customers/{member.customer_id}/category/"
    assert console.post(url, {"category": gold.pk}).status_code == 302
    member.refresh_from_db()
    assert member.category_id == gold.pk
    foreign = Category.objects.filter(merchant=other.merchant).first()
    console.post(url, {"category": foreign.pk})
    member.refresh_from_db()
    assert member.category_id == gold.pk  # refused: not one of this merchant's categories


def test_card_and_redeem_policy_changed_from_the_profile(console, shop):
    holder = testing.make_customer(shop).membership
    other = testing.make_customer(shop).membership
    Membership.objects.filter(pk=other.pk).update(card_number="T-2")
    url = f"/console/customers/{holder.customer_id}/card/"
    console.post(url, {"card_number": "T-1", "redeem_policy": "all"})
    holder.refresh_from_db()
    assert (holder.card_number, holder.redeem_policy) == ("T-1", "all")
    page = console.post(url, {"card_number": "T-2", "redeem_policy": "all"}, follow=True)
    assert "Another customer has this card." in page.content.decode()
    console.post(url, {"card_number": "", "redeem_policy": "nope"})
    holder.refresh_from_db()
    assert (holder.card_number, holder.redeem_policy) == ("T-1", "all")


# --- reversal (P8) ------------------------------------------------------------------------------


def test_reversal_from_statement(console, shop):
    member = testing.make_customer(shop).membership
    txn = accrue(shop, member, 20000).transaction
    url = f"/console/customers/{member.customer_id}/reverse/{txn.pk}/"
    console.post(url, {"reason": ""})
    assert not Transaction.objects.filter(reverses=txn).exists()  # a reason is required
    assert console.post(url, {"reason": "Error de caja"}).status_code == 302
    reversal = Transaction.objects.get(reverses=txn)
    assert (reversal.points, reversal.reason, reversal.staff_id) == (
        -20,
        "Error de caja",
        shop.admin.pk,
    )
    again = console.post(url, {"reason": "otra vez"}, follow=True).content.decode()
    assert "already reversed" in again
    assert Transaction.objects.filter(reverses=txn).count() == 1
    html = console.get(f"/console/customers/{member.customer_id}/").content.decode()
    assert "Error de caja" in html and "reversed" in html
    assert check_ledger() == []


def test_reversal_below_zero_is_explained_and_refused(console, shop):
    member = testing.make_customer(shop).membership
    txn = accrue(shop, member, 20000).transaction
    reward = testing.make_reward(shop, cost=15)
    ledger.redeem_reward(
        membership=get_membership_for(shop.merchant, member.customer_id),
        reward_id=reward.pk,
        branch=shop.branch,
    )
    url = f"/console/customers/{member.customer_id}/reverse/{txn.pk}/"
    page = console.post(url, {"reason": "Factura anulada"}, follow=True).content.decode()
    assert "below zero" in page and "already spent" in page
    assert not Transaction.objects.filter(reverses=txn).exists()
    member.account.refresh_from_db()
    assert member.account.balance == 5
    assert check_ledger() == []


def test_redemption_reversal_gives_points_back(console, shop):
    member = testing.make_customer(shop).membership
    accrue(shop, member, 20000)
    reward = testing.make_reward(shop, cost=15)
    redemption = ledger.redeem_reward(
        membership=get_membership_for(shop.merchant, member.customer_id),
        reward_id=reward.pk,
        branch=shop.branch,
    ).transaction
    url = f"/console/customers/{member.customer_id}/reverse/{redemption.pk}/"
    console.post(url, {"reason": "Premio no entregado"})
    member.account.refresh_from_db()
    assert member.account.balance == 20


# --- blocks (C11) -------------------------------------------------------------------------------


def test_block_list_block_by_card_and_unblock_with_confirmation(console, shop):
    member = testing.make_customer(shop, first_name="Pedro", last_name="Block").membership
    Membership.objects.filter(pk=member.pk).update(card_number="B-9")
    page = console.post("/console/customers/blocked/", {"customer": "B-9", "reason": ""})
    assert 'id="reason-error"' in page.content.decode()
    page = console.post("/console/customers/blocked/", {"customer": "Nadie", "reason": "x"})
    assert 'id="customer-error"' in page.content.decode()
    console.post("/console/customers/blocked/", {"customer": "B-9", "reason": "Fraude en caja"})
    member.refresh_from_db()
    assert member.blocked and member.blocked_reason == "Fraude en caja" and member.blocked_at
    assert "Fraude en caja" in console.get("/console/customers/blocked/").content.decode()

    # Blocked: accruals go on; redemptions are refused, here and through the API.
    accrue(shop, member, 50000)
    reward = testing.make_reward(shop, cost=10)
    with pytest.raises(CustomerBlocked):
        ledger.redeem_reward(
            membership=get_membership_for(shop.merchant, member.customer_id),
            reward_id=reward.pk,
            branch=shop.branch,
        )
    cashier = testing.make_cashier(shop)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {testing.token_for(cashier)}")
    refused = api.post(
        "/api/v1/redemptions",
        {"customer_id": str(member.customer_id), "reward_id": str(reward.pk)},
        content_type="application/json",
    )
    assert refused.status_code == 403 and refused.json()["code"] == "customer_blocked"
    accepted = api.post(
        "/api/v1/accruals",
        {"customer_id": str(member.customer_id), "amount": "10000", "invoice_number": "F-1"},
        content_type="application/json",
    )
    assert accepted.status_code == 201

    url = f"/console/customers/{member.customer_id}/unblock/"
    confirm = console.get(url).content.decode()
    assert "Remove the block on" in confirm and "Fraude en caja" in confirm
    member.refresh_from_db()
    assert member.blocked  # asking is not doing
    response = console.post(url, {"next": "https://evil.example.com/"})
    assert response["Location"] == f"/console/customers/{member.customer_id}/"
    member.refresh_from_db()
    assert not member.blocked and member.blocked_reason == ""
    # A "next" that is no path of ours (found by the garbage test) goes to the profile too.
    assert console.post(url, {"next": "0"})["Location"].endswith(f"{member.customer_id}/")


def test_block_from_profile_needs_reason(console, shop):
    member = testing.make_customer(shop).membership
    url = f"/console/customers/{member.customer_id}/block/"
    console.post(url, {"reason": "  "})
    member.refresh_from_db()
    assert not member.blocked
    console.post(url, {"reason": "Revisión"})
    member.refresh_from_db()
    assert member.blocked


# --- tenancy ------------------------------------------------------------------------------------


def test_other_merchant_gets_404_everywhere(shop, other):
    member = testing.make_customer(shop).membership
    txn = accrue(shop, member, 20000).transaction
    intruder = client_for(other.admin)
    cid = member.customer_id
    for method, url, data in [
        ("get", f"/console/customers/{cid}/", {}),
        ("post", f"/console/customers/{cid}/category/", {}),
        ("post", f"/console/customers/{cid}/block/", {"reason": "x"}),
        ("post", f"/console/customers/{cid}/card/", {"redeem_policy": "all"}),
        ("get", f"/console/customers/{cid}/unblock/", {}),
        ("post", f"/console/customers/{cid}/consent/", {"given": "1"}),
        ("get", f"/console/customers/{cid}/export.json", {}),
        ("get", f"/console/customers/{cid}/export.csv", {}),
        ("post", f"/console/customers/{cid}/reverse/{txn.pk}/", {"reason": "x"}),
    ]:
        assert getattr(intruder, method)(url, data).status_code == 404, url
    # Merchant B's own customer and A's transaction together: still 404, nothing reversed.
    theirs = testing.make_customer(other).membership
    url = f"/console/customers/{theirs.customer_id}/reverse/{txn.pk}/"
    assert intruder.post(url, {"reason": "x"}).status_code == 404
    blocked = intruder.post(
        "/console/customers/blocked/", {"customer": member.customer.document_number, "reason": "x"}
    )
    assert 'id="customer-error"' in blocked.content.decode()
    member.refresh_from_db()
    assert not member.blocked and not Transaction.objects.filter(reverses=txn).exists()
    cashier = client_for(testing.make_cashier(shop))
    assert cashier.get("/console/customers/").status_code == 404
    assert cashier.get(f"/console/customers/{cid}/").status_code == 404


# --- consent and export (C12) -------------------------------------------------------------------


def test_consent_recorded_and_exported(console, shop):
    member = testing.make_customer(shop).membership
    url = f"/console/customers/{member.customer_id}/consent/"
    console.post(url, {"given": "1"})
    member.refresh_from_db()
    assert member.marketing_consent and member.marketing_consent_at
    console.post(url, {"given": "0"})
    member.refresh_from_db()
    assert not member.marketing_consent
    assert list(member.consents.order_by("at").values_list("given", flat=True)) == [True, False]

    data = console.get(f"/console/customers/{member.customer_id}/export.json")
    assert data["Content-Type"].startswith("application/json")
    assert data.json()["customer"]["email"] == member.customer.email
    csv = console.get(f"/console/customers/{member.customer_id}/export.csv")
    assert csv["Content-Type"].startswith("text/csv")
    assert member.customer.email in csv.content.decode("utf-8-sig")
    assert console.get(f"/console/customers/{member.customer_id}/export.xml").status_code == 404
