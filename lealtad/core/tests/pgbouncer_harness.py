"""A private PgBouncer (Debian's) in transaction pooling mode in front of a PostgreSQL server, for
the tests of issue 17 (test_pgbouncer.py) and whoever else needs one. As root it runs as
`postgres` (PgBouncer refuses to run as root). Stopped by its pid (from its own pidfile), never
by name."""

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

PGBOUNCER = shutil.which("pgbouncer") or (
    "/usr/sbin/pgbouncer" if Path("/usr/sbin/pgbouncer").exists() else None
)


class Bouncer:
    """`pgbouncer` on 127.0.0.1:`port`, every database name passed on to `host`:`upstream_port`
    (auth_type trust), `pool_size` server connections per database and user."""

    def __init__(
        self,
        port: int,
        upstream_host: str = "127.0.0.1",
        upstream_port: int = 5432,
        user: str = "postgres",
        pool_size: int = 2,
        max_client_conn: int = 60,
    ):
        self.port, self.user, self.pool_size = port, user, pool_size
        self.home = Path(tempfile.mkdtemp(prefix="lealtad-pgbouncer-"))
        self.ini = self.home / "pgbouncer.ini"
        self.log = self.home / "pgbouncer.log"
        self.pidfile = self.home / "pgbouncer.pid"
        self.as_root = os.geteuid() == 0
        (self.home / "userlist.txt").write_text(f'"{user}" ""\n')
        self.ini.write_text(
            "\n".join(
                [
                    "[databases]",
                    f"* = host={upstream_host} port={upstream_port}",
                    "[pgbouncer]",
                    "listen_addr = 127.0.0.1",
                    f"listen_port = {port}",
                    f"unix_socket_dir = {self.home}",
                    "auth_type = trust",
                    f"auth_file = {self.home / 'userlist.txt'}",
                    f"admin_users = {user}",
                    "pool_mode = transaction",
                    f"default_pool_size = {pool_size}",
                    "min_pool_size = 0",
                    "reserve_pool_size = 0",
                    f"max_db_connections = {pool_size}",
                    f"max_client_conn = {max_client_conn}",
                    # What Debian's example sets: the one startup parameter libpq-based drivers
                    # may send that PgBouncer does not track.
                    "ignore_startup_parameters = extra_float_digits",
                    f"logfile = {self.log}",
                    f"pidfile = {self.pidfile}",
                    "",
                ]
            )
        )
        if self.as_root:
            account = pwd.getpwnam("postgres")
            for path in (self.home, *self.home.iterdir()):
                os.chown(path, account.pw_uid, account.pw_gid)
        self.proc = None

    def dsn(self, database: str) -> str:
        return f"postgres://{self.user}@127.0.0.1:{self.port}/{database}"

    def start(self, timeout: float = 20):
        from lealtad.core.tests.crash_harness import port_is_free

        if not port_is_free(self.port):
            raise RuntimeError(f"port {self.port} is taken")
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_root else []
        self.proc = subprocess.Popen(
            [*prefix, PGBOUNCER, str(self.ini)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"pgbouncer exited {self.proc.returncode}: {self._log_tail()}")
            try:
                with self.admin():
                    return self
            except psycopg.OperationalError:
                time.sleep(0.05)
        raise RuntimeError(f"pgbouncer did not come up in {timeout} s: {self._log_tail()}")

    def _log_tail(self) -> str:
        try:
            return self.log.read_text()[-2000:]
        except OSError:
            return "(no log)"

    def admin(self):
        """The admin console (database `pgbouncer`; the simple query protocol only), through
        this PgBouncer's own socket directory: never another one on the same port."""
        return psycopg.connect(
            host=str(self.home),
            port=self.port,
            user=self.user,
            dbname="pgbouncer",
            autocommit=True,
            cursor_factory=psycopg.ClientCursor,
        )

    def show(self, what: str, database: str | None = None) -> list[dict]:
        """`SHOW <what>` as dicts, only `database`'s rows when given."""
        with self.admin() as admin, admin.cursor() as cursor:
            cursor.execute(f"SHOW {what}")
            names = [column.name for column in cursor.description]
            rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        return [row for row in rows if database is None or row.get("database") == database]

    def _children(self) -> list[int]:
        pid = self.proc.pid
        try:
            return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        except OSError:
            return []

    @classmethod
    def started(cls, ports, **options) -> "Bouncer":
        """The first of `ports` a PgBouncer could listen on (tests in parallel take the next)."""
        errors = []
        for port in ports:
            bouncer = cls(port, **options)
            try:
                return bouncer.start()
            except RuntimeError as error:
                bouncer.stop()
                errors.append(f"{port}: {error}")
        raise RuntimeError("no port for pgbouncer: " + "; ".join(errors))

    def stop(self):
        """SIGTERM to PgBouncer itself (under runuser, the child of our child) and to our child,
        then SIGKILL whatever is left; the directory is removed."""
        if self.proc is None:
            shutil.rmtree(self.home, ignore_errors=True)
            return
        # Only PgBouncer: runuser, signalled, waits 2 s before it kills its child; it exits
        # as soon as its child does.
        pids = self._children() if self.as_root else []
        pids = pids or [self.proc.pid]
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            for pid in {*pids, self.proc.pid}:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None
        shutil.rmtree(self.home, ignore_errors=True)
