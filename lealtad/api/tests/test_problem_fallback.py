"""Issue 16 (found by Schemathesis): an error no endpoint writes is problem+json too: ninja's 405
for a method a path lacks (was text/html "Method not allowed") and a path no route matches (was
Django's HTML 404 page). The screens keep their HTML pages."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def _problem(response, status, code):
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["code"] == code
    assert body["type"] == f"urn:lealtad:problem:{code}" and body["title"]
    return body


@pytest.mark.parametrize(
    "method, path, allow",
    [
        ("put", "/api/v1/auth/token", "POST"),
        ("delete", "/api/v1/me", "GET"),
        ("get", "/api/v1/accruals", "POST"),
    ],
)
def test_a_method_the_path_lacks_is_a_405_problem_that_keeps_allow(method, path, allow):
    response = getattr(Client(), method)(path)
    body = _problem(response, 405, "method_not_allowed")
    assert response["Allow"] == allow
    assert allow in body["detail"]


@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/v1/customers/", "/api/v2/customers"])
def test_a_path_no_route_matches_is_a_404_problem(path):
    _problem(Client().get(path, HTTP_AUTHORIZATION="Bearer x"), 404, "not_found")


def test_the_screens_keep_their_html_404():
    response = Client().get("/cashier/no-such-page")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
