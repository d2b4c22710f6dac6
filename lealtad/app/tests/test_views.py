import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from lealtad.app import actions
from lealtad.app.auth import COOKIE
from lealtad.app.testing import sign_in
from lealtad.app.tests.conftest import last_code
from lealtad.core import testing
from lealtad.customers.models import Customer
from lealtad.notifications.models import OutgoingEmail


def _ask(client, address, next_url=None):
    data = {"address": address, **({"next": next_url} if next_url else {})}
    return client.post("/app/signin/", data)


def test_the_sign_in_walk(client, ana):
    response = _ask(client, ana.email, "/app/account/")
    assert response.status_code == 302
    code_url = response["Location"]
    assert code_url.startswith("/app/signin/code/?")
    page = client.get(code_url)
    assert ana.email in page.content.decode()
    assert 'inputmode="numeric"' in page.content.decode()
    assert 'autocomplete="one-time-code"' in page.content.decode()
    token = parse_qs(urlsplit(code_url).query)["t"][0]
    wrong = client.post(code_url, {"t": token, "next": "/app/account/", "code": "000000"})
    assert wrong.status_code == 200 and "incorrecto" in wrong.content.decode()
    done = client.post(
        code_url, {"t": token, "next": "/app/account/", "code": last_code(ana.email)}
    )
    assert done.status_code == 302 and done["Location"] == "/app/account/"
    assert done.cookies[COOKIE]["httponly"]
    assert client.get("/app/account/").status_code == 200


def test_an_unknown_address_walks_the_same_way(client, ana):
    known = _ask(client, ana.email)
    unknown = _ask(client, "nadie@example.com")
    assert known.status_code == unknown.status_code == 302
    page = client.get(unknown["Location"])
    assert page.status_code == 200 and "nadie@example.com" in page.content.decode()
    assert not OutgoingEmail.objects.filter(to="nadie@example.com").exists()


def test_next_never_leaves_the_app(client, ana):
    for bad in ("https://evil.example/", "//evil.example/app/", "/console/", "/app/signin/"):
        response = _ask(client, ana.email, bad)
        query = parse_qs(urlsplit(response["Location"]).query)
        assert query["next"] == ["/app/"], bad


def test_field_errors_and_the_rate_limit_message(client, ana):
    page = _ask(client, "sin arroba")
    assert page.status_code == 200 and "número de celular" in page.content.decode()
    assert 'class="field invalid"' in page.content.decode()
    for _ in range(actions.CODES_PER_ADDRESS_HOUR):
        _ask(client, ana.email)
    page = _ask(client, ana.email)
    assert page.status_code == 200
    assert "Se pidieron demasiados códigos" in page.content.decode()


def test_resend_sends_a_new_code_and_only_it_works(client, ana):
    code_url = _ask(client, ana.email)["Location"]
    token = parse_qs(urlsplit(code_url).query)["t"][0]
    first = last_code(ana.email)
    page = client.post(code_url, {"t": token, "resend": "1"})
    assert page.status_code == 200 and "código nuevo" in page.content.decode()
    second = last_code(ana.email)
    assert OutgoingEmail.objects.filter(to=ana.email, event="code").count() == 2
    if first != second:
        assert client.post(code_url, {"t": token, "code": first}).status_code == 200
    assert client.post(code_url, {"t": token, "code": second}).status_code == 302


def test_a_tampered_code_link_starts_again(client, db):
    response = client.get("/app/signin/code/?t=forged")
    assert response.status_code == 302 and response["Location"].startswith("/app/signin/")


def test_sign_out_here_and_everywhere(ana):
    phone, laptop = Client(), Client()
    sign_in(phone, ana)
    sign_in(laptop, ana)
    assert phone.get("/app/signout/").status_code == 200
    assert phone.post("/app/signout/").status_code == 302
    assert phone.get("/app/").status_code == 302
    assert laptop.get("/app/").status_code == 200
    sign_in(phone, ana)
    laptop.post("/app/account/signout-everywhere/")
    assert phone.get("/app/").status_code == 302 and laptop.get("/app/").status_code == 302


def test_the_account_page(client, ana):
    sign_in(client, ana)
    page = client.get("/app/account/").content.decode()
    assert ana.email in page and ana.document_number in page
    assert 'name="language"' in page and 'value="pt-br"' in page and 'value="en"' in page
    assert "Este teléfono" in page


def test_a_brazilian_customer_reads_portuguese(db):
    shop = testing.make_merchant("Posto", country="BR")
    from lealtad.customers.actions import register_customer

    customer = register_customer(
        merchant=shop.merchant,
        branch=shop.branch,
        staff=None,
        document_type="CPF",
        document_number=testing.brazilian_cpf(),
        country="BR",
        profile={"email": "joao@example.com", "first_name": "João"},
    ).customer
    client = Client()
    sign_in(client, customer)
    assert "Olá, João" in client.get("/app/").content.decode()
    actions.request_code(email="joao@example.com", ip=None)
    assert "Seu código" in OutgoingEmail.objects.filter(to="joao@example.com").last().body


JOIN = {
    "document": "CO:CC",
    "first_name": "Lucía",
    "last_name": "Restrepo",
    "email": "Lucia@Example.com",
    "mobile": "",
}


def test_join_registers_in_the_network_only_and_sends_a_code(client, shop):
    number = testing.colombian_document()
    response = client.post("/app/join/", {**JOIN, "document_number": number})
    assert response.status_code == 302 and "joined=1" in response["Location"]
    lucia = Customer.objects.get(document_number=number)
    assert lucia.email == "lucia@example.com" and not lucia.memberships.exists()
    code = last_code("lucia@example.com")
    token = parse_qs(urlsplit(response["Location"]).query)["t"][0]
    done = client.post(response["Location"], {"t": token, "code": code})
    assert done.status_code == 302
    assert "Lucía" in client.get("/app/").content.decode()
    # The till finds her, and enrols her on first contact.
    from lealtad.customers.actions import find_customers, membership_or_join

    assert find_customers(number, country="CO") == [lucia]
    assert membership_or_join(shop.merchant, lucia.pk, shop.branch).customer == lucia


def test_join_shows_every_error_next_to_its_field(client, shop):
    page = client.post("/app/join/", {**JOIN, "document_number": "12AB", "email": "x"})
    html = page.content.decode()
    assert page.status_code == 200
    assert len(re.findall(r'class="error"', html)) >= 2
    assert not Customer.objects.exists()


@pytest.mark.parametrize("clash", ["document", "email"])
def test_join_never_tells_who_is_registered(client, shop, ana, clash):
    body = {**JOIN, "document_number": testing.colombian_document()}
    if clash == "document":
        body["document_number"] = ana.document_number
    else:
        body["email"] = ana.email
    response = client.post("/app/join/", body)
    assert response.status_code == 302 and response["Location"].startswith("/app/signin/code/")
    assert Customer.objects.count() == 1


def test_bad_input_never_500(client, ana):
    sign_in(client, ana)
    for path in ("/app/signin/", "/app/signin/code/", "/app/join/", "/app/signout/"):
        for data in (
            {},
            {"address": "\x00"},
            {"code": "x" * 5000, "t": "x"},
            {"document": "ZZ:QQ"},
        ):
            assert client.post(path, data).status_code < 500, (path, data)


def test_the_app_speaks_the_phones_language(client, ana):
    page = client.get("/app/signin/", headers={"Accept-Language": "pt-BR,pt;q=0.9"})
    assert "Entrar" in page.content.decode()
    page = client.get("/app/signin/", headers={"Accept-Language": "en-US"})
    assert "Send me a code" in page.content.decode()
    # The till does not: its screens speak the merchant's language.
    assert (
        "Iniciar sesión"
        in client.get("/login/", headers={"Accept-Language": "en"}).content.decode()
    )
