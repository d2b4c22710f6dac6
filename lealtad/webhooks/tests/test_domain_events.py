"""I4: every movement of the domain reports its event, once, with the API's own representation,
in the causing transaction: the real actions (till, console and API call the same ones), a
rolled-back movement reports nothing, and an endpoint subscribed to other types gets none."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from lealtad.coins import actions as coins
from lealtad.coins import payments
from lealtad.core import testing
from lealtad.core.errors import (
    AmountBelowMinimum,
    DuplicateInvoice,
    InvalidCode,
    PaymentCancelled,
    TransactionNotPending,
)
from lealtad.customers.actions import join_merchant
from lealtad.ledger import actions as ledger
from lealtad.ledger.models import Kind, Transaction
from lealtad.notifications.models import OutgoingEmail
from lealtad.offers import actions as offers
from lealtad.program.models import AuditMode, Category
from lealtad.webhooks.actions import create_endpoint
from lealtad.webhooks.events import EVENT_TYPES
from lealtad.webhooks.models import Delivery, Event
from lealtad.webhooks.payloads import SCHEMAS

pytestmark = pytest.mark.django_db
DOMAIN_EVENTS = sorted(SCHEMAS)


@pytest.fixture(autouse=True)
def _private_targets(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True


def subscribe(shop, events=DOMAIN_EVENTS):
    endpoint, _secret = create_endpoint(
        shop.merchant, url="http://127.0.0.1:18136/hooks", events=list(events)
    )
    return endpoint


@pytest.fixture
def shop():
    shop = testing.make_merchant("Café", coin_issuer=True, cashback_rate="0.03")
    shop.endpoint = subscribe(shop)
    return shop


def events_of(type_: str) -> list[dict]:
    """The `data` of every event of this type, each checked against its documented schema."""
    rows = list(Event.objects.filter(type=type_).order_by("created_at"))
    for row in rows:
        assert row.payload["type"] == type_
        assert set(row.payload) == {"type", "timestamp", "data"}
        SCHEMAS[type_].model_validate(row.payload["data"])  # extra="forbid": the exact shape
    return [row.payload["data"] for row in rows]


def only(type_: str) -> dict:
    found = events_of(type_)
    assert len(found) == 1, found
    return found[0]


def iso(moment) -> str:
    return moment.isoformat()


def test_registration_reports_customer_joined_once(shop):
    reg = testing.make_customer(shop)
    data = only("customer.joined")
    customer = reg.customer
    assert data["customer_id"] == str(customer.pk)
    assert data["merchant_id"] == str(shop.merchant.pk)
    assert data["branch_id"] == str(shop.branch.pk)
    assert data["document_number"] == customer.document_number
    assert data["email"] == customer.email
    category = reg.membership.category
    assert data["category"] == {"id": str(category.pk), "name": category.name}
    ledger.accrue_points(merchant=shop.merchant, customer=customer, amount=5000, branch=shop.branch)
    assert len(events_of("customer.joined")) == 1  # a member already: no second join


def test_a_first_accrual_at_another_merchant_is_a_join_there(shop):
    elsewhere = testing.make_merchant("Panadería")
    customer = testing.make_customer(elsewhere).customer
    assert not Event.objects.exists()  # the other merchant subscribes to nothing
    ledger.accrue_points(merchant=shop.merchant, customer=customer, amount=5000, branch=shop.branch)
    joined = only("customer.joined")
    assert (joined["merchant_id"], joined["customer_id"]) == (
        str(shop.merchant.pk),
        str(customer.pk),
    )
    assert only("accrual.posted")["customer_id"] == str(customer.pk)


def test_accrual_posted_carries_the_transaction_and_the_balance(shop):
    member = testing.make_customer(shop).membership
    move = ledger.accrue_points(
        merchant=shop.merchant,
        membership=member,
        amount=Decimal("25000.00"),
        branch=shop.branch,
        invoice_number=" F-1001 ",
    )
    txn = move.transaction
    assert only("accrual.posted") == {
        "id": str(txn.pk),
        "kind": "accrual",
        "status": "posted",
        "customer_id": str(member.customer_id),
        "merchant_id": str(shop.merchant.pk),
        "branch_id": str(shop.branch.pk),
        "points": 25,
        "amount": "25000.00",
        "currency": "COP",
        "invoice_number": "F-1001",
        "hold_rule": None,
        "reason": None,
        "balance": {"available": 25, "pending": 0},
        "at": iso(txn.posted_at),
    }
    assert events_of("accrual.held") == []
    (delivery,) = Delivery.objects.filter(event__type="accrual.posted")
    assert (delivery.endpoint_id, delivery.status) == (shop.endpoint.pk, "pending")


@pytest.fixture
def manual_member(shop):
    member = testing.make_customer(shop).membership
    Category.objects.filter(pk=member.category_id).update(audit_mode=AuditMode.MANUAL)
    member.category.refresh_from_db()
    return member


def test_a_held_accrual_reports_held_then_approved(shop, manual_member):
    move = ledger.accrue_points(
        merchant=shop.merchant, membership=manual_member, amount=7000, branch=shop.branch
    )
    held = only("accrual.held")
    assert (held["id"], held["status"], held["points"]) == (str(move.transaction.pk), "pending", 7)
    assert held["hold_rule"] == "category_manual_approval"
    assert held["balance"] == {"available": 0, "pending": 7}
    assert events_of("accrual.posted") == []
    ledger.approve_accrual(
        merchant=shop.merchant, transaction_id=move.transaction.pk, staff=shop.admin
    )
    approved = only("accrual.approved")
    txn = Transaction.objects.get(pk=move.transaction.pk)
    assert (approved["id"], approved["status"]) == (str(txn.pk), "posted")
    assert approved["balance"] == {"available": 7, "pending": 0}
    assert approved["at"] == iso(txn.decided_at)
    assert events_of("accrual.posted") == [] and events_of("accrual.rejected") == []


def test_a_rejected_accrual_reports_its_reason(shop, manual_member):
    move = ledger.accrue_points(
        merchant=shop.merchant, membership=manual_member, amount=7000, branch=shop.branch
    )
    ledger.reject_accrual(
        merchant=shop.merchant, transaction_id=move.transaction.pk, reason="Factura falsa"
    )
    rejected = only("accrual.rejected")
    assert (rejected["status"], rejected["reason"]) == ("rejected", "Factura falsa")
    assert rejected["balance"] == {"available": 0, "pending": 0}
    assert events_of("accrual.approved") == []


def test_a_refused_approval_reports_nothing(shop):
    member = testing.make_customer(shop).membership
    move = ledger.accrue_points(
        merchant=shop.merchant, membership=member, amount=7000, branch=shop.branch
    )
    with pytest.raises(TransactionNotPending):
        ledger.approve_accrual(merchant=shop.merchant, transaction_id=move.transaction.pk)
    assert events_of("accrual.approved") == []


def rich_member(shop, points=500):
    member = testing.make_customer(shop).membership
    ledger.accrue_points(
        merchant=shop.merchant, membership=member, amount=points * 1000, branch=shop.branch
    )
    return member


def test_a_prize_redemption_reports_redemption_created(shop):
    member = rich_member(shop)
    reward = testing.make_reward(shop, cost=120, name="Desayuno")
    move = ledger.redeem_reward(membership=member, reward_id=reward.pk, branch=shop.branch)
    assert only("redemption.created") == {
        "id": str(move.transaction.pk),
        "kind": "reward",
        "transaction_id": str(move.transaction.pk),
        "customer_id": str(member.customer_id),
        "merchant_id": str(shop.merchant.pk),
        "branch_id": str(shop.branch.pk),
        "name": "Desayuno",
        "reward_id": str(reward.pk),
        "promotion_id": None,
        "gift_id": None,
        "points": 120,
        "balance": {"available": 380, "pending": 0},
        "at": iso(move.transaction.posted_at),
    }


def test_a_free_item_and_a_gift_are_redemptions_too(shop):
    member = rich_member(shop)
    free = testing.make_promotion(shop, "free_item", item="Galleta", name="Galleta gratis")
    use = offers.give_free_item(membership=member, promotion_id=free.pk, branch=shop.branch)
    gift = testing.make_gift(shop, points=40, name="Puntos de regalo")
    offer = offers.offer_gift(gift=gift, membership=member)
    offers.redeem_gift(membership=member, offer_id=offer.pk, branch=shop.branch)
    free_item, points_gift = events_of("redemption.created")
    assert (free_item["kind"], free_item["id"], free_item["points"]) == (
        "free_item",
        str(use.pk),
        0,
    )
    assert (free_item["promotion_id"], free_item["name"]) == (str(free.pk), "Galleta gratis")
    assert free_item["transaction_id"] is None and free_item["balance"] is None
    offer.refresh_from_db()
    assert points_gift["kind"] == "gift" and points_gift["gift_id"] == str(gift.pk)
    assert points_gift["transaction_id"] == str(offer.transaction_id)
    assert points_gift["points"] == 40
    assert points_gift["balance"] == {"available": 540, "pending": 0}


def test_a_reversal_reports_transaction_reversed(shop):
    member = rich_member(shop, points=30)
    original = Transaction.objects.get(kind=Kind.ACCRUAL, customer=member.customer)
    reversal = ledger.reverse_transaction(
        merchant=shop.merchant, transaction_id=original.pk, reason="Error de caja"
    )
    data = only("transaction.reversed")
    assert (data["id"], data["reverses"], data["reversed_kind"]) == (
        str(reversal.pk),
        str(original.pk),
        "accrual",
    )
    assert (data["points"], data["coins"], data["balance"]) == (-30, None, 0)
    assert (data["reason"], data["amount"]) == ("Error de caja", "30000.00")


def test_coins_earned_and_their_reversal(shop):
    customer = testing.make_customer(shop).customer
    move = coins.earn_coins(
        merchant=shop.merchant, customer=customer, amount=Decimal("10000"), invoice_number="C-1"
    )
    assert only("coins.earned") == {
        "id": str(move.transaction.pk),
        "customer_id": str(customer.pk),
        "merchant_id": str(shop.merchant.pk),
        "branch_id": None,
        "coins": 300,
        "amount": "10000.00",
        "currency": "COP",
        "invoice_number": "C-1",
        "balance": {"available": 300, "held": 0},
        "at": iso(move.transaction.posted_at),
    }
    assert events_of("accrual.posted") == []  # coins are not points
    ledger.reverse_transaction(
        merchant=shop.merchant, transaction_id=move.transaction.pk, reason="Anulada"
    )
    reversed_ = only("transaction.reversed")
    assert (reversed_["coins"], reversed_["points"], reversed_["balance"]) == (-300, None, 0)


@pytest.fixture
def acceptor():
    shop = testing.make_merchant("Librería", coin_acceptor=True)
    shop.endpoint = subscribe(shop)
    return shop


@pytest.fixture
def wallet_customer(shop):
    customer = testing.make_customer(shop).customer
    coins.earn_coins(merchant=shop.merchant, customer=customer, amount=Decimal("100000"))
    return customer


def code_for(customer) -> str:
    email = OutgoingEmail.objects.filter(to=customer.email, event="code").latest("pk")
    return re.search(r" (\d{4,6})\. ", email.body).group(1)


def start(acceptor, customer, coins_=1000):
    return payments.start_payment(
        merchant=acceptor.merchant,
        customer=customer,
        invoice_amount=Decimal("5000"),
        coins=coins_,
        invoice_number="L-7",
        branch=acceptor.branch,
    )


def test_a_confirmed_coin_payment_reports_captured(acceptor, wallet_customer):
    payment = start(acceptor, wallet_customer)
    assert events_of("coin_payment.captured") == []  # held, not yet paid
    payments.confirm_payment(payment.pk, merchant=acceptor.merchant, code=code_for(wallet_customer))
    payment.refresh_from_db()
    data = only("coin_payment.captured")
    assert data == {
        "id": str(payment.pk),
        "status": "captured",
        "customer_id": str(wallet_customer.pk),
        "merchant_id": str(acceptor.merchant.pk),
        "branch_id": str(acceptor.branch.pk),
        "coins": 1000,
        "invoice_number": "L-7",
        "invoice_amount": "5000.00",
        "currency": "COP",
        "via_qr": False,
        "transaction_id": str(payment.transaction_id),
        "cancel_reason": None,
        "balance": {"available": 2000, "held": 0},
        "at": iso(payment.captured_at),
    }
    # Confirming again changes nothing and reports nothing more.
    payments.confirm_payment(payment.pk, merchant=acceptor.merchant, code=code_for(wallet_customer))
    assert len(events_of("coin_payment.captured")) == 1


def test_every_way_a_payment_ends_unpaid_reports_cancelled(acceptor, wallet_customer):
    cancelled = start(acceptor, wallet_customer, 100)
    payments.cancel_payment(cancelled.pk, merchant=acceptor.merchant)
    payments.cancel_payment(cancelled.pk, merchant=acceptor.merchant)  # again: nothing more
    wrong = start(acceptor, wallet_customer, 200)
    right = code_for(wallet_customer)
    bad = f"{(int(right) + 1) % 10 ** len(right):0{len(right)}d}"
    for _ in range(2):
        with pytest.raises(InvalidCode):
            payments.confirm_payment(wrong.pk, merchant=acceptor.merchant, code=bad)
    with pytest.raises(PaymentCancelled):
        payments.confirm_payment(wrong.pk, merchant=acceptor.merchant, code=bad)
    late = start(acceptor, wallet_customer, 300)
    assert payments.expire_holds(now=timezone.now() + dt.timedelta(minutes=11)) == 1
    found = events_of("coin_payment.cancelled")
    assert [(d["id"], d["cancel_reason"], d["coins"]) for d in found] == [
        (str(cancelled.pk), "cancelled", 100),
        (str(wrong.pk), "wrong_code", 200),
        (str(late.pk), "expired", 300),
    ]
    assert found[-1]["balance"] == {"available": 3000, "held": 0}
    assert events_of("coin_payment.captured") == []


def test_a_rolled_back_accrual_reports_nothing(shop):
    member = testing.make_customer(shop).membership
    before = Event.objects.count()

    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        ledger.accrue_points(
            merchant=shop.merchant, membership=member, amount=9000, branch=shop.branch
        )
        assert Event.objects.filter(type="accrual.posted").count() == 1  # written inside
        raise Boom
    assert Event.objects.count() == before
    assert not Delivery.objects.filter(event__type="accrual.posted").exists()


def test_a_duplicate_invoice_reports_only_the_first_accrual(shop):
    member = testing.make_customer(shop).membership
    ledger.accrue_points(
        merchant=shop.merchant,
        membership=member,
        amount=9000,
        branch=shop.branch,
        invoice_number="F-9",
    )
    with pytest.raises(DuplicateInvoice):
        ledger.accrue_points(
            merchant=shop.merchant,
            membership=member,
            amount=9000,
            branch=shop.branch,
            invoice_number="f-9",
        )
    assert len(events_of("accrual.posted")) == 1


def test_a_refused_first_accrual_makes_no_member_and_no_join_event(shop):
    elsewhere = testing.make_merchant("Panadería")
    customer = testing.make_customer(elsewhere).customer
    with pytest.raises(AmountBelowMinimum):
        ledger.accrue_points(
            merchant=shop.merchant, customer=customer, amount=1, branch=shop.branch
        )
    assert not Event.objects.exists()


def test_an_endpoint_subscribed_to_other_events_gets_none_of_these(db):
    shop = testing.make_merchant("Café", coin_issuer=True, cashback_rate="0.03")
    endpoint = subscribe(shop, ["invoice.waiting", "rating.received"])
    member = rich_member(shop)
    reward = testing.make_reward(shop, cost=10)
    ledger.redeem_reward(membership=member, reward_id=reward.pk, branch=shop.branch)
    coins.earn_coins(merchant=shop.merchant, customer=member.customer, amount=Decimal("10000"))
    join_merchant(testing.make_customer(testing.make_merchant()).customer, shop.merchant, None)
    assert not Event.objects.exists()
    assert not endpoint.deliveries.exists()


def test_every_domain_event_type_is_a_known_one_with_a_schema():
    assert set(SCHEMAS) <= set(EVENT_TYPES)
    assert set(EVENT_TYPES) - set(SCHEMAS) <= {"invoice.waiting", "rating.received"}
