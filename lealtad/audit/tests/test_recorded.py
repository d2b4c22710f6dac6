"""Issue 16, the audit trail: every staff action that moves value or changes a customer's data
leaves exactly one entry, in its own transaction, naming who, where, what and before → after.

A table over the actions: each row does the action the way the product does it (the action
function with the cashier as the caller), then the entry is checked field by field."""

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from lealtad.audit.models import ActorKind, AuditEntry
from lealtad.claims import actions as claims
from lealtad.claims import testing as pictures
from lealtad.coins import actions as coins
from lealtad.coins import payments
from lealtad.core import testing
from lealtad.core.errors import InsufficientPoints, ValidationFailed
from lealtad.customers import actions as customers
from lealtad.customers import identity
from lealtad.customers.models import Customer
from lealtad.invoices import actions as invoices
from lealtad.ledger import actions as ledger
from lealtad.ledger.models import Transaction
from lealtad.ledger.point_payments import pay_with_points
from lealtad.network import actions as network
from lealtad.notifications.models import OutgoingEmail, OutgoingSms
from lealtad.offers import actions as offers
from lealtad.program.models import AuditMode, Category

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path


@dataclass
class World:
    shop: object
    cashier: object
    membership: object
    customer: Customer
    extra: dict = field(default_factory=dict)

    @property
    def merchant(self):
        return self.shop.merchant

    @property
    def branch(self):
        return self.shop.branch


@pytest.fixture
def world():
    shop = testing.make_merchant("Café Aroma", coin_issuer=True, cashback_rate="0.02")
    cashier = testing.make_cashier(shop)
    reg = testing.make_customer(shop)
    ledger.accrue_points(
        merchant=shop.merchant, amount=Decimal(300_000), branch=shop.branch, customer=reg.customer
    )
    return World(shop, cashier, reg.membership, reg.customer)


def _accrue(w, **kw):
    return ledger.accrue_points(
        merchant=w.merchant,
        amount=Decimal(25_000),
        branch=w.branch,
        membership=w.membership,
        staff=w.cashier,
        invoice_number="F-1",
        **kw,
    ).transaction


def do_accrue(w):
    txn = _accrue(w)
    return txn, {"points": 25, "amount": "25000.00", "status": "posted"}, None


def do_redeem(w):
    reward = testing.make_reward(w.shop, cost=100, name="Café gratis")
    txn = ledger.redeem_reward(
        membership=w.membership, reward_id=reward.pk, branch=w.branch, staff=w.cashier
    ).transaction
    return txn, {"balance": 200, "points": -100, "reward": "Café gratis"}, {"balance": 300}


def do_reverse(w):
    original = _accrue(w)
    txn = ledger.reverse_transaction(
        merchant=w.merchant, transaction_id=original.pk, reason="Error de caja", staff=w.cashier
    )
    return txn, {"points": -25, "balance": 300}, {"points": 25, "balance": 325}


def do_adjust(w):
    txn = ledger.adjust_points(
        membership=w.membership, points=-7, reason="Ajuste", staff=w.cashier
    ).transaction
    return txn, {"balance": 293, "points": -7}, {"balance": 300}


def _held(w):
    Category.objects.filter(pk=w.membership.category_id).update(audit_mode=AuditMode.MANUAL)
    w.membership.refresh_from_db()
    return _accrue(w)


def do_approve(w):
    txn = _held(w)
    ledger.approve_accrual(merchant=w.merchant, transaction_id=txn.pk, staff=w.cashier)
    return txn, {"status": "posted", "points": 25}, {"status": "pending"}


def do_reject(w):
    txn = _held(w)
    ledger.reject_accrual(
        merchant=w.merchant, transaction_id=txn.pk, reason="Sin factura", staff=w.cashier
    )
    return txn, {"status": "rejected", "points": 25}, {"status": "pending"}


def do_pay_points(w):
    w.merchant.points_as_money = True
    w.merchant.point_money_value = Decimal(100)
    w.merchant.save(update_fields=["points_as_money", "point_money_value"])
    paid = pay_with_points(
        membership=w.membership,
        invoice_amount=Decimal(50_000),
        points=40,
        invoice_number="P-1",
        branch=w.branch,
        staff=w.cashier,
    )
    txn = paid.movement.transaction
    return txn, {"balance": 260, "points": -40, "value": "4000.00"}, {"balance": 300}


def do_earn_coins(w):
    txn = coins.earn_coins(
        merchant=w.merchant,
        customer=w.customer,
        amount=Decimal(10_000),
        branch=w.branch,
        staff=w.cashier,
    ).transaction
    return txn, {"coins": 200, "earned": 200, "amount": "10000.00"}, {"coins": 0}


def do_pay_coins(w):
    acceptor = testing.make_merchant("Librería", coin_acceptor=True)
    coins.earn_coins(merchant=w.merchant, customer=w.customer, amount=Decimal(10_000))
    payment = payments.start_payment(
        merchant=acceptor.merchant,
        customer=w.customer,
        invoice_amount=Decimal(500),
        coins=150,
        branch=acceptor.branch,
        staff=testing.make_cashier(acceptor),
    )
    sent = [m.body for m in OutgoingSms.objects.filter(customer=w.customer)] + [
        m.body for m in OutgoingEmail.objects.filter(to=w.customer.email)
    ]
    code = next(found[-1] for body in sent[::-1] if (found := re.findall(r"\b(\d{4})\b", body)))
    payments.confirm_payment(payment.pk, merchant=acceptor.merchant, code=code)
    payment.refresh_from_db()
    w.extra.update(merchant=acceptor.merchant, branch=acceptor.branch, actor=None)
    return payment.transaction, {"coins": 50, "paid": 150}, {"coins": 200}


def do_register(w):
    reg = customers.register_customer(
        merchant=w.merchant,
        branch=w.branch,
        staff=w.cashier,
        document_type="CC",
        document_number=testing.colombian_document(),
        country="CO",
        profile={"email": "nueva@example.com", "first_name": "Rosa"},
    )
    w.extra["customer"] = reg.customer
    return reg.customer, {"email": "nueva@example.com", "first_name": "Rosa"}, None


def _requester(w):
    return identity.Requester(w.merchant, user=w.cashier, channel="till")


def do_update(w):
    identity.update_profile(w.customer, {"city": "Cali"}, _requester(w))
    return w.customer, {"city": "Cali"}, {"city": "Bogotá"}


def do_contact(w):
    reg = testing.make_customer(w.shop, complete=False)
    w.extra["customer"] = reg.customer
    identity.start_change(reg.customer, _requester(w), {"mobile": "+573001234567"})
    return reg.customer, {"mobile": "+573001234567"}, {"mobile": None}


def do_card(w):
    customers.set_card(w.membership, card_number="T-900")
    return w.customer, {"card_number": "T-900"}, {"card_number": None}


def do_category(w):
    gold = Category.objects.create(merchant=w.merchant, name="Oro")
    before = str(w.membership.category_id)
    customers.change_category(w.membership, gold)
    return w.customer, {"category": str(gold.pk), "name": "Oro"}, {"category": before}


def do_block(w):
    customers.block_membership(w.membership, "Fraude")
    return w.customer, {"blocked": True, "blocked_reason": "Fraude"}, {"blocked": False}


def do_unblock(w):
    customers.block_membership(w.membership, "Fraude")
    customers.unblock_membership(w.membership)
    return w.customer, {"blocked": False}, {"blocked": True, "blocked_reason": "Fraude"}


def do_gift(w):
    gift = testing.make_gift(w.shop, points=30, name="Regalo")
    offer = offers.offer_gift(gift=gift, membership=w.membership, staff=w.cashier)
    return offer, {"gift": "Regalo", "kind": "points"}, None


def do_gift_redeem(w):
    gift = testing.make_gift(w.shop, points=30, name="Regalo")
    offer = offers.offer_gift(gift=gift, membership=w.membership)
    offers.redeem_gift(membership=w.membership, offer_id=offer.pk, branch=w.branch, staff=w.cashier)
    return offer, {"status": "redeemed", "points": 30}, {"status": "offered"}


def do_free_item(w):
    promo = testing.make_promotion(w.shop, kind="free_item", name="Postre gratis")
    offers.give_free_item(
        membership=w.membership, promotion_id=promo.pk, branch=w.branch, staff=w.cashier
    )
    return promo, {"promotion": "Postre gratis"}, None


def _claim(w):
    from lealtad.offers.promotions import local_date

    return claims.submit_claim(
        customer=w.customer,
        merchant_id=w.merchant.pk,
        branch_id=w.branch.pk,
        invoice_number="R-77",
        amount="25000",
        purchased_on=local_date(w.merchant, timezone.now()),
        photo=pictures.photo("JPEG"),
    )


def do_claim_approve(w):
    claim = claims.approve_claim(merchant=w.merchant, claim_id=_claim(w).pk, staff=w.cashier)
    return claim, {"status": "approved", "amount": "25000.00"}, {"status": "waiting"}


def do_claim_reject(w):
    claim = claims.reject_claim(
        merchant=w.merchant, claim_id=_claim(w).pk, reason="Ilegible", staff=w.cashier
    )
    return claim, {"status": "rejected", "reason": "Ilegible"}, {"status": "waiting"}


def do_invoice(w):
    invoice, _created = invoices.record_invoice(
        merchant=w.merchant, branch=w.branch, invoice_number="POS-9", amount="25000"
    )
    invoices.assign_invoice(invoice, merchant=w.merchant, customer=w.customer, staff=w.cashier)
    return invoice, {"status": "loaded", "amount": "25000.00"}, {"status": "waiting"}


@dataclass
class Row:
    action: str
    run: object
    customer: bool = True  # the entry names the customer


ROWS = [
    Row("points.accrue", do_accrue),
    Row("points.redeem", do_redeem),
    Row("points.reverse", do_reverse),
    Row("points.adjust", do_adjust),
    Row("points.approve", do_approve),
    Row("points.reject", do_reject),
    Row("points.pay", do_pay_points),
    Row("coins.earn", do_earn_coins),
    Row("coins.pay", do_pay_coins),
    Row("customer.register", do_register),
    Row("customer.update", do_update),
    Row("customer.contact_change", do_contact),
    Row("customer.card", do_card),
    Row("customer.category", do_category),
    Row("customer.block", do_block),
    Row("customer.unblock", do_unblock),
    Row("gift.give", do_gift),
    Row("gift.redeem", do_gift_redeem),
    Row("promotion.free_item", do_free_item),
    Row("claim.approve", do_claim_approve),
    Row("claim.reject", do_claim_reject),
    Row("invoice.accept", do_invoice),
]


MEMBERSHIP_CHANGES = ("customer.card", "customer.category", "customer.block", "customer.unblock")


@pytest.mark.parametrize("row", ROWS, ids=[r.action for r in ROWS])
def test_each_action_leaves_its_entry(world, row):
    before_count = AuditEntry.objects.filter(action=row.action).count()
    started = timezone.now()
    target, after, before = row.run(world)
    found = list(AuditEntry.objects.filter(action=row.action).order_by("-id"))
    assert len(found) == before_count + 1, [e.action for e in AuditEntry.objects.all()]
    entry = found[0]
    merchant = world.extra.get("merchant", world.merchant)
    branch = world.extra.get("branch", world.branch)
    assert entry.merchant_id == merchant.pk and entry.merchant_name == merchant.name
    membership_change = row.action in MEMBERSHIP_CHANGES
    if world.extra.get("actor", "cashier") is None or membership_change:
        # Outside a request and given no staff, the actor is the system (the console's and the
        # till's requests name their user: test_the_console_records_… below).
        assert (entry.actor_kind, entry.actor_id) == (ActorKind.SYSTEM, "")
        assert entry.branch_id == (None if membership_change else branch.pk)
    else:
        assert (entry.actor_kind, entry.actor_id, entry.actor_name) == (
            ActorKind.STAFF,
            str(world.cashier.pk),
            world.cashier.username,
        )
        assert entry.branch_id == branch.pk
    assert entry.target_type == target._meta.model_name
    assert entry.target_id == str(target.pk)
    customer = world.extra.get("customer", world.customer)
    assert entry.customer_id == customer.pk
    for key, value in after.items():
        assert entry.after[key] == value, (key, entry.after)
    for key, value in (before or {}).items():
        assert entry.before[key] == value, (key, entry.before)
    assert started <= entry.created_at <= timezone.now()


def test_the_accrual_entry_is_in_the_same_transaction_on_both_engines(world):
    # On PostgreSQL the entry rides in the ledger's one statement (a data-modifying CTE).
    txn = _accrue(world)
    entry = AuditEntry.objects.get(action="points.accrue", target_id=str(txn.pk))
    assert entry.after == {"points": 25, "amount": "25000.00", "status": "posted"}
    assert entry.branch_name == world.branch.name
    assert connection.vendor in ("postgresql", "sqlite")


def test_a_refused_action_leaves_no_entry(world):
    count = AuditEntry.objects.count()
    with pytest.raises(InsufficientPoints):
        ledger.adjust_points(
            membership=world.membership, points=-10_000, reason="x", staff=world.cashier
        )
    reward = testing.make_reward(world.shop, cost=10_000)
    with pytest.raises(InsufficientPoints):
        ledger.redeem_reward(membership=world.membership, reward_id=reward.pk, branch=world.branch)
    with pytest.raises(ValidationFailed):
        customers.block_membership(world.membership, "")
    assert AuditEntry.objects.count() == count


def test_an_action_rolled_back_after_its_entry_takes_the_entry_with_it(world):
    """The invoice clashes after the accrual was written (another amount under a POS invoice's
    number): the accrual rolls back, and so does its entry."""
    invoices.record_invoice(
        merchant=world.merchant, branch=world.branch, invoice_number="F-1", amount="99000"
    )
    count = AuditEntry.objects.filter(action="points.accrue").count()
    txns = Transaction.objects.count()
    with pytest.raises(Exception, match=r"(?i)invoice|factura"):
        _accrue(world)
    assert Transaction.objects.count() == txns
    assert AuditEntry.objects.filter(action="points.accrue").count() == count


def test_the_till_records_the_cashier_branch_address_and_browser(world):
    client = Client(HTTP_USER_AGENT="Mozilla/5.0 (Till) " + "x" * 300, REMOTE_ADDR="10.1.2.3")
    client.force_login(world.cashier)
    page = client.post(
        f"/cashier/c/{world.customer.pk}/accrue/", {"amount": "20.000", "invoice_number": "T-1"}
    )
    assert page.status_code == 200
    entry = AuditEntry.objects.get(action="points.accrue", target_label="T-1")
    assert (entry.actor_kind, entry.actor_name) == (ActorKind.STAFF, world.cashier.username)
    assert (entry.ip_address, entry.branch_id) == ("10.1.2.3", world.branch.pk)
    assert entry.user_agent.startswith("Mozilla/5.0 (Till) ") and len(entry.user_agent) == 120


def test_a_pos_key_is_recorded_by_its_id_and_name(world):
    key, secret = network.create_api_key(world.merchant, world.branch, "Caja 7")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}", REMOTE_ADDR="192.0.2.9")
    made = api.post(
        "/api/v1/accruals",
        {"customer_id": str(world.customer.pk), "amount": "30000", "invoice_number": "K-1"},
        content_type="application/json",
    )
    assert made.status_code == 201, made.content
    entry = AuditEntry.objects.get(action="points.accrue", target_label="K-1")
    assert (entry.actor_kind, entry.actor_id, entry.actor_name) == (
        ActorKind.API_KEY,
        str(key.pk),
        "Caja 7",
    )
    assert (entry.ip_address, entry.branch_id) == ("192.0.2.9", world.branch.pk)


def test_a_staff_token_is_recorded_as_its_user(world):
    api = Client(HTTP_AUTHORIZATION=f"Bearer {testing.token_for(world.cashier)}")
    made = api.post(
        "/api/v1/accruals",
        {"customer_id": str(world.customer.pk), "amount": "30000", "invoice_number": "S-1"},
        content_type="application/json",
    )
    assert made.status_code == 201, made.content
    entry = AuditEntry.objects.get(action="points.accrue", target_label="S-1")
    assert (entry.actor_kind, entry.actor_id) == (ActorKind.STAFF, str(world.cashier.pk))


def test_the_console_records_staff_and_api_keys_by_the_admin(world):
    console = Client(REMOTE_ADDR="10.9.9.9")
    console.force_login(world.shop.admin)
    made = console.post("/console/api-keys/new/", {"name": "Caja 2", "branch": ""})
    assert made.status_code == 200
    key = world.merchant.api_keys.get(name="Caja 2")
    assert console.post(f"/console/api-keys/{key.pk}/revoke/").status_code == 302
    for action in ("api_key.create", "api_key.revoke"):
        entry = AuditEntry.objects.get(action=action, target_id=str(key.pk))
        assert (entry.actor_id, entry.ip_address) == (str(world.shop.admin.pk), "10.9.9.9")
        assert (entry.target_type, entry.target_id) == ("apikey", str(key.pk))
    assert AuditEntry.objects.get(action="api_key.revoke").after == {"revoked": True}
    # The console's membership changes name the admin too.
    assert console.post(
        f"/console/customers/{world.customer.pk}/block/", {"reason": "Fraude"}
    ).status_code in (200, 302)
    entry = AuditEntry.objects.get(action="customer.block")
    assert (entry.actor_kind, entry.actor_id) == (ActorKind.STAFF, str(world.shop.admin.pk))


def test_the_command_line_is_the_actor_of_its_commands(world, capsys):
    call_command(
        "create_staff",
        merchant=str(world.merchant.pk),
        username="nuevo.cajero",
        password=testing.PASSWORD,
        role="cashier",
    )
    entry = AuditEntry.objects.get(action="staff.create", target_label="nuevo.cajero")
    assert (entry.actor_kind, entry.actor_name) == (ActorKind.CLI, "lealtad create-staff")
    assert entry.after["role"] == "cashier" and entry.merchant_id == world.merchant.pk


def test_anonymisation_redacts_the_personal_values_and_keeps_the_facts(world, capsys):
    identity.update_profile(world.customer, {"city": "Cali"}, _requester(world))
    customers.block_membership(world.membership, "Ana robó")
    email = world.customer.email
    call_command("anonymise_customer", str(world.customer.pk), "--yes")
    world.customer.refresh_from_db()
    update = AuditEntry.objects.get(action="customer.update")
    assert update.before == {"city": "[redacted]"} and update.after == {"city": "[redacted]"}
    assert update.target_label == str(world.customer) and "Ana" not in update.target_label
    block = AuditEntry.objects.get(action="customer.block")
    assert block.after == {"blocked": True, "blocked_reason": "[redacted]"}
    register = AuditEntry.objects.filter(customer_id=world.customer.pk)
    assert not any(email in str(e.after) + str(e.before) for e in register)
    done = AuditEntry.objects.get(action="customer.anonymise")
    assert (done.actor_kind, done.actor_name) == (ActorKind.CLI, "lealtad anonymise-customer")
    assert done.merchant_id == world.merchant.pk and "email" in done.after["fields"]
    # The movements keep their facts: points, amounts, who and when.
    accrual = AuditEntry.objects.filter(action="points.accrue").first()
    assert accrual.after["points"] == 300


def test_an_entry_is_recent_to_the_second(world):
    entry = AuditEntry.objects.filter(action="points.accrue").first()
    assert timezone.now() - entry.created_at < dt.timedelta(minutes=1)
