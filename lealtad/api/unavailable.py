"""A database that is restarting or unreachable is 503 with Retry-After, never a bare 500.

The crash run (issue 16) restarts PostgreSQL and terminates the app's backends under load.
A request that meets that fails in the authentication or idempotency middleware (their queries
run before any view) or in the view. Before, the first reached Django's own handler, an HTML
"Server Error (500)" page on an API path, and the second a problem+json 500
`internal_error`: to the client both said "a bug", when the same request retried a moment later
succeeds (with its Idempotency-Key the work is done once). Now both are 503 problem+json
`service_unavailable` with `Retry-After: 1` on the API, and a short 503 page elsewhere.
"""

import sqlite3
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.utils.translation import gettext as _
from django.views.defaults import server_error as django_server_error

from lealtad.api.problems import problem

RETRY_AFTER_SECONDS = 1
# SQLite's OperationalError also means a missing table or a bad statement (a bug): only a busy
# database is "try again".
SQLITE_TRANSIENT = ("database is locked", "database table is locked", "disk i/o error")


def database_unavailable(exc) -> bool:
    """Whether `exc` says the database is away for a moment (restarting, unreachable, the
    session terminated, a deadlock or a cancelled statement) rather than that the code is wrong."""
    if not isinstance(exc, OperationalError | InterfaceError):
        return False
    if isinstance(exc.__cause__, sqlite3.Error):
        return any(text in str(exc).lower() for text in SQLITE_TRANSIENT)
    return True


def unavailable_problem() -> HttpResponse:
    response = problem(
        503,
        "service_unavailable",
        _("Service temporarily unavailable"),
        _(
            "The database is restarting or unreachable. Retry in a moment with the same "
            "Idempotency-Key: the work is done once."
        ),
    )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def server_error(request):
    """handler500: what an exception outside a view (a middleware) answers."""
    exc = sys.exc_info()[1]
    api = request.path.startswith("/api/")
    if database_unavailable(exc):
        if api:
            return unavailable_problem()
        response = HttpResponse(
            _("Lealtad is briefly unavailable. Try again in a moment."),
            status=503,
            content_type="text/plain; charset=utf-8",
        )
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    if api:
        return problem(
            500,
            "internal_error",
            _("Internal error"),
            _("Something went wrong on our side; nothing was changed."),
        )
    return django_server_error(request)
