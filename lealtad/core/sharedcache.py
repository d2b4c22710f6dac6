"""Values every process and node shares through Django's cache (CACHE_URL: Redis, or each
process's memory when empty), invalidated on change.

Each cached value belongs to a *generation key*: the value is stored with the generation it was
read under, and is good only while that key still holds the same generation. A change writes a new
random generation (`invalidate`), so every process's next read misses at once. The value and its
generation are read together, one `get_many` (one round trip to Redis).

Why a generation and not a plain delete: a reader that has just read the database before a change
committed, and writes its now stale value after the writer deleted the key, would leave that stale
value for its whole lifetime. Here the reader fixes the generation *before* it reads the database;
the writer sets a new one *after* its commit (and once before, for the writer's own process and
for tests inside one transaction), so a stale write lands under a dead generation.

A cache that is down never takes a request down: `get` then answers a miss (the caller reads the
database), `remember` stores nothing, and the first failure of an outage is logged once per
process. An invalidation that cannot reach the cache is logged as an error: other processes keep
what they cached for at most its timeout.
"""

import logging
import secrets
import time

from django.core.cache import cache, caches
from django.core.cache.backends.locmem import LocMemCache
from django.db import transaction

logger = logging.getLogger(__name__)

# Longer than any value's timeout, so a generation never expires under a value still stored.
GENERATION_SECONDS = 3 * 24 * 3600
# Without CACHE_URL each process has its own cache and an invalidation reaches only the process
# that made the change: the others' entries then live at most this long (as before issue 17).
LOCAL_SECONDS = 15
UNAVAILABLE = object()  # `get`'s generation when the cache could not be read
# After a failure this process reads the database without trying the cache for a few seconds:
# a Redis host that is gone costs one connect time-out per RETRY_SECONDS, not one per request.
RETRY_SECONDS = 5
_down = False
_retry_at = 0.0


def _failed(what: str) -> None:
    global _down, _retry_at
    _retry_at = time.monotonic() + RETRY_SECONDS
    if not _down:
        _down = True
        logger.warning(
            "shared cache unavailable (%s): reading the database instead", what, exc_info=True
        )


def _recovered() -> None:
    global _down
    if _down:
        _down = False
        logger.warning("shared cache available again")


def get(key: str, generation_key: str):
    """(value or None, generation): the value only when stored under the current generation.
    On a miss, pass the generation on to `remember` after reading the database. A hit is one
    round trip; a miss with no generation yet opens one first (before the caller's read)."""
    if _down and time.monotonic() < _retry_at:
        return None, UNAVAILABLE
    try:
        found = cache.get_many([key, generation_key])
        generation, entry = found.get(generation_key), found.get(key)
        if generation is None:
            fresh = secrets.token_hex(8)
            generation = fresh if cache.add(generation_key, fresh, GENERATION_SECONDS) else None
            if generation is None:  # another process opened it meanwhile
                generation = cache.get(generation_key)
            return None, generation  # None still: nothing will be stored
    except Exception:
        _failed("read")
        return None, UNAVAILABLE
    _recovered()
    if isinstance(entry, tuple) and len(entry) == 2 and entry[0] == generation:
        return entry[1], generation
    return None, generation


def remember(key: str, generation_key: str, generation, value, timeout: int) -> None:
    """Stores what was read from the database under the generation `get` returned before the
    read: a change committed since has replaced it, so a stale value is never seen."""
    if generation is None or generation is UNAVAILABLE or timeout < 1:
        return
    if isinstance(caches["default"], LocMemCache):
        timeout = min(timeout, LOCAL_SECONDS)
    try:
        cache.set(key, (generation, value), timeout)
    except Exception:
        _failed("write")


def invalidate(generation_keys) -> None:
    """Every value under these generations is stale: now, and again once the transaction that
    made the change commits (at once outside a transaction)."""
    keys = sorted(set(generation_keys))
    if not keys:
        return
    _bump(keys)
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(lambda: _bump(keys))


def _bump(keys) -> None:
    try:
        cache.set_many({key: secrets.token_hex(8) for key in keys}, GENERATION_SECONDS)
    except Exception:
        logger.error(
            "shared cache unavailable: %d cached entries (%s…) not invalidated; other processes "
            "may use them until they expire",
            len(keys),
            keys[0],
            exc_info=True,
        )
