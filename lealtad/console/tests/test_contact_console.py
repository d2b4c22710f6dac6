"""The console's change of contact or document: the same rule as the till and the API, in the
admin's language (here Portuguese), and nothing for another merchant."""

import pytest
from django.test import Client

from lealtad.core import testing
from lealtad.customers.models import Customer, IdentityChange
from lealtad.customers.tests.codes import codes_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    return testing.make_merchant(admin="alice")


@pytest.fixture
def console(shop):
    client = Client()
    client.cookies["django_language"] = "pt-br"
    client.force_login(shop.admin)
    return client


def test_the_profile_links_to_the_change_screen(console, shop):
    ana = testing.make_customer(shop).customer
    page = console.get(f"/console/customers/{ana.pk}/").content.decode()
    assert f'href="/console/customers/{ana.pk}/contact/"' in page


def test_the_document_changes_with_the_code_sent_to_the_email_on_file(console, shop):
    ana = testing.make_customer(shop).customer
    url = f"/console/customers/{ana.pk}/contact/"
    page = console.post(
        url, {"step": "start", "document_type": "CC", "document_number": "80.012.345"}
    ).content.decode()
    assert "Enviamos um código de 6 dígitos" in page
    change = IdentityChange.objects.get(customer=ana, state="pending")
    assert Customer.objects.get(pk=ana.pk).document_number == ana.document_number
    assert 'name="owner_code"' not in page  # a document change: one code, on file
    response = console.post(url, {"step": "confirm", "change": change.pk, **codes_of(change.pk)})
    assert response["Location"] == f"/console/customers/{ana.pk}/"
    assert Customer.objects.get(pk=ana.pk).document_number == "80012345"
    change.refresh_from_db()
    assert (change.state, change.channel, change.requested_by) == (
        "confirmed",
        "console",
        shop.admin,
    )


def test_a_wrong_code_is_said_next_to_the_field(console, shop):
    ana = testing.make_customer(shop).customer
    url = f"/console/customers/{ana.pk}/contact/"
    console.post(url, {"step": "start", "email": "nova@example.com"})
    change = IdentityChange.objects.get(customer=ana)
    codes = {**codes_of(change.pk), "code": "1"}
    page = console.post(url, {"step": "confirm", "change": change.pk, **codes}).content.decode()
    assert 'id="code-error"' in page and "Código incorreto. Tentativas restantes: 4." in page


def test_an_empty_email_is_filled_in_at_once(console, shop):
    quick = testing.make_customer(shop, complete=False, email=None, mobile="+573001231234")
    url = f"/console/customers/{quick.customer.pk}/contact/"
    response = console.post(url, {"step": "start", "email": "nova@example.com"})
    assert response.status_code == 302
    assert Customer.objects.get(pk=quick.customer.pk).email == "nova@example.com"


def test_another_merchants_customer_is_a_404(console):
    stranger = testing.make_customer(testing.make_merchant("Otro")).customer
    url = f"/console/customers/{stranger.pk}/contact/"
    assert console.get(url).status_code == 404
    assert console.post(url, {"step": "start", "email": "x@example.com"}).status_code == 404
    assert not IdentityChange.objects.exists()
