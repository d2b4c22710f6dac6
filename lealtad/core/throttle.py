"""Counts of the ways in that need no sign-in (issue 16, docs/security.md "Limits"), in the Django
cache as api/ratelimit.py counts each credential: one atomic `incr` on a key named after what is
counted and the window, so concurrent requests never lose a count, and with
`CACHE_URL=redis://…` every worker and node shares one count (with the default local-memory
cache each process counts its own).

    throttle.hit("signup-ip", address, settings.SIGNUPS_PER_IP_HOUR)   # counts; Throttled past it
    throttle.wait("code-wrong-ip", address, limit)                    # seconds to wait, or 0

Used by the merchant sign-up, the app's join form and the customer's sign-in codes (wrong codes
per client address and per e-mail/mobile). The staff's password sign-in keeps its own counts in
the database (network/signin.py: a success resets only its own place's count), and the sign-in
codes asked are counted by their rows (app/actions.py); the limits of all are settings, listed in
README's configuration. A cache that is down lets the request through, logged.
"""

import logging
import math
import time

from django.core.cache import cache
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)
HOUR = 3600
clock = time.time  # tests may stand it still


class Throttled(Exception):
    def __init__(self, retry_after: int):
        self.retry_after = retry_after
        super().__init__(f"throttled: retry after {retry_after} s")


def _key(scope: str, who, window: int, now: float) -> str:
    return f"throttle:{scope}:{who}:{window}:{int(now // window)}"


def _left(window: int, now: float) -> int:
    return max(1, math.ceil((int(now // window) + 1) * window - now))


def wait(scope: str, who, limit: int, window: int = HOUR) -> int:
    """Seconds until `who` may try again in `scope` (0: now), without counting."""
    if not who:
        return 0
    now = clock()
    try:
        count = cache.get(_key(scope, who, window, now)) or 0
    except Exception:
        logger.warning("throttle %s not read: the cache is unavailable", scope, exc_info=True)
        return 0
    return _left(window, now) if count >= limit else 0


def count(scope: str, who, window: int = HOUR) -> int:
    """Counts one more for `who` in `scope`; the new count (0 when nothing was counted)."""
    if not who:
        return 0
    now = clock()
    key = _key(scope, who, window, now)
    try:
        cache.add(key, 0, timeout=window * 2)
        try:
            return cache.incr(key)
        except ValueError:  # evicted between add and incr
            cache.set(key, 1, timeout=window * 2)
            return 1
    except Exception:
        logger.warning("throttle %s not counted: the cache is unavailable", scope, exc_info=True)
        return 0


def hit(scope: str, who, limit: int, window: int = HOUR) -> None:
    """Counts this attempt; raises Throttled (with the seconds to wait) past `limit`."""
    if count(scope, who, window) > limit:
        raise Throttled(_left(window, clock()))


def message(seconds: int) -> str:
    """What a screen says by its form when a sign-up or join is throttled."""
    minutes = max(1, math.ceil(seconds / 60))
    return _("Too many attempts from here. Try again in %(minutes)s min.") % {"minutes": minutes}
