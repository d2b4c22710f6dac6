"""Issue 16: Schemathesis over the whole OpenAPI schema the API serves, in-process (WSGI).

Every operation is one test with a fresh merchant world (a coin-accepting shop with its admin,
a cashier and its POS key; customer A with coins, visits, a rating, a gift offer, a voucher and
a claim; a conversion partner). Each generated case (Schemathesis's examples, coverage and
fuzzing phases, positive and negative) is sent with the operation's own credential: the staff
admin on the merchant endpoints, A's customer token on /me*, the partner key on /partner/*, none
on /auth/*. A positive case asks for A's real objects (its path ids are replaced by the world's),
so that valid input reaches past the lookup. The first cases of each operation are sent again with
every other credential (cashier, POS key, customer, partner, none): a credential the operation is
not for never gets a 2xx.

Every answer: no 5xx, a status the operation declares, its declared content type, a body that
matches its schema, and every error problem+json with its `status` and a stable `code`.
`test_stateful_*` follow the OpenAPI links (lealtad/api/links.py) from a create to its reads.

Bounded for CI: FUZZ_EXAMPLES (default 4) fuzzing examples per operation, derandomised, no
Hypothesis database. A long local run: FUZZ_EXAMPLES=200 (docs/integration.md)."""

import os
import re

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from lealtad.api.api import api

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "4"))
REPORT = os.environ.get("FUZZ_REPORT")  # a file: every call's method, path, status, mode
FOREIGN_CASES = 2  # cases of each operation also sent with every other credential
PREFIX = "/api/v1"
CHECKS = [
    negative_data_rejection,
    response_headers_conformance,
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# A batch answers 200 with one result per item, an invalid item's its own 422 (API.md, "Batches"):
# the items' schema is what a valid item is, not what the batch refuses whole.
PER_ITEM = {"/api/v1/accruals/batch"}
HYPOTHESIS = {
    "derandomize": True,
    "database": None,
    "deadline": None,
    "suppress_health_check": list(HealthCheck),
}

schema = schemathesis.openapi.from_dict(api.get_openapi_schema())
# Every other method on every path is probed once (405 problem+json, lealtad/api/problems.py);
# a few suffice, the rest repeat the same answer.
schema.config.phases.coverage.unexpected_methods = {"put", "delete", "trace"}
# The credential is the test's (below), never a generated Authorization header.
schema.config.generation.update(with_security_parameters=False)


def owner(path: str) -> str | None:
    """The credential an operation is for."""
    path = path.removeprefix(PREFIX)
    if path.startswith("/auth/"):
        return None
    if path == "/me" or path.startswith("/me/"):
        return "customer"
    if path.startswith("/partner/"):
        return "partner"
    return "admin"


def may_use(who: str | None, path: str) -> bool:
    mine = owner(path)
    return mine is None or who == mine or (mine == "admin" and who in ("cashier", "pos"))


@pytest.fixture
def wsgi_app():
    """The project's WSGI handler, on the test's connection: Django closes a connection at the
    end of each request, which would end the test's transaction (as django.test.Client avoids)."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def world(settings, tmp_path):
    from lealtad.app.testing import customer_token
    from lealtad.app.tests.boundary import build_world
    from lealtad.coins import partners
    from lealtad.core import testing

    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True  # no DNS look-up of generated host names
    settings.API_RATE_LIMIT = 0  # the run is thousands of calls a minute from one key
    w = build_world(settings, tmp_path)
    bank = partners.create_partner("Banco Andino", "0.25")
    w.tokens = {
        "admin": testing.token_for(w.shop.admin),
        "cashier": testing.token_for(testing.make_cashier(w.shop)),
        "pos": w.shop.api_key,
        "customer": customer_token(w.a),
        "partner": partners.issue_partner_key(bank)[1],
        None: None,
    }
    w.ids.update(
        customer_id=w.a.pk,
        promotion_id=testing.make_promotion(w.shop).pk,  # /promotions/{id}/uses: a free item
    )
    w.sent = 0
    return w


def headers_for(token):
    return {"Authorization": f"Bearer {token}"} if token else {}


def assert_problem(response, case):
    if response.status_code < 400:
        return
    where = f"{case.method} {case.formatted_path} → {response.status_code}"
    assert response.headers.get("content-type") == ["application/problem+json"], where
    body = response.json()
    assert body.get("status") == response.status_code, where
    assert re.fullmatch(r"[a-z_]+", body.get("code", "")), where
    assert body.get("type") == f"urn:lealtad:problem:{body['code']}" and body.get("title"), where


def checks_for(case):
    if case.operation.path in PER_ITEM:
        return [check for check in CHECKS if check is not negative_data_rejection]
    return CHECKS


def send(case, token, app):
    response = case.call(app=app, headers=headers_for(token))
    if REPORT:  # one line per call, for a long run's summary
        with open(REPORT, "a") as out:
            mode = case.meta.generation.mode.value if case.meta else "-"
            out.write(f"{case.method} {case.operation.path} {response.status_code} {mode}\n")
    case.validate_response(response, checks=checks_for(case), headers=headers_for(token))
    assert_problem(response, case)
    return response


@schema.parametrize()
@settings(max_examples=EXAMPLES, **HYPOTHESIS)
def test_every_operation(case, world, wsgi_app):
    path = case.operation.path
    if case.meta and case.meta.generation.mode.value == "positive":
        # A's real objects, so that valid input reaches past the lookup.
        for name in case.path_parameters:
            if name in world.ids:
                case.path_parameters[name] = str(world.ids[name])
    mine = owner(path)
    send(case, world.tokens[mine], wsgi_app)
    world.sent += 1
    if world.sent > FOREIGN_CASES:
        return
    for who, token in world.tokens.items():
        if who == mine:
            continue
        response = send(case, token, wsgi_app)
        if not may_use(who, path):
            assert response.status_code >= 400, f"{who} may not use {case.method} {path}"


def _state_machine(path_regex, who):
    machine = schema.include(path_regex=path_regex).as_state_machine()

    class Machine(machine):
        def setup(self):
            self.app = self._app
            self.token = self._tokens[who]

        def get_call_kwargs(self, case):
            return {"app": self.app, "headers": headers_for(self.token)}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=checks_for(case), headers=kwargs.get("headers"))
            assert_problem(response, case)

    return Machine


def _run(machine, world, wsgi_app):
    machine._app, machine._tokens = wsgi_app, world.tokens
    machine.run(settings=settings(max_examples=EXAMPLES * 5, stateful_step_count=6, **HYPOTHESIS))


def test_stateful_merchant_links(world, wsgi_app):
    """As the admin: create a customer, an accrual, a payment, a webhook endpoint, an invoice and
    follow the links to read, change and reverse them."""
    _run(_state_machine(r"^/api/v1/(?!me\b|me/|partner/|auth/)", "admin"), world, wsgi_app)


def test_stateful_customer_links(world, wsgi_app):
    """As customer A: rate a visit, buy a voucher, send a claim and read each back."""
    _run(_state_machine(r"^/api/v1/me/", "customer"), world, wsgi_app)
