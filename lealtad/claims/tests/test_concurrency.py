"""A7 on PostgreSQL: admins approving one claim at once make one accrual; a claim approved while
a till types the same invoice number makes one purchase either way; the ledger stays whole."""

import threading
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from lealtad.claims import actions
from lealtad.claims import testing as pictures
from lealtad.claims.models import Claim, ClaimStatus
from lealtad.core import errors, testing
from lealtad.ledger.accrual import accrue_points
from lealtad.ledger.models import Account, Transaction
from lealtad.offers.promotions import local_date

COUNT = 8


def at_once(works):
    barrier = threading.Barrier(len(works))
    results = [None] * len(works)

    def run(i):
        try:
            barrier.wait(timeout=30)
            results[i] = works[i]()
        except Exception as exc:  # collected and asserted by the caller
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(works))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def assert_ledger_clean():
    out = StringIO()
    call_command("ledger_check", stdout=out)
    assert "every account agrees" in out.getvalue()


def _claim(shop, customer, number="F-9"):
    return actions.submit_claim(
        customer=customer,
        merchant_id=shop.merchant.pk,
        branch_id=shop.branch.pk,
        invoice_number=number,
        amount="25000",
        purchased_on=local_date(shop.merchant, timezone.now()),
        photo=pictures.photo("JPEG"),
    )


@pytest.fixture
def _private_media(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path


@pytest.mark.django_db(transaction=True)
def test_admins_approving_one_claim_at_once_make_one_accrual(postgres_only, _private_media):
    shop = testing.make_merchant()
    admins = [shop.admin] + [
        testing.make_cashier(shop) for _ in range(COUNT - 1)
    ]  # any staff row will do as the decider: the action is what is raced
    customer = testing.make_customer(shop).customer
    claim = _claim(shop, customer)

    def approve(staff):
        return lambda: actions.approve_claim(merchant=shop.merchant, claim_id=claim.pk, staff=staff)

    results = at_once([approve(a) for a in admins])
    won = [r for r in results if isinstance(r, Claim)]
    lost = [r for r in results if not isinstance(r, Claim)]
    assert len(won) == 1, results
    assert all(
        isinstance(r, errors.LealtadError) and r.code == "claim_already_decided" for r in lost
    )
    assert Transaction.objects.filter(merchant=shop.merchant).count() == 1
    assert Account.objects.get(merchant=shop.merchant, customer=customer).balance == 25
    assert Claim.objects.get(pk=claim.pk).status == ClaimStatus.APPROVED
    assert_ledger_clean()


@pytest.mark.django_db(transaction=True)
def test_an_approval_and_a_typed_accrual_of_one_number_make_one_purchase(
    postgres_only, _private_media
):
    shop = testing.make_merchant()
    customer = testing.make_customer(shop).customer
    for round_ in range(4):
        number = f"R-{round_}"
        claim = _claim(shop, customer, number)
        works = [
            lambda claim=claim: actions.approve_claim(merchant=shop.merchant, claim_id=claim.pk),
            lambda number=number: accrue_points(
                merchant=shop.merchant, customer=customer, amount=Decimal(25000),
                branch=shop.branch, invoice_number=number.lower(),
            ),
        ]  # fmt: skip
        results = at_once(works)
        refused = [r for r in results if isinstance(r, Exception)]
        assert len(refused) == 1, results
        assert refused[0].code == "duplicate_invoice", refused
        assert (
            Transaction.objects.filter(merchant=shop.merchant, invoice_key=number.lower()).count()
            == 1
        )
    assert_ledger_clean()


@pytest.mark.django_db(transaction=True)
def test_one_invoice_claimed_from_many_phones_at_once_is_one_claim(
    postgres_only, _private_media, settings
):
    shop = testing.make_merchant()
    customers = [testing.make_customer(shop).customer for _ in range(COUNT)]
    results = at_once(
        [lambda c=c: _claim(shop, c, "F-ONE" if c.pk.int % 2 else " f-one") for c in customers]
    )
    made = [r for r in results if isinstance(r, Claim)]
    refused = [r for r in results if not isinstance(r, Claim)]
    assert len(made) == 1, results
    assert all(getattr(r, "code", None) == "duplicate_invoice" for r in refused), refused
    assert Claim.objects.count() == 1
    # The refused ones left no picture behind.
    assert len(list((settings.PRIVATE_MEDIA_ROOT / "claims").iterdir())) == 1
