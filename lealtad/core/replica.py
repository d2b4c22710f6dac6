"""The read replica (issue 17): which reads may go to it, and who must not read from it now.

Everything reads from and writes to the primary ("default") except where a view says so with
`@reads_from_replica`: the console's reports, its CSV exports and the ratings inbox — pages that
read much and write nothing. Inside such a view `ReplicaRouter.db_for_read` answers "replica",
unless

- no replica is configured (DATABASE_REPLICA_URL empty): there is no "replica" alias;
- the person asking wrote something in the last REPLICA_PIN_SECONDS (read-your-writes): a write
  committed on the primary by one of their requests pins them to the primary, in Django's cache
  (Redis with CACHE_URL: every worker and node sees it) and, for screen users, in a signed cookie
  too (it needs no shared cache at all, and still works when Redis is down);
- the replica lags more than REPLICA_MAX_LAG_SECONDS, or does not answer: measured at most once a
  second per process (`replica_usable`);
- the read happens inside an atomic block on the primary (it may depend on what that block wrote,
  or lock what it reads).

Writes always go to the primary, also for an object read from the replica; migrations never run on
the replica; an object read from the primary (the signed-in user, the merchant) follows its
relations on the primary. A view that fails on a database error while reading from the replica,
or misses a row it has not replayed yet, is answered again from the primary: a replica that dies
mid-request costs a retry, never a 500.
Code that opens cursors itself (the reports' raw SQL) asks `read_alias()` which connection to use.
"""

import contextlib
import contextvars
import functools
import logging
import re
import threading
import time

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ObjectDoesNotExist
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db import Error as DatabaseError

from lealtad.core.replica_url import ALIAS as REPLICA

logger = logging.getLogger(__name__)
DEFAULT = DEFAULT_DB_ALIAS
CHECK_EVERY = 1.0  # seconds between two measures of the replica's lag, per process
COOKIE = "lealtad_primary"
SALT = "lealtad.core.replica.pin"

# The alias the current view reads from: None (no view said), DEFAULT or REPLICA.
_reading: contextvars.ContextVar[str | None] = contextvars.ContextVar("lealtad_reads", default=None)
_clock = time.time  # the pins' clock (wall time: shared by every node); tests move it


def configured() -> bool:
    return REPLICA in connections.settings


def in_transaction(conn) -> bool:
    """Inside an atomic block of the code's own. A test case's wrapping transaction does not
    count (Django's durable blocks reason the same way): there a test sees what a request sees."""
    return any(not block._from_testcase for block in conn.atomic_blocks)


def read_alias() -> str:
    """The alias a read should use here and now."""
    alias = _reading.get()
    if alias != REPLICA or in_transaction(connections[DEFAULT]):
        return DEFAULT
    return REPLICA


class ReplicaRouter:
    """DATABASE_ROUTERS: reads where `read_alias` says, writes and migrations on the primary."""

    def db_for_read(self, model, **hints):
        instance = hints.get("instance")
        if instance is not None and instance._state.db == DEFAULT:
            # An object read from the primary (the signed-in user, their merchant) follows its
            # relations there: the replica may not have the row it points to yet.
            return DEFAULT
        return read_alias()

    def db_for_write(self, model, **hints):
        return DEFAULT

    def allow_relation(self, obj1, obj2, **hints):
        if {obj1._state.db, obj2._state.db} <= {DEFAULT, REPLICA, None}:
            return True  # the replica is the primary's copy: the same rows
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return False if db == REPLICA else None


# --- the replica's health: lag and reachability ----------------------------------------------

# On a standby: is it one, does a WAL receiver run, has it replayed all it received, and the
# seconds since the last transaction it replayed was committed on the primary. That last figure
# alone grows on an idle primary with no lag at all, so it only counts when WAL waits unreplayed
# (receive ≠ replay) or when no receiver runs (cut off from the primary: how far behind is unknown,
# the age of the last replayed commit is a bound the primary's idleness can only overstate).
LAG_SQL = """
SELECT pg_is_in_recovery(),
       EXISTS (SELECT 1 FROM pg_stat_wal_receiver),
       pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn(),
       EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8
"""


class _Health:
    def __init__(self):
        self.lock = threading.Lock()
        self.checked_at = float("-inf")  # time.monotonic() of the last measure
        self.usable = False
        self.lag: float | None = None

    def forget(self):
        self.checked_at = float("-inf")

    def down(self, reason: str):
        if self.usable:
            logger.warning("read replica not used (%s): reading from the primary", reason)
        self.usable, self.lag, self.checked_at = False, None, time.monotonic()


health = _Health()


def measure_lag() -> float | None:
    """Seconds the replica is behind the primary (0.0: caught up); raises when it does not
    answer; None when it cannot tell."""
    conn = connections[REPLICA]
    if conn.vendor != "postgresql":
        conn.ensure_connection()
        return 0.0
    with conn.cursor() as cursor:
        cursor.execute(LAG_SQL)
        recovering, receiving, replayed_all, since_last = cursor.fetchone()
    if not recovering:
        return 0.0  # not a standby (the test suite's mirror, or promoted): nothing to lag behind
    if receiving and replayed_all:
        return 0.0
    return since_last


def replica_usable() -> bool:
    """The replica answers and lags at most REPLICA_MAX_LAG_SECONDS, measured at most once a
    second per process (a failure counts as unusable for that second)."""
    if time.monotonic() - health.checked_at < CHECK_EVERY:
        return health.usable
    with health.lock:
        if time.monotonic() - health.checked_at < CHECK_EVERY:
            return health.usable
        try:
            lag = measure_lag()
        except Exception as exc:  # unreachable, refused, or a test that forbids the alias
            _close_quietly()
            health.down(f"it does not answer: {type(exc).__name__}")
            return False
        limit = settings.REPLICA_MAX_LAG_SECONDS
        if lag is None or lag > limit:
            health.down(f"lag {'unknown' if lag is None else f'{lag:.1f} s'} > {limit} s")
        else:
            if not health.usable:
                logger.info("read replica in use (lag %.1f s)", lag)
            health.usable, health.lag = True, lag
        health.checked_at = time.monotonic()
        return health.usable


def give_up(exc: Exception, where: str) -> None:
    """A replica that failed mid-use (a streamed export opens its connection after the view
    returned, out of `reads_from_replica`'s reach): not used again until the next check, and its
    broken connection dropped."""
    health.down(f"{type(exc).__name__} during {where}: {exc}"[:300])
    _close_quietly()


def _close_quietly():
    """Drop a replica connection that failed, so the next use connects afresh (one inside an
    atomic block, a test case's, is left to that block's end)."""
    conn = connections[REPLICA]
    if not conn.in_atomic_block:
        with contextlib.suppress(Exception):
            conn.close()


# --- read-your-writes: who is pinned to the primary --------------------------------------------


def person_of(request) -> str | None:
    """ "user:<id>" for a signed-in staff member (a screen's session or an API token alike),
    "apikey:<id>" for a point of sale's key; None for anyone else."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    actor = getattr(request, "lealtad_actor", None)  # the API's credential (lealtad/api/auth.py)
    return actor if actor and actor != "-" else None


def _cache_key(person: str) -> str:
    return f"replica-pin:{person}"


def pin(request, response, person: str) -> None:
    """`person` reads from the primary for the next REPLICA_PIN_SECONDS."""
    seconds = settings.REPLICA_PIN_SECONDS
    if seconds <= 0:
        return
    until = _clock() + seconds
    try:
        cache.set(_cache_key(person), until, timeout=seconds + 1)
    except Exception as exc:  # Redis down: the cookie still pins a screen user
        logger.warning("read-your-writes pin not stored in the cache: %s", type(exc).__name__)
    if person.startswith("user:") and not request.path.startswith("/api/"):
        response.set_cookie(
            COOKIE,
            signing.dumps([person, until], salt=SALT),
            max_age=seconds + 1,
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=True,
            samesite="Lax",
        )


def pinned(request, person: str) -> bool:
    now = _clock()
    raw = request.COOKIES.get(COOKIE)
    if raw:
        try:
            who, until = signing.loads(raw, salt=SALT)
        except (signing.BadSignature, ValueError, TypeError):
            pass
        else:
            if who == person and isinstance(until, int | float) and until > now:
                return True
    try:
        until = cache.get(_cache_key(person))
    except Exception:
        return True  # the cache cannot say: the primary is always right
    return isinstance(until, int | float) and until > now


def choose(request) -> str:
    """The alias a replica-reading view uses for this request."""
    if not configured():
        return DEFAULT
    person = person_of(request)  # before any replica read: the session is read on the primary
    if person is not None and pinned(request, person):
        return DEFAULT
    return REPLICA if replica_usable() else DEFAULT


def reads_from_replica(view):
    """The view's reads go to the replica when `choose` says so; a database error on the way
    answers the request again from the primary. Only for views that write nothing."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        alias = choose(request)
        token = _reading.set(alias)
        try:
            if alias == DEFAULT:
                return view(request, *args, **kwargs)
            try:
                return view(request, *args, **kwargs)
            except DatabaseError as exc:
                health.down(f"{type(exc).__name__} during {request.path}: {exc}"[:300])
                _close_quietly()
            except ObjectDoesNotExist:
                pass  # a row the replica does not have yet: the primary has it, or says so
            _reading.set(DEFAULT)
            return view(request, *args, **kwargs)
        finally:
            _reading.reset(token)

    return wrapper


# --- detecting a committed write on the primary -------------------------------------------------

_WRITE = re.compile(r'\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+(?:ONLY\s+)?"?(\w+)', re.I)
_WORDS = re.compile(r"\b(?:INSERT|UPDATE|DELETE|MERGE)\b", re.I)
# Written on a person's behalf but not by them: the session row (any screen request), the
# dashboard's roll-up that a report fills itself (lealtad/console/rollup.py).
NOT_THEIR_WRITES = frozenset({"django_session", "console_dayfigures", "console_stalehour"})


def is_write(sql: str) -> bool:
    found = _WRITE.match(sql)
    if found:
        return found.group(1).lower() not in NOT_THEIR_WRITES
    head = sql.lstrip()[:8].upper()
    if head.startswith("WITH"):
        return bool(_WORDS.search(sql))  # a data-modifying CTE
    return head.startswith(("MERGE", "COPY", "TRUNCATE"))


class _WriteWatcher:
    """An execute wrapper on the primary's connection: `wrote` once a write statement of this
    request has committed (at once in autocommit; else when its transaction commits — a write
    rolled back pins no one)."""

    def __init__(self):
        self.wrote = False

    def _committed(self):
        self.wrote = True

    def committed(self, conn) -> bool:
        if self.wrote or in_transaction(conn):
            return self.wrote
        # Only a test case's wrapping transaction is still open: its commit hooks never run, but
        # a hook of ours still waiting there stands for a write its own block released, as a
        # commit would have (a rolled-back block discards its hooks).
        return any(hook[1] == self._committed for hook in conn.run_on_commit)

    def __call__(self, execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if not self.wrote and is_write(sql):
            conn = context["connection"]
            if in_transaction(conn):
                transaction.on_commit(self._committed, using=conn.alias)
            else:
                self.wrote = True
        return result


class ReadYourWritesMiddleware:
    """Pins the person behind a request that committed a write (see `pin`). Outside every other
    middleware, so the idempotency middleware's transaction has committed when it looks."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not configured():
            return self.get_response(request)
        watcher = _WriteWatcher()
        with connections[DEFAULT].execute_wrapper(watcher):
            response = self.get_response(request)
        if watcher.committed(connections[DEFAULT]):
            person = person_of(request)
            if person is not None:
                pin(request, response, person)
        return response
