"""`lealtad backup` and `lealtad restore` (issue 16): one .tar holding everything the product keeps.

    manifest.json       what the backup is: engine, versions, created_at, the migrations applied,
                        each table's row count and the SHA-256 of the database member
    database.sqlite3    SQLite: a copy made with SQLite's online backup API, or
    database.pgdump     PostgreSQL: `pg_dump -Fc`, in the snapshot the row counts were taken in
    media/…             MEDIA_ROOT (prize and promotion pictures)
    private/…           PRIVATE_MEDIA_ROOT (A7's invoice photos)

Both copies are consistent while the server and the worker keep writing: SQLite's backup of the
whole file is one read transaction (WAL lets the writers go on), and on PostgreSQL the counts are
taken in a REPEATABLE READ transaction (a connection of its own) whose snapshot pg_dump is handed
(`--snapshot`).
A restore goes into an empty database (or, with force, replaces what is there), refuses a backup
of the other engine or of migrations this code does not know, and checks the restored row counts
against the manifest. docs/deployment.md ("Backups and restore") is the operator's side.
"""

import datetime as dt
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
from importlib import metadata
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError
from django.db import DatabaseError, connection

FORMAT = "lealtad-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATABASE_MEMBER = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
ENGINE_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"
SYSTEM_SCHEMAS = "('pg_catalog', 'information_schema')"


def engine(connect: bool = True) -> str:
    """The database's kind, once it is known to answer (a clear message, not a traceback)."""
    vendor = connection.vendor
    if vendor not in DATABASE_MEMBER:
        raise CommandError(f"backups support SQLite and PostgreSQL, not {vendor}")
    if vendor == "postgresql" and getattr(settings, "DB_TRANSACTION_POOLING", False):
        # pg_dump and pg_restore set session settings (search_path = '' first of all) that,
        # through PgBouncer in transaction mode, would stay on the pooled server connection
        # they ran on, for the application's next transaction there (issue 17).
        raise CommandError(
            "DB_TRANSACTION_POOLING is on: run backup and restore against PostgreSQL itself "
            "(DATABASE_URL naming the server, not PgBouncer, and DB_TRANSACTION_POOLING unset): "
            "pg_dump's and pg_restore's session settings would stay on a pooled connection"
        )
    if not connect:
        return vendor
    try:
        connection.ensure_connection()
    except DatabaseError as exc:
        name = connection.settings_dict.get("NAME")
        hint = (
            f" (create it first: createdb {name})"
            if vendor == "postgresql"
            else " (does its folder exist?)"
        )
        raise CommandError(f"cannot open the database {name}{hint}: {exc}".strip()) from None
    return vendor


def media_roots() -> dict[str, Path]:
    return {"media": Path(settings.MEDIA_ROOT), "private": Path(settings.PRIVATE_MEDIA_ROOT)}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _migrations(rows) -> dict[str, list[str]]:
    applied: dict[str, list[str]] = {}
    for app, name in rows:
        applied.setdefault(app, []).append(name)
    return {app: sorted(names) for app, names in sorted(applied.items())}


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# --- PostgreSQL's client programs ------------------------------------------------------------


def pg_program(name: str) -> str:
    """pg_dump or pg_restore: from PG_BIN_DIR when set, else the PATH."""
    folder = os.environ.get("PG_BIN_DIR", "").strip()
    found = shutil.which(name, path=folder or None)
    if not found:
        where = f"in PG_BIN_DIR ({folder})" if folder else "on the PATH"
        raise CommandError(
            f"{name} was not found {where}: install PostgreSQL's client programs "
            "(Debian: apt install postgresql-client) of the server's major version, or set "
            "PG_BIN_DIR to the folder that holds them"
        )
    return found


def program_major(program: str) -> int:
    out = subprocess.run([program, "--version"], capture_output=True, text=True, check=False)
    match = re.search(r"(\d+)(?:\.(\d+))?", out.stdout)
    if out.returncode != 0 or not match:
        raise CommandError(f"{program} --version did not say its version: {out.stderr.strip()}")
    return int(match.group(1))


def pg_environment() -> dict[str, str]:
    """The connection Django uses, as libpq's variables (the password never on a command line)."""
    params = connection.settings_dict
    env = dict(os.environ)
    for key, value in (
        ("PGHOST", params.get("HOST")),
        ("PGPORT", params.get("PORT")),
        ("PGUSER", params.get("USER")),
        ("PGPASSWORD", params.get("PASSWORD")),
        ("PGDATABASE", params.get("NAME")),
        ("PGSSLMODE", (params.get("OPTIONS") or {}).get("sslmode")),
    ):
        if value:
            env[key] = str(value)
    return env


def _run_pg(command: list[str], what: str) -> None:
    out = subprocess.run(command, env=pg_environment(), capture_output=True, text=True)
    if out.returncode != 0:
        raise CommandError(f"{what} failed (exit {out.returncode}): {out.stderr.strip()[-2000:]}")


def _server_major() -> int:
    connection.ensure_connection()
    return connection.pg_version // 10000


# --- backup ----------------------------------------------------------------------------------


LOCKED_SECONDS = 120


def _give_up_after(seconds: float):
    """Python's backup retries a locked database forever: this ends it with a message. (In WAL
    mode, which Lealtad's connections use, a reader is not locked out by the writers.)"""
    deadline = time.monotonic() + seconds

    def progress(status, remaining, total):
        if status in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) and time.monotonic() > deadline:
            raise CommandError(f"the SQLite database stayed locked for {seconds} s: no backup")

    return progress


def _sqlite_copy(target: Path) -> dict:
    """SQLite's online backup API: the whole file in one step, one read transaction, so the copy
    is one moment of the database while other processes keep writing (WAL)."""
    connection.ensure_connection()
    copy = sqlite3.connect(target)
    try:
        connection.connection.backup(copy, progress=_give_up_after(LOCKED_SECONDS))
        tables = [
            row[0]
            for row in copy.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        counts = {
            t: copy.execute(f"SELECT count(*) FROM {_quote(t)}").fetchone()[0] for t in tables
        }
        rows = (
            copy.execute("SELECT app, name FROM django_migrations").fetchall()
            if ("django_migrations" in counts)
            else []
        )
    finally:
        copy.close()
    return {
        "sqlite_version": sqlite3.sqlite_version,
        "migrations": _migrations(rows),
        "row_counts": counts,
    }


def _pg_tables(cursor) -> list[tuple[str, str]]:
    cursor.execute(
        "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        f"WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN {SYSTEM_SCHEMAS} "
        "AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%' "
        "AND NOT c.relispartition ORDER BY 1, 2"
    )
    return cursor.fetchall()


def _pg_counts(cursor) -> tuple[dict[str, int], dict[str, list[str]]]:
    counts = {}
    for schema, table in _pg_tables(cursor):
        cursor.execute(f"SELECT count(*) FROM {_quote(schema)}.{_quote(table)}")
        counts[table if schema == "public" else f"{schema}.{table}"] = cursor.fetchone()[0]
    rows = []
    if "django_migrations" in counts:
        cursor.execute("SELECT app, name FROM django_migrations")
        rows = cursor.fetchall()
    return counts, _migrations(rows)


def _pg_copy(target: Path) -> dict:
    """pg_dump -Fc of the snapshot the row counts are taken in: the manifest and the dump agree
    while the server writes."""
    pg_dump = pg_program("pg_dump")
    dump_major, server_major = program_major(pg_dump), _server_major()
    if dump_major < server_major:
        raise CommandError(
            f"version mismatch: pg_dump is version {dump_major}, the server {server_major}; "
            f"pg_dump must be at least the server's version (install postgresql-client-"
            f"{server_major}, or set PG_BIN_DIR)"
        )
    # A connection of its own: the snapshot is one REPEATABLE READ transaction, whatever the
    # caller's connection is doing.
    from psycopg import IsolationLevel

    own = connection.get_new_connection(connection.get_connection_params())
    try:
        own.rollback()  # no transaction open, whatever making the connection ran
        own.isolation_level = IsolationLevel.REPEATABLE_READ
        own.read_only = True
        with own.cursor() as cursor:
            cursor.execute("SELECT pg_export_snapshot(), current_setting('server_version')")
            snapshot, server_version = cursor.fetchone()
            counts, migrations = _pg_counts(cursor)
            _run_pg([pg_dump, "-Fc", f"--snapshot={snapshot}", "-f", str(target)], "pg_dump")
    finally:
        own.close()
    return {
        "postgresql": {"server_version": server_version, "pg_dump_major": dump_major},
        "migrations": migrations,
        "row_counts": counts,
    }


def _media_files(root: Path):
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            yield path


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def backup_path(path: str) -> Path:
    target = Path(path)
    if target.is_dir():
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        target = target / f"lealtad-{stamp}.tar"
    if not target.parent.is_dir():
        raise CommandError(f"no such folder: {target.parent}")
    return target


def make_backup(path: str) -> tuple[Path, dict]:
    """Write the backup to PATH (a folder: a new lealtad-<UTC time>.tar in it); its manifest."""
    kind = engine()
    target = backup_path(path)
    with tempfile.TemporaryDirectory(prefix=".lealtad-backup-", dir=target.parent) as work:
        database = Path(work) / DATABASE_MEMBER[kind]
        created_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        details = _sqlite_copy(database) if kind == "sqlite" else _pg_copy(database)
        media = {name: list(_media_files(root)) for name, root in media_roots().items()}
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "lealtad_version": metadata.version("lealtad"),
            "engine": kind,
            "created_at": created_at,
            "database": {
                "member": database.name,
                "bytes": database.stat().st_size,
                "sha256": _sha256(database),
            },
            **details,
            "migration_heads": {app: names[-1] for app, names in details["migrations"].items()},
            "media": {
                name: {"files": len(files), "bytes": sum(_size(file) for file in files)}
                for name, files in media.items()
            },
        }
        partial = Path(work) / "backup.tar"
        with tarfile.open(partial, "w") as tar:
            tar.add(database, arcname=database.name, recursive=False)
            for name, files in media.items():
                root, kept = media_roots()[name], manifest["media"][name]
                for file in files:
                    try:
                        tar.add(file, arcname=f"{name}/{file.relative_to(root).as_posix()}")
                    except FileNotFoundError:  # deleted since it was listed: not in the backup
                        kept["files"] -= 1
            # Last, so that it counts what is in the tar (`tar -xOf X.tar manifest.json` reads it).
            data = json.dumps(manifest, indent=2, sort_keys=True).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mode = len(data), 0o600
            info.mtime = int(dt.datetime.now(dt.UTC).timestamp())
            tar.addfile(info, io.BytesIO(data))
        with open(partial, "rb") as file:
            os.fsync(file.fileno())
        os.replace(partial, target)
    return target, manifest


# --- restore ---------------------------------------------------------------------------------


def open_backup(path: str) -> tuple[tarfile.TarFile, dict]:
    source = Path(path)
    if not source.is_file():
        raise CommandError(f"no such backup file: {path}")
    try:
        tar = tarfile.open(source, "r:")  # noqa: SIM115 (closed by the caller)
    except (tarfile.TarError, OSError):
        raise CommandError(f"{path} is not a Lealtad backup (not a .tar file)") from None
    try:
        member = tar.getmember(MANIFEST)
        manifest = json.loads(tar.extractfile(member).read())
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise ValueError
    except (KeyError, ValueError, AttributeError, tarfile.TarError):
        tar.close()
        raise CommandError(
            f"{path} is not a Lealtad backup (no {MANIFEST} written by `lealtad backup`)"
        ) from None
    return tar, manifest


def check_manifest(manifest: dict, path: str) -> None:
    """Refuse what this code cannot restore, before anything is touched."""
    from django.db.migrations.loader import MigrationLoader

    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CommandError(
            f"version mismatch: {path} is a backup of format {version}, made by Lealtad "
            f"{manifest.get('lealtad_version')}; this Lealtad ({metadata.version('lealtad')}) "
            f"reads format {FORMAT_VERSION}: restore it with the version that made it"
        )
    kind, here = manifest.get("engine"), engine(connect=False)
    if kind != here:
        raise CommandError(
            f"{path} is a {ENGINE_NAMES.get(kind, kind)} backup, and DATABASE_URL names a "
            f"{ENGINE_NAMES[here]} database: restore it into {ENGINE_NAMES.get(kind, kind)}"
        )
    known = MigrationLoader(None, ignore_no_migrations=True).disk_migrations
    unknown = [
        f"{app}.{name}"
        for app, names in (manifest.get("migrations") or {}).items()
        for name in names
        if (app, name) not in known
    ]
    if unknown:
        shown = ", ".join(unknown[:5]) + (" …" if len(unknown) > 5 else "")
        raise CommandError(
            f"version mismatch: {path} was made by a newer Lealtad "
            f"({manifest.get('lealtad_version')}): it holds migrations this code does not have "
            f"({shown}); upgrade Lealtad, then restore"
        )
    if kind == "postgresql":
        made_with = (manifest.get("postgresql") or {}).get("pg_dump_major") or 0
        restore_major = program_major(pg_program("pg_restore"))
        if restore_major < made_with:
            raise CommandError(
                f"version mismatch: {path} was written by pg_dump {made_with}, and this "
                f"pg_restore is version {restore_major}, which cannot read it: install "
                f"postgresql-client-{made_with} (or set PG_BIN_DIR)"
            )


def extract_database(tar: tarfile.TarFile, manifest: dict, folder: Path, path: str) -> Path:
    kind = manifest["engine"]
    name = (manifest.get("database") or {}).get("member")
    if name != DATABASE_MEMBER[kind]:
        raise CommandError(f"{path} is not a Lealtad backup (its database member is {name!r})")
    try:
        member = tar.getmember(name)
        if not member.isfile():
            raise KeyError(name)
        target = folder / name
        with tar.extractfile(member) as source, open(target, "wb") as out:
            shutil.copyfileobj(source, out, 1 << 20)
    except (KeyError, tarfile.TarError, OSError):
        raise CommandError(f"{path} is damaged: its {name} cannot be read") from None
    if _sha256(target) != manifest["database"].get("sha256"):
        raise CommandError(f"{path} is damaged: {name} does not match the manifest's checksum")
    with open(target, "rb") as file:
        head = file.read(len(SQLITE_MAGIC))
    if not head.startswith(SQLITE_MAGIC if kind == "sqlite" else PGDUMP_MAGIC):
        raise CommandError(f"{path} is not a Lealtad backup: {name} is not a {kind} database")
    return target


def database_objects() -> int:
    """How many tables (and views, sequences) the target database holds: 0 is empty."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT count(*) FROM sqlite_master WHERE type IN ('table', 'view') "
                "AND name NOT LIKE 'sqlite_%'"
            )
        else:
            cursor.execute(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                f"WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') "
                f"AND n.nspname NOT IN {SYSTEM_SCHEMAS} AND n.nspname NOT LIKE 'pg_toast%' "
                "AND n.nspname NOT LIKE 'pg_temp%'"
            )
        return cursor.fetchone()[0]


def media_in_place() -> dict[str, int]:
    return {
        name: count
        for name, root in media_roots().items()
        if (count := sum(1 for _ in _media_files(root)))
    }


def _empty_postgresql() -> None:
    """--force on PostgreSQL: every schema of ours dropped with all it holds (extensions too),
    and an empty public schema, as in a new database."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname NOT IN "
            f"{SYSTEM_SCHEMAS} AND nspname NOT LIKE 'pg_toast%' AND nspname NOT LIKE 'pg_temp%'"
        )
        for (schema,) in cursor.fetchall():
            cursor.execute(f"DROP SCHEMA {_quote(schema)} CASCADE")
        cursor.execute("CREATE SCHEMA public")


def restore_database(dump: Path) -> None:
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        source = sqlite3.connect(dump)
        try:
            # Page by page into Django's own connection: the file, its WAL and every other
            # connection see the new content at once (a copied file would leave a stale -wal).
            source.backup(connection.connection)
        finally:
            source.close()
        return
    pg_restore = pg_program("pg_restore")
    connection.close()
    _run_pg(
        [
            pg_restore,
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            "-d",
            pg_environment()["PGDATABASE"],
            str(dump),
        ],
        "pg_restore",
    )


def restored_counts() -> dict[str, int]:
    connection.close()
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
            tables = [row[0] for row in cursor.fetchall()]
            counts = {}
            for table in tables:
                cursor.execute(f"SELECT count(*) FROM {_quote(table)}")
                counts[table] = cursor.fetchone()[0]
            return counts
    with connection.cursor() as cursor:
        return _pg_counts(cursor)[0]


def restore_media(tar: tarfile.TarFile, force: bool) -> dict[str, int]:
    roots = media_roots()
    restored = dict.fromkeys(roots, 0)
    if force:
        for root in roots.values():
            if root.is_dir():
                for child in root.iterdir():
                    if child.is_dir() and not child.is_symlink():
                        shutil.rmtree(child)
                    else:
                        child.unlink()
    for member in tar:
        name, _, rest = member.name.partition("/")
        if name not in roots or not rest or not member.isfile():
            continue
        roots[name].mkdir(parents=True, exist_ok=True)
        try:
            tar.extract(member.replace(name=rest, deep=False), roots[name], filter="data")
        except tarfile.FilterError as exc:
            raise CommandError(f"the backup holds a file that may not be restored: {exc}") from None
        restored[name] += 1
    return restored


def restore(path: str, force: bool = False) -> dict:
    """Restore the backup at PATH into DATABASE_URL and the media folders; what was restored."""
    tar, manifest = open_backup(path)
    with tar, tempfile.TemporaryDirectory(prefix="lealtad-restore-") as work:
        check_manifest(manifest, path)
        engine()  # the target answers
        dump = extract_database(tar, manifest, Path(work), path)
        objects, media = database_objects(), media_in_place()
        if (objects or media) and not force:
            held = [f"{objects} tables, views or sequences"] if objects else []
            held += [f"{count} files in {name}" for name, count in media.items()]
            raise CommandError(
                f"the target is not empty ({', '.join(held)}): restore into a new, empty "
                "database, or pass --force to replace everything in it with the backup"
            )
        if force and objects and connection.vendor == "postgresql":
            try:
                _empty_postgresql()
            except DatabaseError as exc:
                raise CommandError(
                    f"--force could not empty the database (restore as its owner): {exc}"
                ) from None
        try:
            restore_database(dump)
        except sqlite3.Error as exc:
            raise CommandError(f"the SQLite copy could not be written: {exc}") from None
        except CommandError as exc:
            emptied = (
                " (--force had emptied the database first: it is empty now)"
                if force and objects and connection.vendor == "postgresql"
                else ""
            )
            raise CommandError(f"{exc}{emptied}") from None
        counts = restored_counts()
        files = restore_media(tar, force)
    expected = manifest.get("row_counts") or {}
    differ = sorted(
        f"{table}: {expected.get(table)} in the backup, {counts.get(table)} restored"
        for table in set(expected) | set(counts)
        if expected.get(table) != counts.get(table)
    )
    if differ:
        raise CommandError("the restored rows differ from the manifest's: " + "; ".join(differ))
    short = [
        f"{name}: {files[name]} of {info['files']}"
        for name, info in (manifest.get("media") or {}).items()
        if files.get(name, 0) != info.get("files")
    ]
    if short:
        raise CommandError(
            "the backup's media files were not all restored (" + ", ".join(short) + ")"
        )
    return {"manifest": manifest, "rows": sum(counts.values()), "files": sum(files.values())}
