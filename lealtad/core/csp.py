"""The Content-Security-Policy of every page: scripts, styles, images and form posts only from
this site. Templates carry no inline scripts, styles or event handlers (they live in static
files), so the policy needs no 'unsafe-inline' and no nonce.

Django 6 sends the header itself (SECURE_CSP and its middleware); on Django 5.2 LTS the small
middleware below sends the same policy.
"""

SELF, NONE = "'self'", "'none'"

POLICY = {
    "default-src": [SELF],
    "script-src": [SELF],
    "style-src": [SELF],
    # data: for the small SVG icons Swagger UI (the API docs) draws.
    "img-src": [SELF, "data:"],
    "font-src": [SELF],
    "connect-src": [SELF],
    "object-src": [NONE],
    "base-uri": [SELF],
    "form-action": [SELF],
    "frame-ancestors": [NONE],
}

try:
    from django.middleware.csp import ContentSecurityPolicyMiddleware  # noqa: F401

    MIDDLEWARE = "django.middleware.csp.ContentSecurityPolicyMiddleware"
except ImportError:  # Django 5.2
    MIDDLEWARE = "lealtad.core.csp.PolicyMiddleware"


def header_value(policy: dict) -> str:
    return "; ".join(f"{name} {' '.join(values)}" for name, values in policy.items())


class PolicyMiddleware:
    """Django 5.2's stand-in for django.middleware.csp (no nonces: nothing here needs one)."""

    def __init__(self, get_response):
        from django.conf import settings

        self.get_response = get_response
        self.value = header_value(settings.SECURE_CSP)

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.value)
        return response
