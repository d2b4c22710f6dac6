"""Whatever is typed into the customer and report screens: a page or a 404, never a 500."""

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lealtad.core import testing

pytestmark = pytest.mark.django_db

FIELDS = [
    "step", "visited", "go", "document_type", "document_number", "first_name", "last_name",
    "gender", "birth_date", "category", "person_type", "mobile", "email", "postal_code",
    "card_number", "redeem_policy", "dependent", "holder", "q", "branch", "status", "page",
    "customer", "reason", "date_from", "date_to", "given", "next", "from", "to", "redeem_policy",
]  # fmt: skip


def test_no_input_breaks_the_customer_screens():
    shop = testing.make_merchant(admin=None)
    member = testing.make_customer(shop).membership
    client = Client(raise_request_exception=False)
    client.force_login(shop.admin)
    cid = member.customer_id
    screens = [
        ("get", "/console/customers/"),
        ("post", "/console/customers/new/"),
        ("post", "/console/customers/join/"),
        ("post", "/console/customers/blocked/"),
        ("get", f"/console/customers/{cid}/"),
        ("post", f"/console/customers/{cid}/category/"),
        ("post", f"/console/customers/{cid}/block/"),
        ("post", f"/console/customers/{cid}/card/"),
        ("get", f"/console/customers/{cid}/unblock/"),
        ("post", f"/console/customers/{cid}/unblock/"),
        ("post", f"/console/customers/{cid}/consent/"),
        ("get", "/console/dashboard/"),
        ("get", "/console/exports/"),
        ("get", "/console/exports/movements.csv"),
    ]

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(data=st.dictionaries(st.sampled_from(FIELDS), st.text(max_size=40), max_size=10))
    def every_screen(data):
        for method, url in screens:
            response = getattr(client, method)(url, data)
            assert response.status_code < 500, (url, data)

    every_screen()


def test_digit_signs_that_int_refuses_are_not_numbers():
    """Hypothesis found it: "¹" is a digit to str.isdigit() and int() refuses it (a 500)."""
    from lealtad.core import inputs

    shop = testing.make_merchant()
    client = Client(raise_request_exception=False)
    client.force_login(shop.admin)
    for visited in ("¹", "0,²", "³,1"):
        response = client.post("/console/customers/new/", {"visited": visited})
        assert response.status_code == 200, visited
    assert not inputs.is_number("¹") and inputs.is_number("١٢")  # Arabic-Indic: int() reads it
    assert inputs.digits("１２-³4 ", 8) == "124"  # a wide keyboard's digits count, "³" does not
