"""Bearer tokens: staff tokens (from POST /auth/token), merchant API keys (POS) and partner keys.

Staff tokens and POS keys act for exactly one merchant; a staff token also for one branch and one
role. A partner key (K4) acts for a partner program and reaches only the partner endpoints: any
other endpoint answers it 403, and the partner endpoints answer any other credential 403.
"""

import time
from dataclasses import dataclass

from django.utils import timezone
from ninja.security import HttpBearer

from lealtad.core.errors import Forbidden
from lealtad.network.models import ApiKey, Branch, Merchant, Role, StaffToken, User


@dataclass
class Actor:
    merchant: Merchant | None
    branch: Branch | None
    role: str
    user: User | None = None
    api_key: ApiKey | None = None
    cacheable: bool = True
    partner: object | None = None  # lealtad.coins.models.Partner, for a partner key

    def __str__(self) -> str:
        if self.partner is not None:
            return f"partner:{self.partner.pk}"
        if self.user is not None:
            return f"user:{self.user.pk}"
        return f"apikey:{self.api_key.pk}" if self.api_key else "-"

    def require(self, *roles: str) -> None:
        if self.role not in roles:
            raise Forbidden()


# Resolved tokens are remembered per worker process for a few seconds: a POS sends many requests
# with one key, and each lookup is a database round trip. A revoked key or a deactivated user
# stops working at most ACTOR_CACHE_SECONDS later; a staff token never outlives its expiry.
ACTOR_CACHE_SECONDS = 15
_actors: dict[str, tuple[float, "Actor"]] = {}


def actor_for_token(token: str) -> Actor | None:
    if not token or len(token) > 200:
        return None
    cached = _actors.get(token)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    actor = _lookup(token)
    if actor is not None and actor.cacheable:
        if len(_actors) > 10_000:
            _actors.clear()
        _actors[token] = (time.monotonic() + ACTOR_CACHE_SECONDS, actor)
    return actor


PARTNER = "partner"


def _lookup(token: str) -> Actor | None:
    now = timezone.now()
    if token.startswith("lpp_"):
        from lealtad.coins.partners import partner_for_secret

        partner = partner_for_secret(token)
        return Actor(None, None, PARTNER, partner=partner) if partner else None
    if token.startswith("lpk_"):
        key = (
            ApiKey.objects.select_related("merchant", "branch")
            .filter(key_hash=ApiKey.hash(token), revoked_at__isnull=True, merchant__active=True)
            .first()
        )
        if key is None:
            return None
        return Actor(key.merchant, key.branch, "pos", api_key=key)
    staff = (
        StaffToken.objects.select_related("user__merchant", "user__branch")
        .filter(key_hash=StaffToken.hash(token), expires_at__gt=now, user__is_active=True)
        .first()
    )
    if staff is None:
        return None
    user = staff.user
    if user.role != Role.OPERATOR and not (user.merchant and user.merchant.active):
        return None
    seconds_left = (staff.expires_at - now).total_seconds()
    if seconds_left < ACTOR_CACHE_SECONDS:
        return Actor(user.merchant, user.branch, user.role, user=user, cacheable=False)
    return Actor(user.merchant, user.branch, user.role, user=user)


def actor_from_request(request) -> Actor | None:
    """Resolved once per request: the idempotency middleware and the endpoint share it."""
    if not hasattr(request, "_lealtad_actor"):
        header = request.headers.get("Authorization", "")
        scheme, _sep, token = header.partition(" ")
        request._lealtad_actor = (
            actor_for_token(token.strip()) if scheme.lower() == "bearer" else None
        )
        if request._lealtad_actor is not None:
            request.lealtad_actor = str(request._lealtad_actor)
    return request._lealtad_actor


class BearerAuth(HttpBearer):
    def __call__(self, request):
        actor = actor_from_request(request)
        if actor is not None and actor.role == PARTNER:
            raise Forbidden()  # a partner key reaches the partner endpoints only
        return actor

    def authenticate(self, request, token):  # pragma: no cover - __call__ does the work
        return actor_from_request(request)


class PartnerAuth(HttpBearer):
    """The partner endpoints: a partner key only; a merchant's or staff credential gets 403."""

    def __call__(self, request):
        actor = actor_from_request(request)
        if actor is not None and actor.role != PARTNER:
            raise Forbidden()
        return actor

    def authenticate(self, request, token):  # pragma: no cover - __call__ does the work
        return actor_from_request(request)


def merchant_actor(request) -> Actor:
    """The caller, who must act for a merchant (an operator's token does not)."""
    actor = request.auth
    if actor.merchant is None:
        raise Forbidden()
    return actor
