"""A7: a claim is filed with a photo, waits, and is approved (the typed accrual's own action:
points or coins, promotions, fraud rules and holds) or rejected with a reason; one invoice number,
one purchase, whichever way it comes."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from lealtad.claims import actions
from lealtad.claims import testing as pictures
from lealtad.claims.errors import ClaimDecided, DuplicateClaim, InvalidImage, TooManyClaims
from lealtad.claims.models import Claim, ClaimStatus
from lealtad.core import errors, testing
from lealtad.customers.actions import suspend_customer
from lealtad.invoices import actions as invoices
from lealtad.ledger.accrual import accrue_points
from lealtad.ledger.models import Account, Kind, Status, Transaction
from lealtad.notifications.models import Event, OutgoingEmail
from lealtad.program.models import FraudRule


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path


@pytest.fixture
def shop(db):
    return testing.make_merchant("Café Aroma")


@pytest.fixture
def other(db):
    return testing.make_merchant("Otra Tienda")


@pytest.fixture
def ana(shop):
    return testing.make_customer(shop).customer


def _local_today(shop):
    from lealtad.offers.promotions import local_date

    return local_date(shop.merchant, timezone.now())


def submit(shop, customer, number="F-1001", amount="25000", photo=None, **kw):
    fields = dict(
        customer=customer,
        merchant_id=shop.merchant.pk,
        branch_id=shop.branch.pk,
        invoice_number=number,
        amount=amount,
        purchased_on=_local_today(shop),
        photo=photo if photo is not None else pictures.photo("JPEG"),
    )
    fields.update(kw)
    return actions.submit_claim(**fields)


def balance(shop, customer) -> tuple[int, int]:
    account = Account.objects.get(merchant=shop.merchant, customer=customer)
    return account.balance, account.pending


def test_a_claim_waits_with_its_stripped_photo(shop, ana, settings):
    claim = submit(shop, ana, number=" f-1001 ")
    assert (claim.status, claim.invoice_number, claim.invoice_key) == (
        "waiting",
        "f-1001",
        "f-1001",
    )
    assert claim.amount == Decimal("25000") and claim.currency == "COP"
    path = settings.PRIVATE_MEDIA_ROOT / claim.photo
    assert path.exists() and path.suffix == ".webp"
    assert b"PhoneMaker" not in path.read_bytes()
    assert len(path.stem) >= 32  # a random name, nothing of the customer's file name
    assert not Transaction.objects.filter(merchant=shop.merchant).exists()
    assert actions.queue(shop.merchant) == [claim]


def test_approving_accrues_through_the_typed_accrual(shop, ana):
    claim = submit(shop, ana)
    approved = actions.approve_claim(merchant=shop.merchant, claim_id=claim.pk, staff=shop.admin)
    assert approved.status == ClaimStatus.APPROVED
    txn = approved.transaction
    assert (txn.kind, txn.status, txn.points, txn.invoice_key, txn.branch_id) == (
        Kind.ACCRUAL,
        Status.POSTED,
        25,
        "f-1001",
        shop.branch.pk,
    )
    assert txn.staff == shop.admin
    assert balance(shop, ana) == (25, 0)
    assert actions.outcome(approved).status == "approved"
    assert actions.outcome(approved).points == 25
    assert actions.queue(shop.merchant) == []


def test_a_customer_who_never_came_joins_on_approval(shop, other, ana):
    claim = submit(other, ana)
    actions.approve_claim(merchant=other.merchant, claim_id=claim.pk, staff=other.admin)
    assert balance(other, ana) == (25, 0)


def test_a_promotion_applies_as_at_the_till(shop, ana):
    testing.make_promotion(shop, kind="bonus", bonus_points=10, min_amount=Decimal("1000"))
    claim = submit(shop, ana)
    approved = actions.approve_claim(merchant=shop.merchant, claim_id=claim.pk)
    assert approved.transaction.points == 35


def test_a_fraud_rule_holds_the_approved_claim_in_the_approval_queue(shop, ana):
    FraudRule.objects.create(merchant=shop.merchant, kind="max_invoice_amount", limit=10000)
    claim = submit(shop, ana)
    approved = actions.approve_claim(merchant=shop.merchant, claim_id=claim.pk)
    assert approved.transaction.status == Status.PENDING
    assert balance(shop, ana) == (0, 25)
    shown = actions.outcome(approved)
    assert (shown.status, shown.points, shown.held) == ("approved", 25, True)


def test_a_refusing_fraud_rule_leaves_the_claim_waiting(shop, ana):
    FraudRule.objects.create(
        merchant=shop.merchant, kind="max_invoice_amount", limit=10000, action="refuse"
    )
    claim = submit(shop, ana)
    with pytest.raises(errors.FraudRuleRefused):
        actions.approve_claim(merchant=shop.merchant, claim_id=claim.pk)
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.WAITING and claim.transaction is None
    assert not Transaction.objects.filter(merchant=shop.merchant).exists()


def test_coins_at_an_issuer_whose_invoices_earn_coins(ana):
    issuer = testing.make_merchant(coin_issuer=True, cashback_rate="0.03")
    issuer.merchant.invoice_earns = "coins"
    issuer.merchant.save(update_fields=["invoice_earns"])
    claim = submit(issuer, ana, amount="25000")
    approved = actions.approve_claim(merchant=issuer.merchant, claim_id=claim.pk)
    assert (approved.transaction.kind, approved.transaction.points) == (Kind.COIN_EARN, 750)
    assert actions.outcome(approved).coins == 750


def test_rejecting_needs_a_reason_the_customer_reads(shop, ana):
    claim = submit(shop, ana)
    with pytest.raises(errors.ValidationFailed) as refused:
        actions.reject_claim(merchant=shop.merchant, claim_id=claim.pk, reason="  ")
    assert refused.value.errors[0]["field"] == "reason"
    rejected = actions.reject_claim(
        merchant=shop.merchant, claim_id=claim.pk, reason="La foto no se lee", staff=shop.admin
    )
    assert (rejected.status, rejected.reason) == ("rejected", "La foto no se lee")
    shown = actions.outcome(rejected)
    assert (shown.status, shown.reason) == ("rejected", "La foto no se lee")
    assert not Transaction.objects.filter(merchant=shop.merchant).exists()


def test_a_rejected_claim_frees_its_number(shop, ana):
    claim = submit(shop, ana)
    actions.reject_claim(merchant=shop.merchant, claim_id=claim.pk, reason="Ilegible")
    again = submit(shop, ana)
    assert again.status == ClaimStatus.WAITING


def test_a_decided_claim_cannot_be_decided_again(shop, ana):
    claim = submit(shop, ana)
    actions.approve_claim(merchant=shop.merchant, claim_id=claim.pk)
    with pytest.raises(ClaimDecided) as twice:
        actions.approve_claim(merchant=shop.merchant, claim_id=claim.pk)
    assert twice.value.code == "claim_already_decided"
    with pytest.raises(ClaimDecided):
        actions.reject_claim(merchant=shop.merchant, claim_id=claim.pk, reason="x")
    assert Transaction.objects.filter(merchant=shop.merchant).count() == 1
    assert balance(shop, ana) == (25, 0)


def test_a_number_already_accrued_is_refused_at_submission(shop, ana):
    accrue_points(
        merchant=shop.merchant, customer=ana, amount=Decimal(9000), branch=shop.branch,
        invoice_number="F-1001",
    )  # fmt: skip
    with pytest.raises(DuplicateClaim) as refused:
        submit(shop, ana, number="f-1001")
    assert refused.value.code == "duplicate_invoice" and refused.value.status == 422
    assert refused.value.errors[0]["field"] == "invoice_number"
    assert not Claim.objects.exists()


def test_a_number_the_pos_sent_is_refused_at_submission(shop, ana):
    invoices.record_invoice(
        merchant=shop.merchant, branch=shop.branch, invoice_number="F-1001", amount="25000"
    )
    with pytest.raises(DuplicateClaim):
        submit(shop, ana)


def test_the_same_number_at_another_merchant_is_another_invoice(shop, other, ana):
    submit(shop, ana)
    assert submit(other, ana).status == ClaimStatus.WAITING


def test_two_claims_of_one_invoice_are_one(shop, ana):
    submit(shop, ana)
    bea = testing.make_customer(shop).customer
    with pytest.raises(DuplicateClaim):
        submit(shop, bea, number="F‑1001 ")  # a non-breaking hyphen, a trailing space
    assert Claim.objects.count() == 1


def test_a_number_used_after_filing_is_flagged_and_approval_refused(shop, ana, settings):
    claim = submit(shop, ana)
    accrue_points(
        merchant=shop.merchant, customer=ana, amount=Decimal(9000), branch=shop.branch,
        invoice_number="F-1001",
    )  # fmt: skip
    [flagged] = actions.queue(shop.merchant)
    assert flagged.duplicate
    with pytest.raises(DuplicateClaim):
        actions.approve_claim(merchant=shop.merchant, claim_id=claim.pk)
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.WAITING
    assert Transaction.objects.filter(merchant=shop.merchant).count() == 1
    # It is still rejected cleanly.
    actions.reject_claim(merchant=shop.merchant, claim_id=claim.pk, reason="Ya acumulada")


def test_a_pos_invoice_after_filing_is_flagged(shop, ana):
    submit(shop, ana)
    invoices.record_invoice(
        merchant=shop.merchant, branch=shop.branch, invoice_number="F-1001", amount="25000"
    )
    [flagged] = actions.queue(shop.merchant)
    assert "punto de venta" in flagged.duplicate


@pytest.mark.parametrize(
    ("field", "change", "message"),
    [
        ("invoice_number", {"number": "  "}, "número de factura"),
        ("amount", {"amount": "0"}, "mayor que cero"),
        ("amount", {"amount": "25,5"}, "25000.00"),
        ("purchased_on", {"purchased_on": "ayer"}, "fecha"),
        ("photo", {"photo": pictures.text_file()}, "no es una imagen"),
    ],
)
def test_bad_fields_are_refused_by_name(shop, ana, field, change, message):
    with pytest.raises(errors.ValidationFailed) as refused:
        submit(shop, ana, **change)
    assert refused.value.errors[0]["field"] == field
    assert message in refused.value.errors[0]["message"]
    assert not Claim.objects.exists()


def test_the_date_is_neither_future_nor_too_old(shop, ana):
    day = _local_today(shop)
    with pytest.raises(errors.ValidationFailed, match="futuro"):
        submit(shop, ana, purchased_on=day + dt.timedelta(days=1))
    with pytest.raises(errors.ValidationFailed, match="30 días"):
        submit(shop, ana, purchased_on=day - dt.timedelta(days=31))
    assert submit(shop, ana, purchased_on=day - dt.timedelta(days=30)).pk


def test_a_merchant_or_branch_that_is_not_there_is_refused(shop, other, ana):
    with pytest.raises(errors.ValidationFailed) as refused:
        submit(shop, ana, merchant_id="nope")
    assert refused.value.errors[0]["field"] == "merchant"
    with pytest.raises(errors.ValidationFailed) as refused:
        submit(shop, ana, branch_id=other.branch.pk)  # another merchant's branch
    assert refused.value.errors[0]["field"] == "branch"


def test_a_refused_photo_leaves_no_file(shop, ana, settings):
    with pytest.raises(InvalidImage):
        submit(shop, ana, photo=pictures.png_bomb())
    with pytest.raises(DuplicateClaim):
        submit(shop, ana)
        submit(shop, ana)
    assert len(list((settings.PRIVATE_MEDIA_ROOT / "claims").iterdir())) == 1


def test_too_many_waiting_claims_are_refused(shop, ana, monkeypatch):
    monkeypatch.setattr(actions, "MAX_WAITING", 2)
    submit(shop, ana, number="1")
    submit(shop, ana, number="2")
    with pytest.raises(TooManyClaims):
        submit(shop, ana, number="3")


def test_a_suspended_customer_is_refused_at_approval(shop, ana):
    claim = submit(shop, ana)
    suspend_customer(ana, "Revisión")
    with pytest.raises(errors.CustomerSuspended):
        actions.approve_claim(merchant=shop.merchant, claim_id=claim.pk)


def test_the_customer_is_told_of_the_decision_by_email_in_the_merchants_language(shop, ana):
    claim = submit(shop, ana)
    actions.reject_claim(merchant=shop.merchant, claim_id=claim.pk, reason="Foto borrosa")
    mail = OutgoingEmail.objects.get(event=Event.CLAIM)
    assert mail.to == ana.email
    assert "rechaz" in mail.subject and "Foto borrosa" in mail.body
    second = submit(shop, ana, number="F-2")
    actions.approve_claim(merchant=shop.merchant, claim_id=second.pk)
    approved = OutgoingEmail.objects.filter(event=Event.CLAIM).order_by("-pk").first()
    assert "aprob" in approved.subject and "25" in approved.body


def test_another_merchant_and_another_customer_find_nothing(shop, other, ana):
    claim = submit(shop, ana)
    with pytest.raises(errors.NotFound):
        actions.get_claim_for(other.merchant, claim.pk)
    with pytest.raises(errors.NotFound):
        actions.approve_claim(merchant=other.merchant, claim_id=claim.pk)
    with pytest.raises(errors.NotFound):
        actions.reject_claim(merchant=other.merchant, claim_id=claim.pk, reason="x")
    bea = testing.make_customer(shop).customer
    with pytest.raises(errors.NotFound):
        actions.get_customer_claim(bea, claim.pk)
    assert actions.get_customer_claim(ana, claim.pk) == claim
    assert actions.customer_claims(bea) == []
    assert actions.queue(other.merchant) == []


def test_the_demo_has_a_waiting_and_an_approved_claim(shop, ana):
    from lealtad.claims import demo

    demo.load_demo(shop.merchant)
    demo.load_demo(shop.merchant)  # idempotent
    claims = {c.invoice_number: c for c in Claim.objects.filter(merchant=shop.merchant)}
    assert set(claims) == {"C-2041", "C-1987"}
    assert claims["C-2041"].status == ClaimStatus.WAITING
    assert claims["C-1987"].status == ClaimStatus.APPROVED
    assert claims["C-1987"].customer == ana
