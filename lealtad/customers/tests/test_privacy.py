"""C12 privacy: marketing consent with history, the merchant's export of a customer's data, and
the operator's anonymisation on request, which keeps the ledger whole.

Ana is a customer of Alice's café (merchant A) with accruals, a redemption, a reversal, a
dependent (Dani), a gift and a promotion; she also shops at Charlie's pharmacy (merchant B),
whose data must never show in A's export."""

import csv
import datetime as dt
import io
import json
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.admin.models import LogEntry
from django.core import mail
from django.core.management import CommandError, call_command
from django.db.models import Sum
from django.test import Client

from lealtad.api.models import IdempotencyRecord
from lealtad.core import testing
from lealtad.core.errors import CustomerAnonymised, ValidationFailed
from lealtad.customers import actions as customers
from lealtad.customers import privacy
from lealtad.customers.models import ConsentRecord, Customer, Membership
from lealtad.ledger import actions as ledger
from lealtad.ledger.check import check_ledger
from lealtad.ledger.models import Account, Entry, Kind, Lot, Transaction
from lealtad.network.models import Role, User
from lealtad.notifications.actions import deliver
from lealtad.notifications.models import OutgoingEmail
from lealtad.offers import actions as offers
from lealtad.offers.models import GiftOffer

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def alice_shop():
    return testing.make_merchant("Café Aroma", admin="alice", branch_name="Sede Centro")


@pytest.fixture
def charlie_shop():
    return testing.make_merchant(
        "Farmacia Salud", country="CO", admin="charlie", branch_name="Sede Secreta B"
    )


def accrue(shop, membership, amount, invoice):
    return ledger.accrue_points(
        merchant=shop.merchant,
        membership=membership,
        branch=shop.branch,
        amount=Decimal(amount),
        invoice_number=invoice,
    )


def reload(membership: Membership) -> Membership:
    return customers.get_membership_for(membership.merchant, membership.customer_id)


class World:
    """Ana at A (holder of Dani) and at B, with every kind of data each merchant can hold."""

    def __init__(self, a, b):
        self.a, self.b = a, b
        self.ana_reg = testing.make_customer(a, first_name="Ana María", last_name="Gómez Ruiz")
        self.ana = self.ana_reg.customer
        self.old = {
            "document": self.ana.document_number,
            "email": self.ana.email,
            "mobile": self.ana.mobile,
            "qr": customers.qr_payload(self.ana),
        }
        at_a = self.ana_reg.membership
        Membership.objects.filter(pk=at_a.pk).update(card_number="A-CARD-77")
        self.at_a = reload(at_a)

        promo = testing.make_promotion(
            a, "bonus", bonus_points=5, min_amount=Decimal("15000"), name="Doble Café"
        )
        self.first = accrue(a, self.at_a, "20000", "A-INV-1").transaction  # 20 + 5 bonus
        self.second = accrue(a, self.at_a, "10000", "A-INV-2").transaction
        reward = testing.make_reward(a, cost=10, name="Croissant")
        self.redemption = ledger.redeem_reward(
            membership=self.at_a, reward_id=reward.pk, branch=a.branch
        ).transaction
        self.reversal = ledger.reverse_transaction(
            merchant=a.merchant, transaction_id=self.second.pk, reason="wrong invoice"
        )
        gift = testing.make_gift(a, kind="points", points=7, name="Regalo Cumple")
        self.offer = offers.offer_gift(
            gift=gift, membership=self.at_a, note="Ana María called from +57 300"
        )
        offers.redeem_gift(membership=self.at_a, offer_id=self.offer.pk, branch=a.branch)

        self.dani_reg = testing.make_customer(a, first_name="Dani", last_name="Gómez")
        Membership.objects.filter(pk=self.dani_reg.membership.pk).update(holder=self.at_a)
        self.dani_at_a = reload(self.dani_reg.membership)
        self.dani_accrual = accrue(a, self.dani_at_a, "3000", "A-INV-DANI").transaction
        self.promo = promo

        # Merchant B: everything here is B's and must stay out of A's export.
        self.at_b = customers.join_merchant(self.ana, b.merchant, b.branch)
        Membership.objects.filter(pk=self.at_b.pk).update(
            card_number="B-CARD-SECRET", blocked_reason="B-BLOCK-SECRET"
        )
        self.at_b = reload(self.at_b)
        self.b_accrual = accrue(b, self.at_b, "50000", "B-INV-SECRET").transaction
        b_gift = testing.make_gift(b, kind="product", name="B-GIFT-SECRET")
        offers.offer_gift(gift=b_gift, membership=self.at_b, note="B-NOTE-SECRET")
        privacy.set_marketing_consent(self.at_b, given=True, channel="b-secret-channel")
        self.b_secrets = [
            b.merchant.name,
            "Sede Secreta B",
            "B-INV-SECRET",
            "B-CARD-SECRET",
            "B-BLOCK-SECRET",
            "B-GIFT-SECRET",
            "B-NOTE-SECRET",
            "b-secret-channel",
            str(self.at_b.pk),
            str(self.b_accrual.pk),
        ]


@pytest.fixture
def world(alice_shop, charlie_shop):
    return World(alice_shop, charlie_shop)


# --- consent -------------------------------------------------------------------------------------


def test_consent_given_withdrawn_and_repeated_keeps_history_and_first_time(alice_shop):
    membership = testing.make_customer(alice_shop).membership
    carol = testing.make_cashier(alice_shop, "carol")
    t1, t2, t3 = T0, T0 + dt.timedelta(hours=1), T0 + dt.timedelta(hours=2)

    same = privacy.set_marketing_consent(membership, given=True, staff=carol, now=t1)
    assert same is membership
    assert (membership.marketing_consent, membership.marketing_consent_at) == (True, t1)
    privacy.set_marketing_consent(membership, given=True, staff=carol, now=t2)  # a repeat
    row = Membership.objects.get(pk=membership.pk)
    assert (row.marketing_consent, row.marketing_consent_at) == (True, t1)
    privacy.set_marketing_consent(membership, given=False, channel="cashier", now=t3)

    row = Membership.objects.get(pk=membership.pk)
    assert (row.marketing_consent, row.marketing_consent_at) == (False, t3)
    history = list(
        ConsentRecord.objects.filter(membership=membership)
        .order_by("at")
        .values_list("given", "at", "staff__username", "channel")
    )
    assert history == [(True, t1, "carol", "console"), (False, t3, None, "cashier")]


def test_withdrawing_consent_never_given_records_nothing(alice_shop):
    membership = testing.make_customer(alice_shop).membership
    privacy.set_marketing_consent(membership, given=False, now=T0)
    row = Membership.objects.get(pk=membership.pk)
    assert (row.marketing_consent, row.marketing_consent_at) == (False, None)
    assert ConsentRecord.objects.count() == 0


def test_consent_needs_a_short_channel(alice_shop):
    membership = testing.make_customer(alice_shop).membership
    with pytest.raises(ValidationFailed):
        privacy.set_marketing_consent(membership, given=True, channel="x" * 21)
    assert ConsentRecord.objects.count() == 0


def test_consent_is_refused_for_an_anonymised_customer(alice_shop):
    membership = testing.make_customer(alice_shop).membership
    privacy.anonymise_customer(membership.customer)
    with pytest.raises(CustomerAnonymised) as exc:
        privacy.set_marketing_consent(membership, given=True)
    assert isinstance(exc.value, ValidationFailed) and exc.value.code == "customer_anonymised"
    assert not Membership.objects.get(pk=membership.pk).marketing_consent
    assert ConsentRecord.objects.count() == 0


def test_an_anonymised_profile_is_not_filled_in_again(alice_shop):
    membership = testing.make_customer(alice_shop).membership
    customer = privacy.anonymise_customer(membership.customer)
    with pytest.raises(CustomerAnonymised):
        customers.update_profile(customer, {"first_name": "Ana", "email": "ana@example.com"})
    customer.refresh_from_db()
    assert (customer.first_name, customer.email) == ("", None)


# --- export --------------------------------------------------------------------------------------


def test_export_holds_profile_membership_and_points(world):
    privacy.set_marketing_consent(world.at_a, given=True, now=T0)
    data = privacy.export_data(world.at_a)

    assert (data["format"], data["version"]) == ("lealtad.customer-export", 1)
    assert dt.datetime.fromisoformat(data["exported_at"]).tzinfo is not None
    assert data["merchant"] == {"id": str(world.a.merchant.pk), "name": world.a.merchant.name}
    person = data["customer"]
    assert person["document_number"] == world.old["document"]
    assert (person["first_name"], person["last_name"]) == ("Ana María", "Gómez Ruiz")
    assert (person["email"], person["mobile"]) == (world.old["email"], world.old["mobile"])
    assert (person["birth_date"], person["gender"], person["city"]) == (
        "1990-05-17",
        "F",
        "Bogotá",
    )
    card = data["membership"]
    assert card["card_number"] == "A-CARD-77"
    assert card["registered_branch"] == "Sede Centro"
    assert card["holder"] is None
    assert card["dependents"] == [
        {"customer_id": str(world.dani_reg.customer.pk), "name": "Dani Gómez"}
    ]
    assert (card["redeem_policy"], card["blocked"], card["marketing_consent"]) == (
        "holder",
        False,
        True,
    )
    assert [(c["given"], c["channel"]) for c in card["consent_history"]] == [(True, "console")]
    # 25 + 10 - 10 - 10 + 7 (gift) + 3 (Dani)
    assert data["points"] == {"available": 25, "pending": 0, "in_holder_account": False}


def test_export_statement_is_complete_and_exact(world):
    rows = privacy.export_data(world.at_a)["statement"]
    by_id = {row["id"]: row for row in rows}

    assert [row["kind"] for row in rows] == [
        Kind.ACCRUAL,
        Kind.ACCRUAL,
        Kind.REDEMPTION,
        Kind.REVERSAL,
        Kind.BONUS,
        Kind.ACCRUAL,
    ]
    first = by_id[str(world.first.pk)]
    assert (first["points"], first["balance_after"], first["amount"], first["currency"]) == (
        25,
        25,
        "20000.00",
        "COP",
    )
    assert (first["invoice_number"], first["branch"], first["status"]) == (
        "A-INV-1",
        "Sede Centro",
        "posted",
    )
    assert dt.datetime.fromisoformat(first["posted_at"]) == world.first.posted_at
    redemption = by_id[str(world.redemption.pk)]
    assert (redemption["points"], redemption["reward"]) == (-10, "Croissant")
    reversal = by_id[str(world.reversal.pk)]
    assert reversal["reverses"] == str(world.second.pk)
    assert (reversal["points"], reversal["reason"]) == (-10, "wrong invoice")
    # Dani's accrual sits in Ana's account: it is part of Ana's statement, said to be Dani's.
    dani = by_id[str(world.dani_accrual.pk)]
    assert dani["customer_id"] == str(world.dani_reg.customer.pk)
    assert rows[-1]["balance_after"] == 25


def test_export_gifts_promotions_and_emails(world):
    data = privacy.export_data(world.at_a)
    [offer] = data["gift_offers"]
    assert (offer["gift"], offer["kind"], offer["status"]) == (
        "Regalo Cumple",
        "points",
        "redeemed",
    )
    assert offer["note"] == "Ana María called from +57 300"
    [use] = data["promotion_uses"]
    assert (use["promotion"], use["points"], use["transaction"]) == (
        "Doble Café",
        5,
        str(world.first.pk),
    )
    # Joining and the redemption (the café sends those by default), not Dani's nor B's.
    assert [(e["event"], e["status"]) for e in data["emails"]] == [
        ("join", "pending"),
        ("redemption", "pending"),
    ]
    assert all(set(e) == {"event", "created_at", "status", "sent_at"} for e in data["emails"])


def test_a_dependents_export_has_their_own_movements_and_their_holder(world):
    data = privacy.export_data(world.dani_at_a)
    assert data["membership"]["holder"] == {
        "customer_id": str(world.ana.pk),
        "name": "Ana María Gómez Ruiz",
    }
    assert [row["id"] for row in data["statement"]] == [str(world.dani_accrual.pk)]
    assert data["points"]["in_holder_account"] is True
    assert data["gift_offers"] == [] and data["promotion_uses"] == []


def test_merchant_a_export_holds_nothing_of_merchant_b(world):
    text = json.dumps(privacy.export_data(world.at_a))
    csv_text = privacy.export_csv(world.at_a)
    for secret in world.b_secrets:
        assert secret not in text, secret
        assert secret not in csv_text, secret
    # And the other way round: B's export has B's data and none of A's movements.
    b_text = json.dumps(privacy.export_data(world.at_b))
    assert "B-INV-SECRET" in b_text and "B-NOTE-SECRET" in b_text
    for a_secret in ("A-INV-1", "A-CARD-77", "Croissant", "Regalo Cumple", str(world.at_a.pk)):
        assert a_secret not in b_text


def test_export_round_trips_through_json(world):
    data = privacy.export_data(world.at_a)
    assert json.loads(json.dumps(data)) == data


def test_export_queries_do_not_grow_with_the_statement(world, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as before:
        privacy.export_data(world.at_a)
    for n in range(5):
        accrue(world.a, world.at_a, "1000", f"A-MORE-{n}")
    with django_assert_num_queries(len(before.captured_queries)):
        privacy.export_data(world.at_a)


def csv_rows(text: str) -> list[list[str]]:
    assert isinstance(text, str) and not text.startswith("\ufeff")  # the download adds it
    return list(csv.reader(io.StringIO(text)))


def test_csv_has_the_values_then_one_table_per_list(world):
    rows = csv_rows(privacy.export_csv(world.at_a))
    assert rows[0] == ["section", "field", "value"]
    singles = {(r[0], r[1]): r[2] for r in rows[1 : rows.index([])]}
    assert singles[("customer", "last_name")] == "Gómez Ruiz"
    assert singles[("customer", "document_number")] == world.old["document"]
    assert singles[("membership", "card_number")] == "A-CARD-77"
    assert singles[("points", "available")] == "25"
    assert singles[("export", "version")] == "1"
    start = rows.index(["statement"])
    header = rows[start + 1]
    assert header[:4] == ["id", "kind", "status", "points"]
    statement = [dict(zip(header, r, strict=True)) for r in rows[start + 2 : start + 8]]
    assert [r["invoice_number"] for r in statement[:2]] == ["A-INV-1", "A-INV-2"]
    assert statement[0]["amount"] == "20000.00"
    assert statement[2]["points"] == "-10"  # numbers are numbers, not guarded text
    assert ["membership.dependents"] in rows and ["emails"] in rows


def test_csv_guards_cells_a_spreadsheet_would_run(alice_shop):
    membership = testing.make_customer(
        alice_shop, first_name="=cmd|' /C calc'!A0", last_name="@SUM(1+1)", city="-2+3"
    ).membership
    rows = csv_rows(privacy.export_csv(membership))
    singles = {(r[0], r[1]): r[2] for r in rows if len(r) == 3}
    assert singles[("customer", "first_name")] == "'=cmd|' /C calc'!A0"
    assert singles[("customer", "last_name")] == "'@SUM(1+1)"
    assert singles[("customer", "city")] == "'-2+3"
    assert singles[("customer", "mobile")].startswith("+57")  # a plain number runs nothing
    assert singles[("customer", "gender")] == "F"


# --- anonymisation -------------------------------------------------------------------------------


def ledger_snapshot():
    return {
        "transactions": Transaction.objects.count(),
        "entries": list(Entry.objects.order_by("pk").values_list("pk", "account_id", "points")),
        "lots": list(Lot.objects.order_by("pk").values_list("pk", "remaining", "status")),
        "balances": list(Account.objects.order_by("pk").values_list("pk", "balance", "pending")),
        "sum": Entry.objects.aggregate(total=Sum("points"))["total"],
        "txn_customers": list(Transaction.objects.order_by("pk").values_list("pk", "customer_id")),
    }


def test_anonymisation_removes_every_personal_field(world):
    privacy.set_marketing_consent(world.at_a, given=True, now=T0)
    Membership.objects.filter(pk=world.at_a.pk).update(
        blocked=True,
        blocked_reason=f"Ana María Gómez Ruiz ({world.old['document']}) used a fake card",
    )
    Customer.objects.filter(pk=world.ana.pk).update(
        address="Calle 1 # 2-3", state="Cundinamarca", postal_code="110111"
    )
    now = T0 + dt.timedelta(days=1)
    old_qr_version = world.ana.qr_version

    result = privacy.anonymise_customer(world.ana, now=now)

    ana = Customer.objects.get(pk=world.ana.pk)
    assert result.pk == ana.pk and result.anonymised_at == now
    for name in ("first_name", "last_name", "gender", "address", "city", "state", "postal_code"):
        assert getattr(ana, name) == "", name
    assert (ana.email, ana.mobile, ana.birth_date) == (None, None, None)
    assert ana.document_number.startswith("ANON") and len(ana.document_number) == 32
    assert world.old["document"] not in ana.document_number
    assert (ana.country, ana.document_type) == ("CO", "CC")
    assert ana.qr_version == old_qr_version + 1
    assert ana.profile_complete is False
    assert ana.anonymised_at == now

    for m in Membership.objects.filter(customer=ana):
        assert m.card_number is None
        assert m.marketing_consent is False
    at_a = Membership.objects.get(pk=world.at_a.pk)
    assert at_a.blocked and at_a.blocked_reason == "… (…) used a fake card"
    assert Membership.objects.get(pk=world.at_b.pk).blocked_reason == "B-BLOCK-SECRET"
    withdrawn = ConsentRecord.objects.filter(membership__customer=ana, channel="anonymised")
    assert sorted(withdrawn.values_list("membership_id", "given", "at")) == sorted(
        [(world.at_a.pk, False, now), (world.at_b.pk, False, now)]
    )
    assert not GiftOffer.objects.filter(membership__customer=ana).exclude(note="").exists()


def test_anonymisation_blanks_the_outbox_and_stops_what_waits(world):
    sent = OutgoingEmail.objects.filter(customer=world.ana).order_by("created_at").first()
    OutgoingEmail.objects.filter(pk=sent.pk).update(sent_at=T0, attempts=1)
    assert (
        OutgoingEmail.objects.filter(customer=world.ana).count() == 3
    )  # A join, redemption; B join

    privacy.anonymise_customer(world.ana)

    rows = OutgoingEmail.objects.filter(customer=world.ana)
    assert rows.count() == 3
    assert set(rows.values_list("to", "subject", "body")) == {("", "", "")}
    waiting = rows.filter(sent_at__isnull=True)
    assert set(waiting.values_list("last_error", flat=True)) == {privacy.EMAIL_CANCELLED}
    assert not waiting.filter(cancelled_at__isnull=True).exists()
    assert OutgoingEmail.objects.filter(to=world.old["email"]).count() == 0
    mail.outbox = []
    sent_now, failed_now = deliver()
    # Only Dani's join e-mail was still waiting; none of Ana's is taken.
    assert (sent_now, failed_now) == (1, 0)
    assert [message.to for message in mail.outbox] == [[world.dani_reg.customer.email]]
    statuses = [e["status"] for e in privacy.export_data(world.at_a)["emails"]]
    assert statuses == ["sent", "cancelled"]
    # Dani's e-mails are Dani's.
    assert (
        OutgoingEmail.objects.get(customer=world.dani_reg.customer).to
        == world.dani_reg.customer.email
    )


def test_anonymisation_leaves_the_ledger_whole(world):
    before = ledger_snapshot()
    privacy.anonymise_customer(world.ana)
    assert ledger_snapshot() == before
    assert check_ledger() == []
    out = StringIO()
    call_command("ledger_check", stdout=out)
    assert "every account agrees" in out.getvalue()
    # The points are still there and still spendable by the (now anonymous) member.
    assert privacy.export_data(reload(world.at_a))["points"]["available"] == 25


def test_after_anonymisation_no_lookup_finds_the_customer(world):
    privacy.anonymise_customer(world.ana)
    assert customers.find_customers(world.old["document"], country="CO") == []
    assert customers.find_customers(world.old["email"], country="CO") == []
    assert customers.find_customers(world.old["mobile"], country="CO") == []
    assert customers.find_customers(world.old["mobile"][3:], country="CO") == []
    assert customers.find_customers(world.old["qr"], country="CO") == []


def test_the_same_document_registers_again_as_a_new_customer(world):
    privacy.anonymise_customer(world.ana)
    again = customers.register_customer(
        merchant=world.a.merchant,
        branch=world.a.branch,
        staff=None,
        document_type="CC",
        document_number=world.old["document"],
        country="CO",
        profile={"email": world.old["email"], "mobile": world.old["mobile"]},
    )
    assert again.customer.pk != world.ana.pk
    assert Customer.objects.filter(document_number=world.old["document"]).get() == again.customer
    assert Account.objects.get(pk=again.membership.account_id).balance == 0
    assert customers.find_customers(world.old["document"], country="CO") == [again.customer]


def test_a_second_anonymisation_is_a_no_op(world):
    first_time = T0 + dt.timedelta(days=1)
    privacy.set_marketing_consent(world.at_a, given=True, now=T0)
    privacy.anonymise_customer(world.ana, now=first_time)
    records = ConsentRecord.objects.count()
    row = Customer.objects.get(pk=world.ana.pk)

    report = privacy.anonymise(world.ana, now=first_time + dt.timedelta(days=1))
    again = privacy.anonymise_customer(world.ana)

    assert report.done is False
    assert again.pk == world.ana.pk and again.anonymised_at == first_time
    after = Customer.objects.get(pk=world.ana.pk)
    assert (after.qr_version, after.document_number, after.updated_at) == (
        row.qr_version,
        row.document_number,
        row.updated_at,
    )
    assert ConsentRecord.objects.count() == records


def test_a_holder_keeps_their_dependents_who_keep_their_data(world):
    dani = world.dani_reg.customer
    privacy.anonymise_customer(world.ana)
    dani_after = Customer.objects.get(pk=dani.pk)
    assert (dani_after.first_name, dani_after.email, dani_after.document_number) == (
        "Dani",
        dani.email,
        dani.document_number,
    )
    assert Membership.objects.get(pk=world.dani_at_a.pk).holder_id == world.at_a.pk
    # Dani still accrues into the holder's account.
    movement = accrue(world.a, reload(world.dani_at_a), "2000", "A-INV-DANI-2")
    assert movement.transaction.account_id == world.at_a.account_id
    assert check_ledger() == []


def test_a_dependent_can_be_anonymised_and_stays_linked(world):
    privacy.anonymise_customer(world.dani_reg.customer)
    assert Membership.objects.get(pk=world.dani_at_a.pk).holder_id == world.at_a.pk
    assert Customer.objects.get(pk=world.ana.pk).first_name == "Ana María"
    names = [d["name"] for d in privacy.export_data(world.at_a)["membership"]["dependents"]]
    assert names == [""]


def test_the_export_after_anonymisation_holds_nothing_personal(world):
    privacy.anonymise_customer(world.ana)
    text = json.dumps(privacy.export_data(reload(world.at_a)))
    for old in (
        world.old["document"],
        world.old["email"],
        world.old["mobile"],
        "Ana",
        "Gómez Ruiz",
    ):
        assert old not in text, old
    assert privacy.export_data(reload(world.at_a))["customer"]["anonymised_at"] is not None


def test_an_api_registration_replay_no_longer_holds_the_profile(alice_shop):
    client = Client()
    token = testing.token_for(alice_shop.admin)
    body = {
        "document_type": "CC",
        "document_number": testing.colombian_document(),
        "country": "CO",
        **testing.complete_profile(),
    }
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}", "HTTP_IDEMPOTENCY_KEY": "reg-1"}
    first = client.post("/api/v1/customers", body, content_type="application/json", **headers)
    assert first.status_code == 201, first.content
    customer = Customer.objects.get(pk=first.json()["id"])

    privacy.anonymise_customer(customer)

    stored = bytes(IdempotencyRecord.objects.get(key="reg-1").response_body).decode()
    for old in (body["document_number"], body["email"], body["mobile"][3:], body["last_name"]):
        assert old not in stored
    replay = client.post("/api/v1/customers", body, content_type="application/json", **headers)
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    assert replay.json()["id"] == str(customer.pk) and replay.json()["email"] is None
    assert Customer.objects.count() == 1


# --- the operator's admin action and command ------------------------------------------------------

CHANGELIST = "/admin/customers/customer/"


def operator():
    return User.objects.create_superuser("op", "op@example.com", testing.PASSWORD)


def test_operator_anonymises_from_the_admin_after_confirming(world):
    client = Client()
    client.force_login(operator())
    pick = {"action": "anonymise", "_selected_action": [world.ana.pk]}

    page = client.post(CHANGELIST, pick)
    assert page.status_code == 200
    text = page.content.decode()
    assert world.old["document"] in text and 'name="post" value="yes"' in text
    assert Customer.objects.get(pk=world.ana.pk).anonymised_at is None  # nothing yet

    done = client.post(CHANGELIST, {**pick, "post": "yes"})
    assert done.status_code == 302
    ana = Customer.objects.get(pk=world.ana.pk)
    assert ana.anonymised_at is not None and ana.email is None
    assert ConsentRecord.objects.filter(membership__customer=ana, staff__username="op").exists()
    entry = LogEntry.objects.get(object_id=str(ana.pk))
    assert entry.object_repr == str(ana) and "Ana" not in entry.object_repr


def test_the_admin_history_no_longer_names_the_customer(world):
    client = Client()
    client.force_login(operator())
    client.post(
        f"{CHANGELIST}{world.ana.pk}/change/",
        {
            "person_type": "person",
            "email": world.old["email"],
            "mobile": world.old["mobile"],
            "first_name": "Ana María",
            "last_name": "Gómez Ruiz",
            "gender": "F",
            "birth_date": "1990-05-17",
            "city": "Bogotá",
            "qr_version": 1,
            "memberships-TOTAL_FORMS": 0,
            "memberships-INITIAL_FORMS": 0,
        },
    )
    assert LogEntry.objects.filter(object_repr__contains="Ana").exists()
    privacy.anonymise_customer(world.ana)
    assert not LogEntry.objects.filter(object_repr__contains="Ana").exists()


def test_the_action_is_offered_to_the_operator_only(world, alice_shop):
    client = Client()
    client.force_login(operator())
    assert b'value="anonymise"' in client.get(CHANGELIST).content

    # A superuser who is not the operator (a merchant's staff) is not offered it nor can post it.
    other = User.objects.create_superuser(
        "root.alice",
        "r@example.com",
        testing.PASSWORD,
        role=Role.MERCHANT_ADMIN,
        merchant=alice_shop.merchant,
    )
    client.force_login(other)
    assert b'value="anonymise"' not in client.get(CHANGELIST).content
    client.post(
        CHANGELIST, {"action": "anonymise", "_selected_action": [world.ana.pk], "post": "yes"}
    )
    assert Customer.objects.get(pk=world.ana.pk).anonymised_at is None


def test_a_merchant_admin_cannot_reach_the_action(world, alice_shop):
    client = Client()
    client.force_login(alice_shop.admin)
    assert client.get(CHANGELIST).status_code == 302
    response = client.post(
        CHANGELIST, {"action": "anonymise", "_selected_action": [world.ana.pk], "post": "yes"}
    )
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert Customer.objects.get(pk=world.ana.pk).anonymised_at is None


def test_the_command_anonymises_and_says_what_it_did(world):
    out = StringIO()
    call_command("anonymise_customer", str(world.ana.pk), "--yes", stdout=out)
    text = out.getvalue()
    ana = Customer.objects.get(pk=world.ana.pk)
    assert ana.anonymised_at is not None
    assert f"customer {ana.pk} anonymised" in text
    assert ana.document_number in text and "memberships: 2" in text
    assert "ledger untouched" in text
    assert world.old["document"] not in text and world.old["email"] not in text

    again = StringIO()
    call_command("anonymise_customer", str(world.ana.pk), "--yes", stdout=again)
    assert "already anonymised" in again.getvalue()


def test_the_command_asks_first_and_does_nothing_on_no(world, monkeypatch):
    monkeypatch.setattr("builtins.input", lambda prompt: "no")
    with pytest.raises(CommandError, match="nothing done"):
        call_command("anonymise_customer", str(world.ana.pk), stdout=StringIO())
    assert Customer.objects.get(pk=world.ana.pk).anonymised_at is None
    monkeypatch.setattr("builtins.input", lambda prompt: "yes")
    call_command("anonymise_customer", str(world.ana.pk), stdout=StringIO())
    assert Customer.objects.get(pk=world.ana.pk).anonymised_at is not None


def test_the_command_refuses_an_unknown_customer():
    with pytest.raises(CommandError, match="not found"):
        call_command("anonymise_customer", "not-an-id", "--yes", stdout=StringIO())


def test_the_dashed_command_name_reaches_it(capsys):
    from lealtad.cli import main

    with pytest.raises(SystemExit):
        main(["lealtad", "anonymise-customer", "--help"])
    assert "--yes" in capsys.readouterr().out


# --- concurrency (PostgreSQL) --------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_ten_simultaneous_anonymisations_do_it_once(postgres_only, alice_shop, charlie_shop):
    from lealtad.ledger.tests.test_concurrency import run_together

    membership = testing.make_customer(alice_shop).membership
    customers.join_merchant(membership.customer, charlie_shop.merchant, charlie_shop.branch)
    privacy.set_marketing_consent(membership, given=True)

    results = run_together(10, lambda _i: privacy.anonymise(membership.customer))

    assert all(isinstance(r, privacy.Anonymisation) for r in results), results
    assert sum(r.done for r in results) == 1
    assert ConsentRecord.objects.filter(channel="anonymised").count() == 1
    assert Customer.objects.get(pk=membership.customer_id).qr_version == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_consent_racing_the_anonymisation_ends_withdrawn(postgres_only, alice_shop):
    from lealtad.ledger.tests.test_concurrency import run_together

    membership = testing.make_customer(alice_shop).membership

    def work(i):
        if i == 0:
            return privacy.anonymise(membership.customer)
        fresh = Membership.objects.get(pk=membership.pk)
        return privacy.set_marketing_consent(fresh, given=i % 2 == 1)

    results = run_together(8, work)

    assert all(
        isinstance(r, (privacy.Anonymisation, Membership, CustomerAnonymised)) for r in results
    ), results
    row = Membership.objects.get(pk=membership.pk)
    assert row.marketing_consent is False
    history = list(ConsentRecord.objects.filter(membership=membership).order_by("pk"))
    assert history == sorted(history, key=lambda record: record.at)
    assert not history or history[-1].given is False
