"""Bearer tokens: staff tokens (from POST /auth/token), merchant API keys (POS) and partner keys.

Staff tokens and POS keys act for exactly one merchant; a staff token also for one branch and one
role, a POS key for its branch or, merchant-wide (no branch), for the `branch_id` each call names
where one is needed. A partner key (K4) acts for a partner program and reaches only the partner
endpoints: any other endpoint answers it 403, and the partner endpoints answer any other
credential 403.

Each credential is rate-limited (api/ratelimit.py): `rate_key` names what is counted.
"""

import copy
import dataclasses
from dataclasses import dataclass
from datetime import timedelta

from django.db import DEFAULT_DB_ALIAS
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja.security import HttpBearer

from lealtad.api import ratelimit
from lealtad.core import sharedcache
from lealtad.core.errors import Forbidden
from lealtad.network import actorcache
from lealtad.network.models import ApiKey, Branch, Merchant, Role, StaffToken, User


@dataclass
class Actor:
    merchant: Merchant | None
    branch: Branch | None
    role: str
    user: User | None = None
    api_key: ApiKey | None = None
    cache_seconds: int = 0  # how long the shared cache may keep it (0: not cached)
    partner: object | None = None  # lealtad.coins.models.Partner, for a partner key
    rate_key: str = ""  # the credential the rate limit counts: "k:<key id>", "t:<token id>"…

    def __str__(self) -> str:
        if self.partner is not None:
            return f"partner:{self.partner.pk}"
        if self.user is not None:
            return f"user:{self.user.pk}"
        return f"apikey:{self.api_key.pk}" if self.api_key else "-"

    def require(self, *roles: str) -> None:
        if self.role not in roles:
            raise Forbidden()


# Staff tokens and partner keys are remembered in the shared cache (Django's cache: Redis with
# CACHE_URL, shared by every worker and node), keyed by the secret's SHA-256, never the secret.
# Each entry lives under a generation of its own (core/sharedcache.py) that every change to what
# it was read from replaces after its commit: the token deleted, its user saved (deactivated,
# another role, merchant or branch, a new password), the user's merchant or branch saved, a
# partner key revoked or its partner saved (network/actorcache.py, wired to the models' signals).
# So a change is refused at once on every process and node; the entry's timeout
# (ACTOR_CACHE_SECONDS, never past the token's expiry) only bounds what an invalidation lost to a
# cache outage leaves behind. A hit is one cache round trip and no database query. POS keys are
# not cached: each request reads the key by its unique hash, one indexed query, which also keeps
# `last_used_at` (docs/security.md, "Revoking an API key").
ACTOR_CACHE_SECONDS = 60
LAST_USED_EVERY = timedelta(minutes=1)
CACHED_PREFIXES = ("lst_", "lpp_")  # staff tokens, partner keys
# Credentials are read on the primary, never a replica (core/replica.py): a lagging replica would
# accept a revoked key, and its answer would be cached under the generation the revocation set.
PRIMARY = DEFAULT_DB_ALIAS


def actor_for_token(token: str) -> Actor | None:
    if not token or len(token) > 200:
        return None
    if not token.startswith(CACHED_PREFIXES):
        return _lookup(token)
    key_hash = StaffToken.hash(token)  # the same SHA-256 as PartnerKey.hash
    entry, generation_key = actorcache.entry_key(key_hash), actorcache.generation_key(key_hash)
    actor, generation = sharedcache.get(entry, generation_key)
    if actor is not None:
        return actor
    actor = _lookup(token)
    if actor is not None and actor.cache_seconds:
        sharedcache.remember(
            entry, generation_key, generation, _for_cache(actor), actor.cache_seconds
        )
    return actor


def _for_cache(actor: Actor) -> Actor:
    """What is stored: the same actor without the user's password hash (left deferred: reading it
    would fetch it, and a save would leave it alone)."""
    if actor.user is None:
        return actor
    user = copy.copy(actor.user)
    user.__dict__.pop("password", None)
    return dataclasses.replace(actor, user=user)


PARTNER = "partner"


def _lookup(token: str) -> Actor | None:
    now = timezone.now()
    if token.startswith("lpp_"):
        from lealtad.coins.partners import partner_for_secret

        partner = partner_for_secret(token)
        if partner is None:
            return None
        return Actor(
            None,
            None,
            PARTNER,
            partner=partner,
            cache_seconds=ACTOR_CACHE_SECONDS,
            rate_key=f"p:{ApiKey.hash(token)[:24]}",
        )
    if token.startswith("lpk_"):
        key = (
            ApiKey.objects.using(PRIMARY)
            .select_related("merchant", "branch")
            .filter(key_hash=ApiKey.hash(token), revoked_at__isnull=True, merchant__active=True)
            .first()
        )
        if key is None:
            return None
        _note_use(key, now)
        return Actor(key.merchant, key.branch, "pos", api_key=key, rate_key=f"k:{key.pk}")
    staff = (
        StaffToken.objects.using(PRIMARY)
        .select_related("user__merchant", "user__branch")
        .filter(key_hash=StaffToken.hash(token), expires_at__gt=now, user__is_active=True)
        .first()
    )
    if staff is None:
        return None
    user = staff.user
    if user.role != Role.OPERATOR and not (user.merchant and user.merchant.active):
        return None
    seconds_left = (staff.expires_at - now).total_seconds()
    return Actor(
        user.merchant,
        user.branch,
        user.role,
        user=user,
        cache_seconds=max(0, min(ACTOR_CACHE_SECONDS, int(seconds_left))),
        rate_key=f"t:{staff.key_hash[:24]}",
    )


def _note_use(key: ApiKey, now) -> None:
    """`last_used_at`, to the minute: the row just read says whether a write is due, and the
    UPDATE's own condition keeps two workers that both think so to one changed row. Most requests
    write nothing."""
    if key.last_used_at is not None and now - key.last_used_at < LAST_USED_EVERY:
        return
    ApiKey.objects.filter(pk=key.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_EVERY)
    ).update(last_used_at=now)
    key.last_used_at = now


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


CUSTOMER_TOKEN_PREFIX = "lcs_"  # lealtad.app.models.TOKEN_PREFIX


class CustomerToken(Forbidden):
    """A customer's app token (A1) reaches only /api/v1/me*; merchant endpoints refuse it."""

    code, title = "customer_token", _("A customer token cannot use merchant endpoints")


def _customer_token(request) -> bool:
    scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip().startswith(CUSTOMER_TOKEN_PREFIX):
        return False
    from lealtad.app.actions import session_for_token

    return session_for_token(token.strip()) is not None


class BearerAuth(HttpBearer):
    def __call__(self, request):
        actor = actor_from_request(request)
        if actor is None and _customer_token(request):
            raise CustomerToken()
        if actor is not None and actor.role == PARTNER:
            raise Forbidden()  # a partner key reaches the partner endpoints only
        ratelimit.check(request, actor)
        return actor

    def authenticate(self, request, token):  # pragma: no cover - __call__ does the work
        return actor_from_request(request)


class PartnerAuth(HttpBearer):
    """The partner endpoints: a partner key only; a merchant's or staff credential gets 403."""

    def __call__(self, request):
        actor = actor_from_request(request)
        if actor is not None and actor.role != PARTNER:
            raise Forbidden()
        ratelimit.check(request, actor)
        return actor

    def authenticate(self, request, token):  # pragma: no cover - __call__ does the work
        return actor_from_request(request)


def merchant_actor(request) -> Actor:
    """The caller, who must act for a merchant (an operator's token does not)."""
    actor = request.auth
    if actor.merchant is None:
        raise Forbidden()
    return actor
