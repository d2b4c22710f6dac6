"""The shared identity through the API: merchant B, having made A's customer a member, cannot
rewrite their contact or document without the customer's code, and a merchant the customer
never joined sees only a masked card."""

import datetime as dt
import json

import pytest
from django.utils import timezone

from lealtad.api.tests.conftest import Api
from lealtad.core import testing
from lealtad.customers.models import Customer, IdentityChange
from lealtad.customers.tests.codes import code_in, codes_of, last_code, wrong
from lealtad.notifications.models import OutgoingEmail, OutgoingSms


def problem_of(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == code, body
    return body


@pytest.fixture
def ana(alice_shop):
    """Merchant A's customer, complete profile."""
    return testing.make_customer(alice_shop).customer


@pytest.fixture
def bruno_shop(db):
    """Merchant B, in the same country: it can find A's customers and enrol them."""
    return testing.make_merchant("Tienda Bruno", admin="bruno")


@pytest.fixture
def bruno_pos(bruno_shop):
    return Api(bruno_shop.api_key)


@pytest.fixture
def ana_at_bruno(ana, bruno_pos):
    """B makes A's customer a member with a small accrual, as in the report."""
    response = bruno_pos.post("/accruals", {"customer_id": str(ana.pk), "amount": "5000"})
    assert response.status_code == 201, response.content
    return ana


class TestChangingASetContact:
    def test_patch_of_a_set_email_is_refused_with_how_to_confirm(self, ana_at_bruno, bruno_pos):
        ana = ana_at_bruno
        before = (ana.email, ana.mobile)
        response = bruno_pos.patch(
            f"/customers/{ana.pk}", {"email": "bruno@evil.example", "mobile": "+573001112233"}
        )
        body = problem_of(response, 409, "confirmation_required")
        assert set(body["fields"]) == {"email", "mobile"}
        assert body["start"]["href"] == f"/api/v1/customers/{ana.pk}/contact-changes"
        ana.refresh_from_db()
        assert (ana.email, ana.mobile) == before
        assert not IdentityChange.objects.exists()

    def test_patch_of_another_document_is_refused(self, ana_at_bruno, bruno_pos):
        ana = ana_at_bruno
        response = bruno_pos.patch(f"/customers/{ana.pk}", {"document_number": "80012345"})
        problem_of(response, 409, "confirmation_required")
        assert Customer.objects.get(pk=ana.pk).document_number == ana.document_number

    def test_the_code_sent_to_the_new_address_confirms_and_is_audited(
        self, ana_at_bruno, bruno_pos, bruno_shop
    ):
        ana = ana_at_bruno
        old_email = ana.email
        started = bruno_pos.post(
            f"/customers/{ana.pk}/contact-changes", {"email": "Ana.New@Example.com"}
        )
        assert started.status_code == 201, started.content
        change = started.json()
        assert change["status"] == "pending" and change["code_sent_to"] == "a***@example.com"
        assert Customer.objects.get(pk=ana.pk).email == old_email  # not before the code
        assert change["owner_code_sent_to"] == f"+57 *** *** {ana.mobile[-4:]}"
        codes = codes_of(change["id"])
        assert codes["owner_code"] in OutgoingSms.objects.get(to=ana.mobile).body

        url = f"/customers/{ana.pk}/contact-changes/{change['id']}/confirm"
        done = bruno_pos.post(url, codes)
        assert done.status_code == 200, done.content
        assert done.json()["status"] == "confirmed"
        assert Customer.objects.get(pk=ana.pk).email == "ana.new@example.com"
        row = IdentityChange.objects.get(pk=change["id"])
        assert row.merchant_id == bruno_shop.merchant.pk
        assert row.requested_by_key is not None and row.requested_by is None
        assert json.loads(row.old_value) == {"email": old_email}
        assert json.loads(row.new_value) == {"email": "ana.new@example.com"}
        assert row.decided_at is not None and codes["code"] not in row.code_hash
        again = bruno_pos.post(url, codes)
        assert again.status_code == 200 and again.json()["status"] == "confirmed"

    def test_the_code_at_an_address_of_the_merchants_own_is_not_enough(
        self, ana_at_bruno, bruno_pos
    ):
        """B's own address gets the new-address code: without the one sent to the customer's
        contact on file the change never happens."""
        ana = ana_at_bruno
        change = bruno_pos.post(
            f"/customers/{ana.pk}/contact-changes", {"email": "bruno@evil.example"}
        ).json()
        url = f"/customers/{ana.pk}/contact-changes/{change['id']}/confirm"
        mine = last_code("bruno@evil.example")
        body = problem_of(bruno_pos.post(url, {"code": mine}), 422, "invalid_code")
        assert body["attempts_left"] == 4
        guess = wrong(codes_of(change["id"])["owner_code"])
        problem_of(bruno_pos.post(url, {"code": mine, "owner_code": guess}), 422, "invalid_code")
        assert Customer.objects.get(pk=ana.pk).email == ana.email

    def test_a_wrong_code_is_refused_and_the_last_one_cancels(self, ana_at_bruno, bruno_pos):
        ana = ana_at_bruno
        change = bruno_pos.post(
            f"/customers/{ana.pk}/contact-changes", {"email": "x@example.com"}
        ).json()
        codes = codes_of(change["id"])
        bad = {**codes, "code": wrong(codes["code"])}
        url = f"/customers/{ana.pk}/contact-changes/{change['id']}/confirm"
        for left in (4, 3, 2, 1):
            body = problem_of(bruno_pos.post(url, bad), 422, "invalid_code")
            assert body["attempts_left"] == left
        problem_of(bruno_pos.post(url, bad), 409, "change_cancelled")
        problem_of(bruno_pos.post(url, codes), 409, "change_cancelled")
        assert Customer.objects.get(pk=ana.pk).email == ana.email

    def test_an_expired_code_is_refused(self, ana_at_bruno, bruno_pos):
        ana = ana_at_bruno
        change = bruno_pos.post(
            f"/customers/{ana.pk}/contact-changes", {"mobile": "+573001112233"}
        ).json()
        assert OutgoingSms.objects.get(purpose="contact-code").to == "+573001112233"
        codes = codes_of(change["id"])
        assert OutgoingEmail.objects.filter(to=ana.email, event="code").exists()  # on file
        IdentityChange.objects.filter(pk=change["id"]).update(
            expires_at=timezone.now() - dt.timedelta(seconds=1)
        )
        url = f"/customers/{ana.pk}/contact-changes/{change['id']}/confirm"
        problem_of(bruno_pos.post(url, codes), 409, "change_cancelled")
        assert Customer.objects.get(pk=ana.pk).mobile == ana.mobile
        assert IdentityChange.objects.get(pk=change["id"]).state == "cancelled"

    def test_the_document_changes_with_the_code_sent_to_the_contact_on_file(
        self, ana_at_bruno, bruno_pos
    ):
        ana = ana_at_bruno
        change = bruno_pos.post(
            f"/customers/{ana.pk}/contact-changes",
            {"document_type": "CC", "document_number": "80.012.345"},
        ).json()
        assert change["owner_code_sent_to"] is None  # one code, to the contact on file
        code = last_code(ana.email)
        url = f"/customers/{ana.pk}/contact-changes/{change['id']}/confirm"
        assert bruno_pos.post(url, {"code": code}).status_code == 200
        assert Customer.objects.get(pk=ana.pk).document_number == "80012345"

    def test_another_merchant_cannot_see_or_confirm_the_change(
        self, ana_at_bruno, bruno_pos, admin_api
    ):
        ana = ana_at_bruno
        change = bruno_pos.post(
            f"/customers/{ana.pk}/contact-changes", {"email": "y@example.com"}
        ).json()
        base = f"/customers/{ana.pk}/contact-changes/{change['id']}"
        problem_of(admin_api.get(base), 404, "not_found")
        codes = codes_of(change["id"])
        problem_of(admin_api.post(f"{base}/confirm", codes), 404, "not_found")
        assert Customer.objects.get(pk=ana.pk).email == ana.email

    def test_resend_is_limited(self, ana_at_bruno, bruno_pos):
        ana = ana_at_bruno
        change = bruno_pos.post(
            f"/customers/{ana.pk}/contact-changes", {"email": "z@example.com"}
        ).json()
        url = f"/customers/{ana.pk}/contact-changes/{change['id']}/resend"
        for _ in range(3):
            assert bruno_pos.post(url).status_code == 202
        problem_of(bruno_pos.post(url), 429, "too_many_codes")
        sent = [code_in(e.body) for e in OutgoingEmail.objects.filter(to="z@example.com")]
        assert len(sent) == 4
        confirm = f"/customers/{ana.pk}/contact-changes/{change['id']}/confirm"
        first = {"code": sent[0], "owner_code": codes_of(change["id"])["owner_code"]}
        if sent[0] != sent[-1]:  # a resend's code replaces the one before
            problem_of(bruno_pos.post(confirm, first), 422, "invalid_code")
        assert bruno_pos.post(confirm, codes_of(change["id"])).status_code == 200

    def test_an_address_another_customer_has_is_refused(self, ana_at_bruno, bruno_pos, alice_shop):
        other = testing.make_customer(alice_shop).customer
        response = bruno_pos.post(
            f"/customers/{ana_at_bruno.pk}/contact-changes", {"email": other.email}
        )
        assert problem_of(response, 422, "validation_error")["errors"][0]["field"] == "email"


class TestFillingInAndClearing:
    def test_an_empty_contact_is_filled_in_and_recorded(self, alice_shop, bruno_pos):
        quick = testing.make_customer(alice_shop, complete=False).customer
        bruno_pos.post("/accruals", {"customer_id": str(quick.pk), "amount": "5000"})
        response = bruno_pos.patch(f"/customers/{quick.pk}", {"mobile": "3001234567"})
        assert response.status_code == 200, response.content
        assert response.json()["mobile"] == "+573001234567"
        row = IdentityChange.objects.get(customer=quick)
        assert (row.field, row.state) == ("profile", "applied")
        assert json.loads(row.old_value) == {"mobile": None}

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("email", ""),
            ("email", None),
            ("mobile", ""),
            ("mobile", None),
            ("first_name", ""),
            ("last_name", None),
            ("birth_date", None),
            ("gender", None),
        ],
    )
    def test_clearing_what_a_complete_profile_needs_is_refused(
        self, ana_at_bruno, bruno_pos, field, value
    ):
        ana = ana_at_bruno
        response = bruno_pos.patch(f"/customers/{ana.pk}", {field: value})
        body = problem_of(response, 422, "field_cannot_be_cleared")
        assert [e["field"] for e in body["errors"]] == [field]
        ana.refresh_from_db()
        assert ana.profile_complete is True and getattr(ana, field)

    def test_clearing_an_optional_field_is_fine(self, ana_at_bruno, bruno_pos):
        response = bruno_pos.patch(f"/customers/{ana_at_bruno.pk}", {"city": ""})
        assert response.status_code == 200 and response.json()["city"] == ""


class TestSearchAcrossMerchants:
    def test_a_stranger_is_a_masked_card(self, ana, bruno_pos):
        for q in (ana.document_number, ana.email, ana.mobile):
            results = bruno_pos.get("/customers", {"q": q}).json()["results"]
            assert results == [
                {
                    "id": str(ana.pk),
                    "member": False,
                    "first_name": ana.first_name,
                    "last_name": ana.last_name,
                    "email": ana.email[0] + "***@example.com",
                    "mobile": f"+57 *** *** {ana.mobile[-4:]}",
                    "document_type": "CC",
                    "document_last_digits": ana.document_number[-4:],
                    "country": "CO",
                    "suspended": False,
                }
            ], q

    def test_a_member_is_the_full_profile(self, ana_at_bruno, bruno_pos):
        results = bruno_pos.get("/customers", {"q": ana_at_bruno.document_number}).json()
        (found,) = results["results"]
        assert found["member"] is True and found["email"] == ana_at_bruno.email
        assert found == bruno_pos.get(f"/customers/{ana_at_bruno.pk}").json()


def test_the_schema_tells_the_new_endpoints_and_the_masked_card(anon_api):
    schema = anon_api.client.get("/api/v1/openapi.json").json()
    base = "/api/v1/customers/{customer_id}/contact-changes"
    for path in (base, base + "/{change_id}", base + "/{change_id}/confirm"):
        assert path in schema["paths"], path
    assert "CustomerCardOut" in schema["components"]["schemas"]
