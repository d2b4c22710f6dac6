"""DATABASE_REPLICA_URL → the `replica` alias of DATABASES (issue 17). No Django imports:
settings.py calls this once DATABASES["default"] is complete.

The replica is a PostgreSQL hot standby of the primary (streaming replication). Its alias copies
everything the default alias was given besides where to connect — OPTIONS (prepared statements,
or their absence behind PgBouncer), CONN_MAX_AGE, health checks, server-side cursors on or off —
so one deployment setting means the same on both. Options in the replica's own URL win, and a
connection attempt gives up after REPLICA_CONNECT_TIMEOUT seconds: a replica that does not
answer sends its readers to the primary (lealtad/core/replica.py), it must not hold them.

In the test suite the alias is a mirror of the default test database (TEST MIRROR): the same
database through a second connection, so a test sees which alias a query took, not other data.
"""

import copy

import dj_database_url

from lealtad.core.env import BadSetting

ALIAS = "replica"
# The fields that say where and as whom to connect: the replica's own. All else is default's.
WHERE = ("ENGINE", "NAME", "USER", "PASSWORD", "HOST", "PORT")
CONNECT_TIMEOUT = 3


def replica_database(default: dict, url: str) -> dict | None:
    """The settings of the `replica` alias, or None when `url` is empty (no replica)."""
    url = (url or "").strip()
    if not url:
        return None
    try:
        parsed = dj_database_url.parse(url)
    except ValueError as exc:
        raise BadSetting(f"DATABASE_REPLICA_URL is not a database URL: {exc}") from None
    if parsed.get("ENGINE") != "django.db.backends.postgresql":
        raise BadSetting("DATABASE_REPLICA_URL must be a postgres://… URL (a streaming replica)")
    if default.get("ENGINE") != "django.db.backends.postgresql":
        raise BadSetting(
            "DATABASE_REPLICA_URL needs DATABASE_URL to be PostgreSQL: a read replica is a "
            "PostgreSQL standby of the primary"
        )
    replica = copy.deepcopy(default)
    for key in WHERE:
        replica[key] = parsed.get(key, "")
    options = dict(default.get("OPTIONS") or {})
    options.update(parsed.get("OPTIONS") or {})
    options.setdefault("connect_timeout", CONNECT_TIMEOUT)
    replica["OPTIONS"] = options
    replica["TEST"] = {"MIRROR": "default"}
    return replica
