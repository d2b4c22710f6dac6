"""Views of the customer's own objects: another customer's (or no such) object is a plain 404,
the same answer either way, so ids cannot be probed."""

from functools import wraps

from django.http import Http404

from lealtad.core.errors import NotFound


def not_found_is_404(view):
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except NotFound:
            raise Http404 from None

    return wrapped
