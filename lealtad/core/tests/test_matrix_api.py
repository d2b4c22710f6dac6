"""Issue 16: the API's tenancy and roles matrix. Every operation of `api.get_openapi_schema()` is
called with every credential of the world (lealtad/core/tests/matrix.py), with merchant A's ids
in the path, the query and the body, and the answer must be exactly the contract's:

- no token, a made-up one, an expired staff token, a revoked POS key: 401 problem `unauthorized`;
- a customer's token on a merchant endpoint: 403 `customer_token`; on a partner endpoint: 401;
- the operator's token and a partner key on a merchant endpoint, and any staff token or POS key on
  a partner endpoint: 403 `forbidden` (the operator works in the admin site, not for a merchant);
- a role the row does not allow (a cashier or a POS key on an admin-only action, a POS key on the
  staff's ratings inbox): 403 `forbidden`, for A's own staff as for B's — the role is checked
  before any id is read, so the answer is the same for every id and tells nothing;
- a role the row allows, of merchant B, naming any of A's objects: 404 `not_found`, never 403,
  never the object; not naming one (B's own lists, B's new records): B's own answer;
- a role the row allows, of merchant A: not 401, not a role's 403, not 404 (the object exists).
- the /me operations: every staff, POS, operator and partner credential 401 (a customer's own
  token is issue 14's lealtad/api/tests/test_boundary_me.py).
Never a 5xx, and no answer given to B's credentials, the customer, the operator or the partner
holds any of A's names, documents, invoice numbers or ids.

ROWS says who may use each operation. An operation without a row (a new endpoint) fails the test,
and so does a row without its operation.
"""

import json
import uuid

import pytest
from django.test import Client

from lealtad.app.tests.boundary import API_PUBLIC as PUBLIC
from lealtad.app.tests.boundary import is_me, is_problem, operations
from lealtad.core import testing
from lealtad.core.tests.matrix import PARAM, build, leaked

pytestmark = pytest.mark.django_db

# Who may use each operation: "pos+" a merchant's admin, cashier or POS key; "staff" its admin or
# cashier (a person, not a POS); "admin" its admin only; "partner" a partner program's key.
ROWS = {
    ("POST", "/customers"): "pos+",
    ("GET", "/customers"): "pos+",
    ("GET", "/customers/{customer_id}"): "pos+",
    ("PATCH", "/customers/{customer_id}"): "pos+",
    ("POST", "/customers/{customer_id}/contact-changes"): "pos+",
    ("GET", "/customers/{customer_id}/contact-changes/{change_id}"): "pos+",
    ("POST", "/customers/{customer_id}/contact-changes/{change_id}/confirm"): "pos+",
    ("POST", "/customers/{customer_id}/contact-changes/{change_id}/resend"): "pos+",
    ("GET", "/customers/{customer_id}/statement"): "pos+",
    ("GET", "/customers/{customer_id}/qr"): "pos+",
    ("POST", "/accruals"): "pos+",
    ("GET", "/rewards"): "pos+",
    ("POST", "/rewards"): "admin",
    ("POST", "/redemptions"): "pos+",
    ("GET", "/transactions/{transaction_id}"): "pos+",
    ("POST", "/transactions/{transaction_id}/reversal"): "admin",
    ("POST", "/accruals/batch"): "pos+",
    ("POST", "/promotions/{promotion_id}/uses"): "pos+",
    ("POST", "/gift-offers/{offer_id}/redemption"): "pos+",
    ("POST", "/coins/earnings"): "pos+",
    ("POST", "/coin-payments"): "pos+",
    ("POST", "/coin-payments/{payment_id}/confirm"): "pos+",
    ("POST", "/coin-payments/{payment_id}/resend"): "pos+",
    ("POST", "/coin-payments/{payment_id}/cancel"): "pos+",
    ("GET", "/coin-payments/{payment_id}"): "pos+",
    ("POST", "/point-payments"): "pos+",
    ("GET", "/point-payments/{payment_id}"): "pos+",
    ("POST", "/partner/conversions"): "partner",
    ("GET", "/partner/conversion-requests"): "partner",
    ("POST", "/partner/conversion-requests/{request_id}/confirm"): "partner",
    ("POST", "/partner/conversion-requests/{request_id}/refusal"): "partner",
    ("GET", "/coin-promotions"): "pos+",
    ("POST", "/webhooks"): "admin",
    ("GET", "/webhooks"): "admin",
    ("GET", "/webhooks/{endpoint_id}"): "admin",
    ("PATCH", "/webhooks/{endpoint_id}"): "admin",
    ("DELETE", "/webhooks/{endpoint_id}"): "admin",
    ("POST", "/webhooks/{endpoint_id}/rotate-secret"): "admin",
    ("POST", "/webhooks/{endpoint_id}/test"): "admin",
    ("GET", "/webhooks/{endpoint_id}/deliveries"): "admin",
    ("POST", "/webhooks/deliveries/{delivery_id}/retry"): "admin",
    ("POST", "/invoices"): "pos+",
    ("GET", "/invoices"): "pos+",
    ("GET", "/invoices/{invoice_id}"): "pos+",
    ("POST", "/invoices/{invoice_id}/assign"): "pos+",
    ("GET", "/ratings"): "staff",
    ("GET", "/nps"): "staff",
    ("POST", "/ratings/{rating_id}/messages"): "staff",
}
ROLES = {
    "pos+": {"admin", "cashier", "pos"},
    "staff": {"admin", "cashier"},
    "admin": {"admin"},
    "partner": set(),
}
UNAUTHENTICATED = ("nobody", "garbage", "expired", "revoked_key")
# A valid body for each operation that takes one ("{name}": A's id of that name; "{new}": a fresh
# word; "{document}": a fresh document number), so that what answers is the lookup, not a 422.
BODIES = {
    ("POST", "/customers"): {
        "email": "{new}@example.com",
        "document_type": "CC",
        "document_number": "{document}",
        "country": "CO",
    },
    ("PATCH", "/customers/{customer_id}"): {"city": "Cali"},
    ("POST", "/customers/{customer_id}/contact-changes"): {"email": "{new}@example.com"},
    ("POST", "/customers/{customer_id}/contact-changes/{change_id}/confirm"): {"code": "000000"},
    ("POST", "/accruals"): {"customer_id": "{customer_id}", "amount": "1000"},
    ("POST", "/rewards"): {"name": "Premio {new}", "points_cost": 5},
    ("POST", "/redemptions"): {"customer_id": "{customer_id}", "reward_id": "{reward_id}"},
    ("POST", "/transactions/{transaction_id}/reversal"): {"reason": "matriz"},
    ("POST", "/accruals/batch"): {
        "accruals": [{"customer_id": "{customer_id}", "amount": "1000", "invoice_number": "{new}"}]
    },
    ("POST", "/promotions/{promotion_id}/uses"): {"customer_id": "{customer_id}"},
    ("POST", "/gift-offers/{offer_id}/redemption"): {"customer_id": "{customer_id}"},
    ("POST", "/coins/earnings"): {"customer_id": "{customer_id}", "amount": "1000"},
    ("POST", "/coin-payments"): {
        "customer_id": "{customer_id}",
        "invoice_amount": "30000",
        "coins": 5,
        "document_checked": True,
    },
    ("POST", "/coin-payments/{payment_id}/confirm"): {"code": "0000"},
    ("POST", "/point-payments"): {
        "customer_id": "{customer_id}",
        "invoice_amount": "1000",
        "points": 1,
        "document_checked": True,
    },
    ("POST", "/partner/conversions"): {
        "document_type": "CC",
        "document_number": "{document}",
        "country": "CO",
        "partner_points": 10,
        "reference": "{new}",
    },
    ("POST", "/webhooks"): {"url": "https://127.0.0.1:8639/{new}", "events": ["accrual.posted"]},
    ("PATCH", "/webhooks/{endpoint_id}"): {"description": "matriz"},
    ("POST", "/invoices"): {"invoice_number": "{new}", "amount": "5"},
    ("POST", "/invoices/{invoice_id}/assign"): {"customer_id": "{customer_id}"},
    ("POST", "/ratings/{rating_id}/messages"): {"body": "Hola"},
}
# Query strings naming A's objects (B's call answers 404), or A's data (B finds nothing of A's).
QUERIES = {
    ("GET", "/customers"): "q={document_number}",
    ("GET", "/rewards"): "customer_id={customer_id}",
    ("GET", "/coin-promotions"): "customer_id={customer_id}",
    ("GET", "/invoices"): "branch_id={branch_id}",
    ("GET", "/ratings"): "branch_id={branch_id}",
    ("GET", "/nps"): "branch_id={branch_id}",
}
# Queries that search rather than name: B's answer is not a 404 but, for a customer of the
# network who never came to B, the masked card a cashier enrols them from (N2,
# identity.card_of: their id and name, the contact masked), and nothing of A's.
SEARCHES = {("GET", "/customers")}
# Operations whose customer_id is the network's identity, not a merchant's object (N2: "registered
# once at any merchant, found at all of them"; the customer joins on a first accrual or invoice;
# coins are the network's currency, R3): B may name A's customer. B's calls name B's own customer
# here, so that the walk does not make A's customer a member of B (after which B would rightly
# see them).
NETWORK_CUSTOMER = {
    ("POST", "/accruals"),
    ("POST", "/accruals/batch"),
    ("POST", "/coins/earnings"),
    ("POST", "/coin-payments"),
    ("POST", "/invoices/{invoice_id}/assign"),
    ("GET", "/coin-promotions"),
}
# The payment_id of each kind of payment.
PAYMENT = {"/coin-payments": "coin_payment_id", "/point-payments": "point_payment_id"}


def _ids_for(path: str, ids: dict) -> dict:
    for prefix, name in PAYMENT.items():
        if path.startswith(prefix):
            return {**ids, "payment_id": ids[name]}
    return ids


def _fill(value, ids):
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if not isinstance(value, str):
        return value
    new = uuid.uuid4().hex[:12]
    value = value.replace("{new}", new).replace("{document}", testing.colombian_document())
    return PARAM.sub(lambda m: str(ids.get(m.group(1), uuid.uuid4())), value)


def names_a(method, path) -> bool:
    """Does the call name one of A's objects (path, body or query)?"""
    text = path + json.dumps(BODIES.get((method, path), {}))
    if (method, path) not in SEARCHES:
        text += QUERIES.get((method, path), "")
    named = set(PARAM.findall(text)) - {"new", "document"}
    if (method, path) in NETWORK_CUSTOMER:
        named.discard("customer_id")
    return bool(named)


def call(client, method, path, ids):
    ids = _ids_for(path, ids)
    target = "/api/v1" + _fill(path, ids)
    if (method, path) in QUERIES:
        target += "?" + _fill(QUERIES[(method, path)], ids)
    body = BODIES.get((method, path))
    return client.generic(
        method,
        target,
        json.dumps(_fill(body, ids)) if body is not None else "",
        content_type="application/json",
    )


def expected(who: str, security, cred: str, method: str, path: str):
    """(status, code) the contract gives, or "allowed"."""
    partner = security == [{"PartnerAuth": []}]
    if cred in UNAUTHENTICATED:
        return 401, "unauthorized"
    if is_me(path):
        return (401, "unauthorized") if cred != "customer" else "issue 14"
    if partner:
        if cred == "customer":
            return 401, "unauthorized"
        return "allowed" if cred == "partner" else (403, "forbidden")
    if cred == "customer":
        return 403, "customer_token"
    if cred in ("operator", "partner"):
        return 403, "forbidden"
    role = cred.split("_", 1)[1]
    if role not in ROLES[who]:
        return 403, "forbidden"
    if cred.startswith("b_") and names_a(method, path):
        return 404, "not_found"
    return "allowed"


def _order(op):
    method, path, _op = op
    return (method == "DELETE", path.endswith("/cancel"), path)  # destroying last


@pytest.fixture
def ops():
    found = sorted(operations(), key=_order)
    assert len(found) > 70
    return found


def test_every_operation_has_a_row(ops):
    merchant = {(m, p) for m, p, _o in ops if not is_me(p) and (m, p) not in PUBLIC}
    missing = sorted(merchant - set(ROWS))
    assert missing == [], f"operations without a row in ROWS (who may use them): {missing}"
    assert sorted(set(ROWS) - merchant) == [], "rows without their operation"
    bodies = {(m, p) for m, p, op in ops if "requestBody" in op and (m, p) in ROWS}
    optional = {("POST", "/partner/conversion-requests/{request_id}/refusal")}
    assert sorted(bodies - set(BODIES) - optional) == [], "a body for each, in BODIES"


def _check(response, want, cred, matrix, method, path, of="a"):
    """What is wrong with the answer, or None. `cred` is named as seen from the owner of the ids
    (`of`): "a_…" its own staff, "b_…" the other merchant's."""
    status = response.status_code
    if status >= 500:
        return status
    text = response.content.decode(errors="replace")
    found = [] if cred.startswith("a_") else leaked(text, matrix, of)
    if (method, path) in SEARCHES:
        owner = matrix.a if of == "a" else matrix.b
        card = {owner.ids["customer_id"], owner.customer.first_name}
        found = [m for m in found if m not in card]
    if found:
        return f"{status} holds A's {found}"
    if want == "allowed":
        if status in (401, 405) or (status == 403 and _code(response) in ROLE_CODES):
            return (status, _code(response))
        if status == 404 and cred.startswith("a_") and names_a(method, path):
            return "404 for A's own object"
        return None
    if not is_problem(response, want[0]) or _code(response) != want[1]:
        return (status, _code(response), "wanted", want)
    return None


ROLE_CODES = {"forbidden", "customer_token", "unauthorized"}


def _code(response):
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("code") if isinstance(body, dict) else None


def test_every_operation_with_every_credential(ops, settings, tmp_path):
    matrix = build(settings, tmp_path)
    clients = {
        name: Client(headers={"Authorization": f"Bearer {token}"} if token else {})
        for name, token in matrix.tokens.items()
    }
    wrong, sent = {}, 0
    for method, path, op in ops:
        if (method, path) in PUBLIC:
            continue
        who = "customer" if is_me(path) else ROWS[(method, path)]
        for cred, client in clients.items():
            want = expected(who, op.get("security"), cred, method, path)
            if want == "issue 14" or (want == "allowed" and who == "partner"):
                continue  # the customer's own API: test_boundary_me; the partner's: its tests
            ids = matrix.a.ids
            if cred.startswith("b_") and (method, path) in NETWORK_CUSTOMER:
                ids = {**ids, "customer_id": str(matrix.b.customer.pk)}
            response = call(client, method, path, ids)
            sent += 1
            if problem := _check(response, want, cred, matrix, method, path):
                wrong[f"{cred} {method} {path}"] = problem
    # The other way round: A's staff and POS key on each of B's objects, A's markers swapped for
    # B's (the credential is named as B sees it: another merchant's).
    for method, path, op in ops:
        if (method, path) in PUBLIC or is_me(path) or not names_a(method, path):
            continue
        if ROWS[(method, path)] == "partner":
            continue
        for cred in ("a_admin", "a_cashier", "a_pos"):
            seen_as = "b_" + cred.removeprefix("a_")
            want = expected(ROWS[(method, path)], op.get("security"), seen_as, method, path)
            ids = matrix.b.ids
            if (method, path) in NETWORK_CUSTOMER:
                ids = {**ids, "customer_id": str(matrix.a.customer.pk)}
            response = call(clients[cred], method, path, ids)
            sent += 1
            if problem := _check(response, want, seen_as, matrix, method, path, of="b"):
                wrong[f"{cred} {method} {path} on B's"] = problem
    print(f"matrix: {len(ops)} operations, {len(clients)} credentials, {sent} requests")
    assert wrong == {}, "\n".join(f"{k}: {v}" for k, v in wrong.items())
    assert sent > 700
