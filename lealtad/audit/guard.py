"""The database half of "append-only": triggers (migration 0002) refuse UPDATE and DELETE of
audit entries on both engines. Two sanctioned ways through, both narrow and both ours:

- `redacting()`: anonymisation rewrites the personal values of one customer's entries (UPDATE
  only, never DELETE), in its own transaction. PostgreSQL: a transaction-local setting the
  trigger reads (`SET LOCAL lealtad.audit_redact`); SQLite: a per-thread flag read through an SQL
  function this process registers on each connection (another program's connection has no such
  function, so its UPDATE fails too).
- `flushing()`: `lealtad flush` (and the tests' flush between transactional tests) empties every
  table. PostgreSQL flushes with TRUNCATE, which the trigger also refuses unless
  `lealtad.audit_flush` is set in the transaction; SQLite deletes the rows under the flag.
"""

import threading
from contextlib import contextmanager

from django.db import connections, transaction
from django.db.backends.signals import connection_created

_permit = threading.local()


def _allowed(operation: str) -> bool:
    if getattr(_permit, "flush", False):
        return True
    return operation == "update" and getattr(_permit, "redact", False)


def _register(sender=None, connection=None, **kwargs) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_function(
            "lealtad_audit_permit", 1, lambda op: int(_allowed(op))
        )


def install() -> None:
    connection_created.connect(_register, dispatch_uid="lealtad.audit.guard")
    for conn in connections.all(initialized_only=True):
        if conn.connection is not None:
            _register(connection=conn)


@contextmanager
def redacting(using: str = "default"):
    """Inside an atomic block: the entries may be UPDATEd (never DELETEd) until it ends."""
    conn = connections[using]
    if conn.vendor == "postgresql":
        with conn.cursor() as cursor:
            cursor.execute("SELECT set_config('lealtad.audit_redact', 'on', true)")
        try:
            yield
        finally:
            if conn.in_atomic_block and not conn.needs_rollback:
                with conn.cursor() as cursor:
                    cursor.execute("SELECT set_config('lealtad.audit_redact', '', true)")
        return
    _permit.redact = True
    try:
        yield
    finally:
        _permit.redact = False


@contextmanager
def flushing(using: str = "default"):
    """The permit lasts one transaction (`set_config(…, true)`, SET LOCAL), which the flush's
    own TRUNCATE joins: it cannot outlive it on the server connection. A session-wide setting
    would, behind PgBouncer in transaction mode (issue 17), stay on whichever server connection
    took it, for the next client handed that connection, and the TRUNCATE could run on another
    one without it."""
    conn = connections[using]
    if conn.vendor == "postgresql":
        with transaction.atomic(using=using):
            with conn.cursor() as cursor:
                cursor.execute("SELECT set_config('lealtad.audit_flush', 'on', true)")
            yield
        return
    _permit.flush = True
    try:
        yield
    finally:
        _permit.flush = False
