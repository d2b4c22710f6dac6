"""A1: the customer's own API (`/api/v1/me*`). Its bearer token is a `CustomerSession` token
(`lcs_…`, from POST /auth/customer/token); `request.auth` is the Customer and
`request.customer_session` the session. A staff token, a POS key or a partner key is no
customer: 401 here. (And a customer token on a merchant endpoint is 403 `customer_token`:
lealtad/api/auth.py.)"""

from types import SimpleNamespace

from ninja.security import HttpBearer

from lealtad.api import ratelimit


class CustomerAuth(HttpBearer):
    def authenticate(self, request, token):
        from lealtad.app.actions import session_for_token

        session = session_for_token((token or "").strip())
        if session is None:
            return None
        request.customer_session = session
        request.customer = session.customer
        request.lealtad_actor = f"customer:{session.customer_id}"
        ratelimit.check(request, SimpleNamespace(rate_key=f"c:{session.pk}"))
        return session.customer
