"""Requests per credential (issue 12): past `API_RATE_LIMIT` a minute, 429 `rate_limited` with
Retry-After; another key, or the same key in the next minute, is unaffected."""

import os
import subprocess
import sys
import time

import pytest

from lealtad.api import ratelimit
from lealtad.api.tests.conftest import Api
from lealtad.core import testing
from lealtad.network.actions import create_api_key


@pytest.fixture
def limit_3(settings):
    settings.API_RATE_LIMIT = 3


@pytest.fixture
def mid_minute(monkeypatch):
    """Time stands at 10 s into a minute, so a test's requests share one window."""
    start = (time.time() // 60 + 1) * 60 + 10
    clock = {"now": start}
    monkeypatch.setattr(ratelimit, "clock", lambda: clock["now"])
    return clock


def test_the_request_past_the_limit_is_429_with_retry_after(limit_3, mid_minute, pos_api):
    assert [pos_api.get("/rewards").status_code for _ in range(3)] == [200, 200, 200]
    refused = pos_api.get("/rewards")
    assert refused.status_code == 429
    assert refused["Content-Type"] == "application/problem+json"
    assert refused["Retry-After"] == "50"
    body = refused.json()
    assert (body["code"], body["status"], body["retry_after"]) == ("rate_limited", 429, 50)
    assert "50" in body["detail"]
    # Refused before the endpoint: a write past the limit changes nothing either.
    customers_before = pos_api.get("/customers", {"q": "x"}).status_code
    assert customers_before == 429


def test_another_key_and_a_staff_token_are_unaffected(limit_3, mid_minute, pos_api, alice_shop):
    for _ in range(4):
        pos_api.get("/rewards")
    assert pos_api.get("/rewards").status_code == 429
    _key, second = create_api_key(alice_shop.merchant, alice_shop.branch, "Caja 2")
    assert Api(second).get("/rewards").status_code == 200
    staff = Api(testing.token_for(alice_shop.admin))
    assert [staff.get("/rewards").status_code for _ in range(4)] == [200, 200, 200, 429]


def test_the_next_minute_starts_again(limit_3, mid_minute, pos_api):
    for _ in range(3):
        pos_api.get("/rewards")
    assert pos_api.get("/rewards").status_code == 429
    mid_minute["now"] += 50
    assert pos_api.get("/rewards").status_code == 200


def test_a_refused_write_is_not_done(limit_3, mid_minute, pos_api, alice_shop):
    from lealtad.ledger.models import Transaction

    customer = testing.make_customer(alice_shop).customer
    body = {"customer_id": str(customer.pk), "amount": "5000"}
    for n in range(3):
        assert pos_api.post("/accruals", {**body, "invoice_number": f"R-{n}"}).status_code == 201
    refused = pos_api.post("/accruals", {**body, "invoice_number": "R-9"})
    assert refused.status_code == 429
    assert not Transaction.objects.filter(invoice_number="R-9").exists()


def test_zero_means_no_limit(settings, mid_minute, pos_api):
    settings.API_RATE_LIMIT = 0
    assert {pos_api.get("/rewards").status_code for _ in range(30)} == {200}


def _settings_with(env: dict) -> subprocess.CompletedProcess:
    code = "import lealtad.settings as s; print(s.API_RATE_LIMIT)"
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_setting_comes_from_the_environment_600_by_default():
    assert _settings_with({"API_RATE_LIMIT": ""}).stdout.strip() == "600"
    assert _settings_with({"API_RATE_LIMIT": "42"}).stdout.strip() == "42"
    bad = _settings_with({"API_RATE_LIMIT": "lots"})
    assert bad.returncode != 0 and "API_RATE_LIMIT must be a whole number" in bad.stderr
