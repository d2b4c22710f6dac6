"""Requests per credential (each POS key, staff token and partner key): a fixed one-minute window
counted in the Django cache, `API_RATE_LIMIT` requests a minute (0: no limit).

The count is one atomic `incr` on a key named after the credential and the minute, so concurrent
requests never lose a count. With the default local-memory cache each worker process counts its
own requests (a key may make up to `WEB_WORKERS` × the limit a minute in all); with
`CACHE_URL=redis://…` every worker and node shares one count (README, "Configuration").
A fixed window lets a client spend up to twice the limit across a minute's boundary: the limit
keeps a runaway POS loop from starving the others, it is not a billing meter.
"""

import logging
import math
import time

from django.conf import settings
from django.core.cache import cache

from lealtad.core.errors import RateLimited

logger = logging.getLogger(__name__)
WINDOW_SECONDS = 60
clock = time.time  # tests stand it still mid-minute


def check(request, actor) -> None:
    """Counts this request against its credential; raises RateLimited past the limit. Once per
    request, however many times authentication runs."""
    limit = settings.API_RATE_LIMIT
    if not limit or actor is None or not actor.rate_key or hasattr(request, "_lealtad_rated"):
        return
    request._lealtad_rated = True
    now = clock()
    window = int(now // WINDOW_SECONDS)
    key = f"api-rate:{actor.rate_key}:{window}"
    try:
        cache.add(key, 0, timeout=WINDOW_SECONDS * 2)
        try:
            count = cache.incr(key)
        except ValueError:  # evicted between add and incr: this request opens the window again
            cache.set(key, 1, timeout=WINDOW_SECONDS * 2)
            count = 1
    except Exception:
        # A shared cache that is down must not take the API down: the request goes through
        # uncounted, and the log says so (once a minute per process would be kinder; rare).
        logger.warning("rate limit not counted: the cache is unavailable", exc_info=True)
        return
    if count > limit:
        wait = max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))
        raise RateLimited(retry_after=wait)
