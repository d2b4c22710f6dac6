"""Issue 17: the API's cached credentials and the promotions flag live in Django's cache (Redis
with CACHE_URL) and follow every change at once; a cache that is down costs a database read,
never a request. The same across real processes: test_revoke_across_processes.py."""

import pickle
import time

import pytest
from django.core.cache import cache, caches
from django.utils import timezone

from lealtad.api import auth
from lealtad.api.tests.conftest import free_port
from lealtad.core import sharedcache, testing
from lealtad.core.cache_url import caches_for
from lealtad.network import actorcache
from lealtad.network.models import StaffToken


class Counting:
    """The real cache, counting the calls (each one round trip to Redis)."""

    def __init__(self, real):
        self.real, self.calls = real, []

    def __getattr__(self, name):
        method = getattr(self.real, name)

        def counted(*args, **kwargs):
            self.calls.append(name)
            return method(*args, **kwargs)

        return counted


@pytest.fixture(params=["locmem", "redis"])
def each_cache(request, settings):
    """Both backends: local memory, and a real Redis (what is cached must pickle)."""
    if request.param == "redis":
        settings.CACHES = caches_for(request.getfixturevalue("redis_url"))
        cache.clear()
    yield request.param
    caches.close_all()


def test_a_cached_token_costs_one_cache_round_trip_and_no_query(
    each_cache, carol, monkeypatch, django_assert_num_queries
):
    secret = testing.token_for(carol)
    first = auth.actor_for_token(secret)
    assert first.user == carol and first.role == "cashier"
    counting = Counting(sharedcache.cache)
    monkeypatch.setattr(sharedcache, "cache", counting)
    with django_assert_num_queries(0):
        actor = auth.actor_for_token(secret)
    assert counting.calls == ["get_many"]
    assert (actor.user.pk, actor.merchant.pk, actor.branch.pk) == (
        carol.pk,
        carol.merchant_id,
        carol.branch_id,
    )
    assert actor.rate_key == first.rate_key
    # Keyed by the secret's hash, never the secret; and no password hash in the cache.
    stored = sharedcache.cache.real.get(actorcache.entry_key(StaffToken.hash(secret)))
    raw = pickle.dumps(stored)
    assert secret.encode() not in raw and carol.password.encode() not in raw
    assert "password" in actor.user.get_deferred_fields()
    # Shared (Redis): ACTOR_CACHE_SECONDS. Each process's own memory, where an invalidation
    # reaches only its own process: no longer than before issue 17.
    key = cache.make_and_validate_key(actorcache.entry_key(StaffToken.hash(secret)))
    if each_cache == "redis":
        assert 55 <= cache._cache.get_client(key).ttl(key) <= auth.ACTOR_CACHE_SECONDS == 60
    else:
        assert 10 <= cache._expire_info[key] - time.time() <= sharedcache.LOCAL_SECONDS == 15


def change_user(user, **fields):
    for name, value in fields.items():
        setattr(user, name, value)
    user.save()


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda user: change_user(user, is_active=False), id="deactivated"),
        pytest.param(lambda user: StaffToken.objects.filter(user=user).delete(), id="token-gone"),
        pytest.param(
            lambda user: change_user(user.merchant, active=False), id="merchant-deactivated"
        ),
        pytest.param(
            lambda user: change_user(StaffToken.objects.get(user=user), expires_at=timezone.now()),
            id="token-cut-short",
        ),
    ],
)
def test_a_change_refuses_the_cached_token_at_once(each_cache, carol, change):
    secret = testing.token_for(carol)
    assert auth.actor_for_token(secret) is not None
    assert auth.actor_for_token(secret) is not None  # from the cache now
    change(carol)
    assert auth.actor_for_token(secret) is None


def test_what_the_actor_carries_follows_its_user_merchant_and_branch(each_cache, alice_shop, carol):
    from lealtad.network.models import Branch, Role

    secret = testing.token_for(carol)
    assert auth.actor_for_token(secret).role == Role.CASHIER
    change_user(carol, role=Role.MERCHANT_ADMIN)
    assert auth.actor_for_token(secret).role == Role.MERCHANT_ADMIN
    other = Branch.objects.create(merchant=alice_shop.merchant, name="Norte")
    change_user(carol, branch=other)
    assert auth.actor_for_token(secret).branch.pk == other.pk
    change_user(other, name="Norte 2")
    assert auth.actor_for_token(secret).branch.name == "Norte 2"
    change_user(alice_shop.merchant, point_value="2000")
    assert auth.actor_for_token(secret).merchant.point_value == 2000
    from lealtad.network.coin_roles import set_coin_roles

    # An UPDATE, which sends no signal:
    set_coin_roles(alice_shop.merchant, issuer=True, acceptor=False, cashback_rate="0.03")
    assert auth.actor_for_token(secret).merchant.coin_issuer is True
    carol.set_password("another-secret-9")
    carol.save()
    assert auth.actor_for_token(secret) is not None  # tokens outlive a new password (as before)
    carol.last_login = timezone.now()
    carol.save(update_fields=["last_login"])  # every sign-in: no invalidation
    counting = Counting(sharedcache.cache)
    sharedcache.cache, real = counting, sharedcache.cache
    try:
        assert auth.actor_for_token(secret) is not None
    finally:
        sharedcache.cache = real
    assert counting.calls == ["get_many"]


def test_the_console_deactivating_a_cashier_refuses_their_token_at_once(alice_shop, carol):
    from django.test import Client

    api = bearer_client(testing.token_for(carol))
    assert api.get("/api/v1/rewards").status_code == 200
    console = Client()
    console.force_login(alice_shop.admin)
    assert console.post(f"/console/staff/{carol.pk}/active/").status_code == 302
    assert api.get("/api/v1/rewards").status_code == 401


def bearer_client(secret):
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def test_a_partner_key_revoked_or_its_partner_deactivated_is_refused_at_once(each_cache, db):
    from lealtad.coins import partners
    from lealtad.network.models import Network

    Network.default()
    partner = partners.create_partner("Banco Uno", "0.5")
    key, secret = partners.issue_partner_key(partner)
    assert auth.actor_for_token(secret).partner == partner
    assert auth.actor_for_token(secret).partner == partner
    partner.active = False
    partner.save()
    assert auth.actor_for_token(secret) is None
    partner.active = True
    partner.save()
    assert auth.actor_for_token(secret).partner == partner
    partners.revoke_partner_key(key)  # an UPDATE, which sends no signal
    assert auth.actor_for_token(secret) is None


def test_a_read_that_raced_a_change_is_stored_under_a_dead_generation(each_cache, db):
    for already in (False, True):
        if already:
            sharedcache.invalidate(["gen:x"])
        value, generation = sharedcache.get("value:x", "gen:x")
        assert value is None and generation is not None
        # ... this process reads the database; meanwhile another commits a change ...
        sharedcache.invalidate(["gen:x"])
        sharedcache.remember("value:x", "gen:x", generation, "stale", 60)
        assert sharedcache.get("value:x", "gen:x")[0] is None
        value, generation = sharedcache.get("value:x", "gen:x")
        sharedcache.remember("value:x", "gen:x", generation, "fresh", 60)
        assert sharedcache.get("value:x", "gen:x")[0] == "fresh"
        cache.clear()


def test_a_new_or_deleted_promotion_applies_at_once(each_cache, alice_shop):
    from lealtad.offers.models import Promotion
    from lealtad.offers.promotions import accrual_promotions_may_apply

    now = timezone.now()
    merchant = alice_shop.merchant
    assert accrual_promotions_may_apply(merchant, now) is False
    assert accrual_promotions_may_apply(merchant, now) is False  # cached
    promo = testing.make_promotion(alice_shop, kind="bonus", bonus_points=5)
    assert accrual_promotions_may_apply(merchant, now) is True
    Promotion.objects.filter(pk=promo.pk).delete()
    assert accrual_promotions_may_apply(merchant, now) is False


def test_a_cache_that_is_down_costs_a_database_read_logged_once(
    settings, alice_shop, carol, caplog, monkeypatch
):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",  # nothing listens there
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    counting = Counting(sharedcache.cache)
    monkeypatch.setattr(sharedcache, "cache", counting)
    api = bearer_client(testing.token_for(carol))
    pos = bearer_client(alice_shop.api_key)
    customer = testing.make_customer(alice_shop).customer
    try:
        assert [api.get("/api/v1/rewards").status_code for _ in range(3)] == [200, 200, 200]
        accrual = pos.post(
            "/api/v1/accruals",
            {"customer_id": str(customer.pk), "amount": "5000"},
            content_type="application/json",
        )
        assert accrual.status_code == 201, accrual.content
        change_user(carol, is_active=False)  # the invalidation cannot reach the cache: logged
        assert api.get("/api/v1/rewards").status_code == 401  # read from the database
    finally:
        caches.close_all()
    assert caplog.text.count("shared cache unavailable (read)") == 1
    assert "not invalidated" in caplog.text
    # Tried once, then left alone for RETRY_SECONDS (a Redis host that is gone would cost a
    # connect time-out each time); the invalidation is always tried.
    assert counting.calls.count("get_many") == 1
    assert counting.calls.count("set_many") >= 1
