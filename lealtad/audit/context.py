"""Who is acting, from where: the request (a till or console session, a staff token, a POS key)
or a command, known to `lealtad.audit.actions.record` without every action taking it as an
argument. The middleware binds the request for its duration; the actor is read only when an entry
is written, after the API's authentication has run."""

import contextvars
from contextlib import contextmanager
from dataclasses import dataclass
from functools import wraps


@dataclass(frozen=True)
class Source:
    request: object | None = None
    command: str = ""


_current: contextvars.ContextVar[Source | None] = contextvars.ContextVar(
    "lealtad_audit_source", default=None
)


def current() -> Source | None:
    return _current.get()


@contextmanager
def bound(source: Source):
    token = _current.set(source)
    try:
        yield source
    finally:
        _current.reset(token)


def command(name: str):
    """A management command's actions are recorded as the command line's (`lealtad <name>`)."""
    return bound(Source(command=name))


class AuditSourceMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with bound(Source(request=request)):
            return self.get_response(request)


def recorded_as(name: str):
    """Decorates a management command's `handle`: what it does is the command line's."""

    def decorate(handle):
        @wraps(handle)
        def wrapper(*args, **kwargs):
            with command(name):
                return handle(*args, **kwargs)

        return wrapper

    return decorate
