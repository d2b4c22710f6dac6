"""Issue 15: API requests skip the screens' session, auth, language and messages middleware; the
screens keep every one of them, and CSRF stays for both."""

import pytest
from django.http import HttpResponse
from django.test import Client, RequestFactory

from lealtad.core.middleware import (
    WebAuthenticationMiddleware,
    WebMessageMiddleware,
    WebSessionMiddleware,
)


def _seen(middleware, path):
    seen = {}

    def view(request):
        seen.update(
            session=hasattr(request, "session"),
            user=hasattr(request, "user"),
            messages=hasattr(request, "_messages"),
        )
        return HttpResponse("ok")

    request = RequestFactory().get(path)
    if middleware is not WebSessionMiddleware:
        WebSessionMiddleware(lambda r: None).process_request(request)  # what auth needs
    middleware(view)(request)
    return seen


@pytest.mark.parametrize(
    "middleware,attribute",
    [
        (WebSessionMiddleware, "session"),
        (WebAuthenticationMiddleware, "user"),
        (WebMessageMiddleware, "messages"),
    ],
)
def test_the_screens_get_the_middleware_and_the_api_does_not(middleware, attribute):
    assert _seen(middleware, "/cashier/")[attribute] is True
    assert _seen(middleware, "/api/v1/customers")[attribute] is False


@pytest.mark.django_db
def test_a_screens_post_without_csrf_token_is_still_refused():
    client = Client(enforce_csrf_checks=True)
    response = client.post("/login/", {"username": "x", "password": "y"})
    assert response.status_code == 403


@pytest.mark.django_db
def test_an_api_post_needs_no_csrf_token_and_sets_no_cookie():
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/api/v1/auth/token",
        {"username": "nobody", "password": "wrong-password"},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="pt-br",
    )
    assert response.status_code == 401
    assert not response.cookies
    assert response["Content-Language"] == "pt-br"  # LocaleMiddleware still runs for the API
