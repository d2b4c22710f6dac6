"""The till and the shared identity: a customer of another merchant is a masked card until
enrolled, and a set contact changes only with the code the customer received."""

import pytest
from django.test import Client

from lealtad.core import testing
from lealtad.customers.models import Customer, IdentityChange, Membership
from lealtad.customers.tests.codes import codes_of, wrong

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    return testing.make_merchant()


@pytest.fixture
def till(shop):
    client = Client()
    client.force_login(testing.make_cashier(shop, "carol"))
    return client


@pytest.fixture
def stranger():
    """A customer of another merchant who never came to this one."""
    return testing.make_customer(testing.make_merchant("Otro")).customer


def test_search_shows_a_stranger_masked_with_an_enrol_button(till, shop, stranger):
    for q in (stranger.document_number, stranger.email, stranger.mobile):
        page = till.get("/cashier/search/", {"q": q}).content.decode()
        assert stranger.first_name in page and 'id="enrol"' in page, q
        assert f'action="/cashier/open/{stranger.pk}/"' in page
        # What the cashier typed comes back in the search box; nothing else of the profile.
        for secret in {stranger.email, stranger.mobile, stranger.document_number} - {q}:
            assert secret not in page, (q, secret)
        # The birth date, in no form; its year only outside what was typed (a random document
        # such as 19906669 holds "1990") and the document's masked last four digits.
        born = stranger.birth_date
        assert born.isoformat() not in page and born.strftime("%d/%m/%Y") not in page
        rest = page.replace(q, "").replace("…" + stranger.document_number[-4:], "")
        assert str(born.year) not in rest
        assert stranger.email[0] + "***@example.com" in page
        assert "…" + stranger.document_number[-4:] in page
    assert not Membership.objects.filter(customer=stranger, merchant=shop.merchant).exists()


def test_opening_a_stranger_by_link_does_not_enrol_nor_show_the_profile(till, shop, stranger):
    page = till.get(f"/cashier/open/{stranger.pk}/").content.decode()
    assert stranger.email not in page and 'id="enrol"' in page
    assert till.get(f"/cashier/c/{stranger.pk}/").status_code == 404
    assert not Membership.objects.filter(customer=stranger, merchant=shop.merchant).exists()


def test_several_matches_mask_the_strangers(till, shop, stranger):
    member = testing.make_customer(shop).customer
    # The stranger's document is the member's mobile digits: one query finds both.
    Customer.objects.filter(pk=stranger.pk).update(document_number=member.mobile.lstrip("+"))
    page = till.get("/cashier/search/", {"q": member.mobile}).content.decode()
    assert member.document_number in page
    assert stranger.email not in page and member.email not in page


def test_a_set_email_changes_only_with_the_customers_code(till, shop):
    ana = testing.make_customer(shop).customer
    url = f"/cashier/c/{ana.pk}/contact/"
    page = till.post(url, {"step": "start", "email": "ana.nueva@example.com"}).content.decode()
    assert 'id="code-sent"' in page and "a***@example.com" in page
    change = IdentityChange.objects.get(customer=ana)
    assert Customer.objects.get(pk=ana.pk).email == ana.email

    assert "otro, al contacto registrado" in page  # two codes: new address and on file
    codes = codes_of(change.pk)
    bad = {**codes, "owner_code": wrong(codes["owner_code"])}
    page = till.post(url, {"step": "confirm", "change": change.pk, **bad}).content.decode()
    assert 'id="code-error"' in page and "Código incorrecto" in page
    assert Customer.objects.get(pk=ana.pk).email == ana.email

    response = till.post(url, {"step": "confirm", "change": change.pk, **codes})
    assert response.status_code == 200 and "Cambio confirmado por el cliente." in (
        response.content.decode()
    )
    assert Customer.objects.get(pk=ana.pk).email == "ana.nueva@example.com"
    change.refresh_from_db()
    assert (change.state, change.channel, change.requested_by.username) == (
        "confirmed",
        "till",
        "carol",
    )


def test_a_bad_new_value_is_said_next_to_the_field_in_spanish(till, shop):
    ana = testing.make_customer(shop).customer
    page = till.post(
        f"/cashier/c/{ana.pk}/contact/", {"step": "start", "mobile": "12"}
    ).content.decode()
    assert 'id="mobile-error"' in page
    assert not IdentityChange.objects.exists()


def test_another_merchants_customer_has_no_contact_screen(till, stranger):
    assert till.get(f"/cashier/c/{stranger.pk}/contact/").status_code == 404
    response = till.post(f"/cashier/c/{stranger.pk}/contact/", {"step": "start", "email": "a@b.co"})
    assert response.status_code == 404
