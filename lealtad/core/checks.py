"""System checks of the deployment's database settings (issue 17, PgBouncer). They run with
`lealtad check`, `lealtad migrate` and at the start of `lealtad serve`, so a contradiction stops
the server before its first request rather than as errors under load."""

from django.conf import settings
from django.core import checks

PGBOUNCER_PORT = 6432  # PgBouncer's default listen_port


@checks.register()
def pgbouncer(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    return problems(settings.DATABASES["default"])


def problems(database: dict) -> list[checks.CheckMessage]:
    """What the settings say about `database` (the default one's settings dict)."""
    found = []
    postgres = database["ENGINE"] == "django.db.backends.postgresql"
    pooling = getattr(settings, "DB_TRANSACTION_POOLING", False)
    if getattr(settings, "DB_PREPARED_STATEMENTS_REFUSED", False):
        found.append(
            checks.Error(
                "DB_PREPARED_STATEMENTS=true with DB_TRANSACTION_POOLING=true: a PgBouncer in "
                "transaction mode older than 1.21 hands each transaction to any server "
                "connection, where the statement prepared on another does not exist "
                '("prepared statement … does not exist").',
                hint="Leave DB_PREPARED_STATEMENTS unset or false (off behind transaction "
                "pooling), or set PGBOUNCER_PREPARED_STATEMENTS=true if the PgBouncer is 1.21 or "
                "newer with max_prepared_statements > 0 (docs/deployment.md, PgBouncer).",
                id="pgbouncer.E001",
            )
        )
    if postgres and not pooling and str(database.get("PORT") or "") == str(PGBOUNCER_PORT):
        found.append(
            checks.Warning(
                f"DATABASE_URL names port {PGBOUNCER_PORT}, PgBouncer's, and "
                "DB_TRANSACTION_POOLING is off.",
                hint="If that PgBouncer pools by transaction (pool_mode = transaction), set "
                "DB_TRANSACTION_POOLING=true; in session mode nothing needs to change.",
                id="pgbouncer.W001",
            )
        )
    if postgres and pooling and settings.DB_PREPARED_STATEMENTS:
        import psycopg

        if psycopg.pq.version() < 170000:
            found.append(
                checks.Warning(
                    "PGBOUNCER_PREPARED_STATEMENTS=true with libpq "
                    f"{psycopg.pq.version()}: before libpq 17 psycopg deallocates a prepared "
                    "statement with DEALLOCATE, which PgBouncer does not support.",
                    hint="Install psycopg[binary] (it bundles a recent libpq) or libpq 17+, or "
                    "set DB_PREPARED_STATEMENTS=false.",
                    id="pgbouncer.W002",
                )
            )
    return found
