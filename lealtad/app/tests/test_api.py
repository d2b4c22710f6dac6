import pytest

from lealtad.api.tests.conftest import Api
from lealtad.app import actions
from lealtad.app.testing import customer_token
from lealtad.app.tests.conftest import last_code
from lealtad.core import testing


@pytest.fixture
def anon():
    return Api()


def test_code_is_202_for_anyone(anon, ana):
    for body in ({"email": ana.email}, {"email": "nobody@example.com"}, {"mobile": ana.mobile}):
        response = anon.post("/auth/customer/code", body)
        assert response.status_code == 202, response.content
        assert response.json() == {"status": "sent"}


def test_code_needs_exactly_one_address(anon, db):
    for body in ({}, {"email": "a@example.com", "mobile": "+573001234567"}, {"email": "nope"}):
        response = anon.post("/auth/customer/code", body)
        assert response.status_code == 422
        assert response["Content-Type"] == "application/problem+json"


def test_token_200_401_and_429(anon, ana):
    anon.post("/auth/customer/code", {"email": ana.email})
    code = last_code(ana.email)
    wrong = anon.post("/auth/customer/token", {"email": ana.email, "code": "99999x"})
    assert wrong.status_code == 401 and wrong.json()["code"] == "invalid_code"
    ok = anon.post("/auth/customer/token", {"email": ana.email, "code": code})
    assert ok.status_code == 200, ok.content
    body = ok.json()
    assert body["role"] == "customer" and body["customer_id"] == str(ana.pk)
    assert body["token"].startswith("lcs_") and body["expires_at"]
    again = anon.post("/auth/customer/token", {"email": ana.email, "code": code})
    assert again.status_code == 401
    for _ in range(actions.CODES_PER_ADDRESS_HOUR):
        last = anon.post("/auth/customer/code", {"email": ana.email})
    assert last.status_code == 429 and last.json()["code"] == "too_many_attempts"
    assert int(last["Retry-After"]) > 0


def test_me_with_a_customer_token(ana):
    me = Api(customer_token(ana)).get("/me")
    assert me.status_code == 200, me.content
    body = me.json()
    assert body["id"] == str(ana.pk) and body["email"] == ana.email
    assert body["coins"] == {"available": 0, "held": 0, "expiring_30d": 0}


def test_customer_token_refused_on_merchant_endpoints(ana):
    api = Api(customer_token(ana))
    for path in ("/customers?q=x", f"/customers/{ana.pk}", "/rewards"):
        response = api.get(path)
        assert response.status_code == 403, (path, response.content)
        assert response.json()["code"] == "customer_token"
    response = api.post("/accruals", {"customer_id": str(ana.pk), "amount": "1000"})
    assert response.status_code == 403 and response.json()["code"] == "customer_token"


def test_a_revoked_customer_token_is_401(ana):
    token = customer_token(ana)
    actions.revoke_all(ana)
    assert Api(token).get("/me").status_code == 401
    assert Api(token).get("/rewards").status_code == 401


def test_staff_and_pos_credentials_are_no_customer(shop, ana, anon):
    cashier = testing.make_cashier(shop)
    for token in (testing.token_for(cashier), testing.token_for(shop.admin), shop.api_key):
        response = Api(token).get("/me")
        assert response.status_code in (401, 403), response.content
        assert response["Content-Type"] == "application/problem+json"
    assert anon.get("/me").status_code == 401
