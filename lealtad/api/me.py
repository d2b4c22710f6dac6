"""The customer's own API (A; API.md Part 2): `/api/v1/me*` with a customer bearer token
(lealtad.api.customer_auth). `request.auth` is the Customer: every query starts from it, so
another customer's data is never reachable."""

from ninja import Router, Schema

from lealtad.api import schemas as s
from lealtad.api.customer_auth import CustomerAuth
from lealtad.api.views import coins_of

router = Router(tags=["me"], auth=CustomerAuth())
PROBLEMS = {code: s.Problem for code in (400, 401, 403, 404, 409, 422, 429)}


class MeOut(Schema):
    id: str
    country: str
    document_type: str
    document_number: str
    email: str | None
    mobile: str | None
    first_name: str
    last_name: str
    city: str
    profile_complete: bool
    suspended: bool
    coins: s.Coins


def me_out(customer) -> dict:
    return {
        "id": str(customer.pk),
        "country": customer.country,
        "document_type": customer.document_type,
        "document_number": customer.document_number,
        "email": customer.email,
        "mobile": customer.mobile,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "city": customer.city,
        "profile_complete": customer.profile_complete,
        "suspended": customer.suspended,
        "coins": coins_of(customer),
    }


@router.get("/me", response={200: MeOut, **PROBLEMS})
def me(request):
    """The signed-in customer's profile and coin wallet {"available", "held", "expiring_30d"}."""
    return me_out(request.auth)
