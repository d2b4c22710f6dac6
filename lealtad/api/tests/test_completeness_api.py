"""C3/C4 through the API: complete means what fits the person type and what this merchant asks.
A company (CNPJ, NIT) completes without gender or birth date and redeems; a Brazilian merchant
that asks CEP and address refuses a redemption without them, with the fields named."""

import pytest
from stdnum.br import cnpj
from stdnum.co import nit

from lealtad.api.tests.conftest import Api
from lealtad.api.tests.test_api import problem_of
from lealtad.core import testing

pytestmark = pytest.mark.django_db

_n = iter(range(1, 10_000))


def a_cnpj() -> str:
    base = f"{11_222_333 + next(_n) * 97:08d}0001"
    return base + cnpj.calc_check_digits(base)


def a_nit() -> str:
    base = str(900_100_000 + next(_n) * 13)
    return base + nit.calc_check_digit(base)


@pytest.fixture
def loja():
    """A Brazilian merchant: its registration asks CEP, address and the person type (seed 004)."""
    return testing.make_merchant("Posto Estrada Real", country="BR", point_value="5")


@pytest.fixture
def loja_api(loja):
    return Api(testing.token_for(testing.make_cashier(loja)))


def _credit_and_reward(api, shop, customer_id, amount):
    assert api.post("/accruals", {"customer_id": customer_id, "amount": amount}).status_code == 201
    return testing.make_reward(shop, cost=10)


def _redeem(api, customer_id, reward):
    return api.post("/redemptions", {"customer_id": customer_id, "reward_id": str(reward.pk)})


def test_a_brazilian_merchant_asks_cep_and_address_by_default(loja):
    merchant = loja.merchant
    assert (merchant.asks_postal_code, merchant.asks_address, merchant.asks_person_type) == (
        True,
        True,
        True,
    )
    colombian = testing.make_merchant().merchant
    assert not (colombian.asks_postal_code or colombian.asks_address)


def test_a_company_with_a_cnpj_completes_without_gender_or_birth_date_and_redeems(loja, loja_api):
    body = {
        "document_type": "CNPJ",
        "document_number": a_cnpj(),
        "country": "BR",
        "first_name": "Transportes Serra Azul Ltda",
        "email": "frota@serraazul.example.com",
        "mobile": "+5531988887777",
        "postal_code": "30130-010",
        "address": "Av. Afonso Pena 1500, Belo Horizonte",
    }
    created = loja_api.post("/customers", body)
    assert created.status_code == 201, created.content
    customer = created.json()
    assert customer["profile_complete"] is True and customer["missing_fields"] == []
    reward = _credit_and_reward(loja_api, loja, customer["id"], "500")
    redeemed = _redeem(loja_api, customer["id"], reward)
    assert redeemed.status_code == 201, redeemed.content
    assert redeemed.json()["points"] == 10


def test_a_company_with_a_cnpj_misses_its_cep_not_a_gender(loja, loja_api):
    body = {
        "document_type": "CNPJ",
        "document_number": a_cnpj(),
        "country": "BR",
        "first_name": "Padaria Pão Quente Ltda",
        "email": "contato@paoquente.example.com",
        "mobile": "+5531977776666",
    }
    customer = loja_api.post("/customers", body).json()
    assert customer["missing_fields"] == ["postal_code", "address"]
    reward = _credit_and_reward(loja_api, loja, customer["id"], "500")
    refused = problem_of(_redeem(loja_api, customer["id"], reward), 422, "profile_incomplete")
    assert refused["missing_fields"] == ["postal_code", "address"]
    assert refused["missing_labels"] == ["código postal", "dirección"]


def test_a_company_with_a_nit_completes_and_redeems(cashier_api, alice_shop):
    body = {
        "document_type": "NIT",
        "document_number": a_nit(),
        "country": "CO",
        "first_name": "Distribuciones El Roble S.A.S.",
        "email": "compras@elroble.example.com",
        "mobile": "+573101234567",
    }
    created = cashier_api.post("/customers", body)
    assert created.status_code == 201, created.content
    customer = created.json()
    assert customer["profile_complete"] is True and customer["missing_fields"] == []
    reward = _credit_and_reward(cashier_api, alice_shop, customer["id"], "50000")
    assert _redeem(cashier_api, customer["id"], reward).status_code == 201


def test_a_brazilian_merchant_with_cep_required_refuses_a_person_without_it(loja, loja_api):
    body = {
        "document_type": "CPF",
        "document_number": testing.brazilian_cpf(),
        "country": "BR",
        "first_name": "Ana",
        "last_name": "Souza",
        "gender": "F",
        "birth_date": "1990-05-17",
        "email": "ana.souza@example.com",
        "mobile": "+5531966665555",
    }
    customer = loja_api.post("/customers", body).json()
    assert customer["profile_complete"] is False
    assert customer["missing_fields"] == ["postal_code", "address"]
    reward = _credit_and_reward(loja_api, loja, customer["id"], "500")
    refused = problem_of(_redeem(loja_api, customer["id"], reward), 422, "profile_incomplete")
    assert refused["missing_fields"] == ["postal_code", "address"]
    patched = loja_api.patch(
        f"/customers/{customer['id']}", {"postal_code": "30130-010", "address": "Rua da Bahia 1"}
    ).json()
    assert patched["profile_complete"] is True
    assert _redeem(loja_api, customer["id"], reward).status_code == 201


def test_what_a_merchant_asks_is_its_own_not_the_networks(loja, loja_api):
    """The same person, complete at a Colombian merchant that asks no CEP, is incomplete at
    the Brazilian one that does."""
    colombian = testing.make_merchant()
    customer = testing.make_customer(colombian).customer
    co_api = Api(testing.token_for(testing.make_cashier(colombian)))
    assert co_api.get(f"/customers/{customer.pk}").json()["profile_complete"] is True
    loja_api.post("/accruals", {"customer_id": str(customer.pk), "amount": "50"})
    seen = loja_api.get(f"/customers/{customer.pk}").json()
    assert seen["profile_complete"] is False
    assert seen["missing_fields"] == ["postal_code", "address"]


def test_a_cnpj_stays_a_company_whatever_a_patch_says(loja, loja_api):
    body = {
        "document_type": "CNPJ",
        "document_number": a_cnpj(),
        "country": "BR",
        "person_type": "person",
        "first_name": "Oficina Boa Ltda",
        "email": "oficina@boa.example.com",
        "mobile": "+5531955554444",
        "postal_code": "30130-010",
        "address": "Rua 2",
    }
    customer = loja_api.post("/customers", body).json()
    assert customer["profile_complete"] is True
    patched = loja_api.patch(f"/customers/{customer['id']}", {"person_type": "person"}).json()
    assert patched["profile_complete"] is True and patched["missing_fields"] == []
