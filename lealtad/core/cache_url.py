"""CACHE_URL → Django's CACHES. What uses the cache: the API's per-key rate limit
(lealtad/api/ratelimit.py) and the throttles (core/throttle.py), whose counts must be shared by
every worker to mean one limit; the cached staff tokens and partner keys (api/auth.py) and the
promotions flag (offers/promotions.py), invalidated on change (core/sharedcache.py), which only a
shared cache invalidates on every node.

Empty or `locmem://`: each process's own memory (nothing to run; a key's limit is counted per
worker process, and a change reaches the other processes' cached credentials within 15 s).
`redis://[:password@]host:6379/0` or `rediss://…` (TLS): Django's Redis backend, one count and
one cache for every worker and node. No Django imports: settings.py calls this.
"""

import urllib.parse

from lealtad.core.env import BadSetting

LOCMEM = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "lealtad"}


def caches_for(url: str) -> dict:
    url = (url or "").strip()
    if not url or url == "locmem://":
        return {"default": LOCMEM}
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - a malformed port raises here
    except ValueError:
        raise BadSetting(f"CACHE_URL is not a valid URL: {url!r}") from None
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise BadSetting(
            "CACHE_URL must be empty (each process's memory), locmem:// or "
            f"redis://host:6379/0 (or rediss://), not {parts.scheme or url!r}://…"
        )
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": "lealtad",
            # A cache that is down must not take the API down with it: short time-outs, and
            # the rate limit lets a request through when the cache cannot count it.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
