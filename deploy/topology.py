#!/usr/bin/env python3
"""The multi-node test topology of issue 17, on one machine, from standard parts:

    HAProxy (:8800, stats :8809) ─┬─ lealtad serve --no-worker (:8801) ─┐
                                  └─ lealtad serve --no-worker (:8802) ─┤
    lealtad worker × W ─────────────────────────────────────────────────┤
                     PgBouncer (:6432, transaction pooling) → PostgreSQL primary (:5434)
                     PostgreSQL streaming replica (:5433, pg_basebackup -R) ← WAL ─┘
                     Redis (:6380, the shared cache: tokens, flags, rate limits)

    .venv/bin/python deploy/topology.py up --dir DIR [--nodes 2] [--workers 2] [--lb-port 8800]
        [--node-port 8801] [--pgbouncer-port 6432] [--redis-port 6380] [--primary-port 5434]
        [--replica-port 5433] [--web-workers 2] [--email-url URL] [--env NAME=VALUE]…
        [--no-demo] [--no-fsync]
    .venv/bin/python deploy/topology.py down --dir DIR
    .venv/bin/python deploy/topology.py status --dir DIR
    .venv/bin/python deploy/topology.py start-node --dir DIR --index 1

`up` starts each part and waits until it is healthy, prints ONE JSON object on stdout (the URLs,
DSNs and pids; also written to DIR/topology.json) and returns, leaving everything running. `down`
stops whatever `up` started, from the pid files in DIR/pids (so also after a half-failed `up`).
Logs: DIR/logs/*.log. Only the standard library and psycopg (the project's virtualenv).

As root, PostgreSQL and PgBouncer (which both refuse root) run as the `postgres` account.
"""

import argparse
import contextlib
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LEALTAD = [sys.executable, "-m", "lealtad.cli"]
AS_ROOT = os.geteuid() == 0


class TopologyError(RuntimeError):
    pass


# ----------------------------------------------------------------------------- processes


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL's binaries (Debian's layout), or None."""

    def version(path: Path) -> int:
        try:
            return int(path.parent.parent.name)
        except ValueError:
            return 0

    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=version)
    return found[-1].parent if found else None


def missing_binaries() -> list[str]:
    """What this machine lacks to run the topology (empty: everything is there)."""
    missing = [name for name in ("haproxy", "pgbouncer", "redis-server") if not _which(name)]
    if postgres_bin() is None:
        missing.append("PostgreSQL server (/usr/lib/postgresql/*/bin)")
    return missing


def _which(name: str) -> str | None:
    return shutil.which(name) or next(
        (str(p) for p in (Path("/usr/sbin") / name, Path("/sbin") / name) if p.exists()), None
    )


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is dead for every purpose here
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _postgres_ids() -> tuple[int, int]:
    account = pwd.getpwnam("postgres")
    return account.pw_uid, account.pw_gid


def run_as_postgres(*command, timeout=180, env=None) -> subprocess.CompletedProcess:
    prefix = ["runuser", "-u", "postgres", "--"] if AS_ROOT else []
    done = subprocess.run(
        [*prefix, *map(str, command)], timeout=timeout, capture_output=True, text=True, env=env
    )
    if done.returncode:
        raise TopologyError(f"{' '.join(map(str, command))} failed:\n{done.stdout}{done.stderr}")
    return done


class Topology:
    """The directory DIR and what lives in it: pids/, logs/, pg/, media/, state.json."""

    def __init__(self, directory: Path):
        self.dir = directory.resolve()
        self.pids = self.dir / "pids"
        self.logs = self.dir / "logs"
        self.state_file = self.dir / "state.json"

    # Every long-running part is a process of its own session (its own process group), started
    # here, its pid in pids/NAME.pid; `down` signals that group, so a gunicorn master goes with
    # its workers and nothing else on the machine is touched.
    def spawn(self, name: str, argv: list, env: dict | None = None, as_postgres=False) -> int:
        self.pids.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(parents=True, exist_ok=True)
        log = (self.logs / f"{name}.log").open("ab")
        extra = {}
        if as_postgres and AS_ROOT:
            uid, gid = _postgres_ids()
            extra = {"user": uid, "group": gid, "extra_groups": []}
        proc = subprocess.Popen(
            [str(a) for a in argv],
            env=env,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
            **extra,
        )
        log.close()
        (self.pids / f"{name}.pid").write_text(str(proc.pid))
        return proc.pid

    def pid(self, name: str) -> int | None:
        try:
            return int((self.pids / f"{name}.pid").read_text())
        except (OSError, ValueError):
            return None

    def stop(self, name: str, grace: float = 5.0):
        """SIGTERM to the process group of pids/NAME.pid, SIGKILL after `grace` seconds."""
        pid = self.pid(name)
        if pid is None:
            return
        if alive(pid):
            _signal(pid, signal.SIGTERM)
            deadline = time.monotonic() + grace
            while alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            _signal(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)
        (self.pids / f"{name}.pid").unlink(missing_ok=True)

    def stop_all(self, names: list[str], grace: float = 4.0):
        """`stop` for several at once: SIGTERM to all, SIGKILL to those left after `grace`."""
        pids = {name: self.pid(name) for name in names}
        for pid in pids.values():
            if pid is not None and alive(pid):
                _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(
            pid is not None and alive(pid) for pid in pids.values()
        ):
            time.sleep(0.05)
        for name in names:
            self.stop(name, grace=0)

    def save_state(self, state: dict):
        self.state_file.write_text(json.dumps(state, indent=2))

    def state(self) -> dict:
        try:
            return json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return {}


def _signal(pid: int, sig: int):
    """To the process group `pid` leads (the process and its children), else to `pid` alone."""
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
    except PermissionError:
        pass


def wait_for(what: str, check, timeout: float, pid: int | None = None, log: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if pid is not None and not alive(pid):
            raise TopologyError(f"{what} exited before it was healthy (log: {log})")
        time.sleep(0.1)
    raise TopologyError(f"{what} not healthy after {timeout:.0f} s (log: {log})")


def http_ok(url: str, timeout=2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:
            return reply.status == 200
    except (OSError, urllib.error.HTTPError):
        return False


def pg_answers(dsn: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(dsn, connect_timeout=2, autocommit=True) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def redis_pong(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


# ----------------------------------------------------------------------------- the parts


def pg_ctl(data: Path, log: Path, *args, timeout=120):
    return run_as_postgres(
        postgres_bin() / "pg_ctl", "-D", data, "-l", log, "-w", "-t", "90", *args, timeout=timeout
    )


def start_primary(top: Topology, port: int, fsync: bool) -> dict:
    home = top.dir / "pg"
    data = home / "primary"
    home.mkdir(parents=True, exist_ok=True)
    if AS_ROOT:
        uid, gid = _postgres_ids()
        os.chown(home, uid, gid)
    run_as_postgres(
        postgres_bin() / "initdb",
        *("-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale"),
    )
    durability = "on" if fsync else "off"
    with open(data / "postgresql.conf", "a") as conf:
        conf.write(
            "\n# deploy/topology.py\n"
            f"listen_addresses = '127.0.0.1'\nport = {port}\n"
            f"unix_socket_directories = '{home}'\n"
            "max_connections = 200\nwal_level = replica\nmax_wal_senders = 5\n"
            "wal_keep_size = '256MB'\nhot_standby = on\n"
            f"fsync = {durability}\nsynchronous_commit = {durability}\n"
            f"full_page_writes = {durability}\n"
        )
    with open(data / "pg_hba.conf", "a") as hba:
        hba.write("host replication postgres 127.0.0.1/32 trust\n")
    pg_ctl(data, top.logs / "primary.log", "start")
    (top.pids / "primary.pid").write_text((data / "postmaster.pid").read_text().split()[0])
    admin = f"postgres://postgres@127.0.0.1:{port}/postgres"
    import psycopg

    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("CREATE DATABASE lealtad")
    return {"data": str(data), "dsn": f"postgres://postgres@127.0.0.1:{port}/lealtad"}


def start_replica(top: Topology, primary_port: int, port: int) -> dict:
    home = top.dir / "pg"
    data = home / "replica"
    # -R writes standby.signal and primary_conninfo; -X stream copies the WAL made meanwhile.
    run_as_postgres(
        postgres_bin() / "pg_basebackup",
        *("-h", "127.0.0.1", "-p", primary_port, "-U", "postgres", "-D", data),
        *("-R", "-X", "stream", "-c", "fast"),
    )
    with open(data / "postgresql.conf", "a") as conf:  # later lines win
        conf.write(f"\n# the replica\nport = {port}\nhot_standby = on\nhot_standby_feedback = on\n")
    pg_ctl(data, top.logs / "replica.log", "start")
    (top.pids / "replica.pid").write_text((data / "postmaster.pid").read_text().split()[0])

    import psycopg

    admin = f"postgres://postgres@127.0.0.1:{primary_port}/postgres"

    def streaming():
        with psycopg.connect(admin, autocommit=True) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'"
            ).fetchone()
        return row[0] >= 1

    wait_for("replica streaming", streaming, 30, log=top.logs / "replica.log")
    return {"data": str(data), "dsn": f"postgres://postgres@127.0.0.1:{port}/lealtad"}


def start_pgbouncer(top: Topology, port: int, primary_port: int) -> str:
    home = top.dir / "pgbouncer"
    home.mkdir(parents=True, exist_ok=True)
    (home / "userlist.txt").write_text('"postgres" ""\n')
    # Transaction pooling: a server connection is the client's for one transaction only, so the
    # app keeps no session state on it (DB_TRANSACTION_POOLING=true) and, PgBouncer 1.18 being
    # older than 1.21, sends no prepared statement (which that setting implies). The production
    # example with its sizes explained: deploy/pgbouncer.ini.
    (home / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"lealtad = host=127.0.0.1 port={primary_port} dbname=lealtad\n"
        f"postgres = host=127.0.0.1 port={primary_port} dbname=postgres\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {home / 'userlist.txt'}\n"
        "pool_mode = transaction\nmax_client_conn = 1000\ndefault_pool_size = 40\n"
        "max_db_connections = 80\nserver_reset_query =\n"
        "ignore_startup_parameters = extra_float_digits,options\n"
        "admin_users = postgres\nstats_users = postgres\n"
    )
    if AS_ROOT:
        uid, gid = _postgres_ids()
        for path in (home, *home.iterdir()):
            os.chown(path, uid, gid)
    pid = top.spawn("pgbouncer", [_which("pgbouncer"), home / "pgbouncer.ini"], as_postgres=True)
    dsn = f"postgres://postgres@127.0.0.1:{port}/lealtad"
    wait_for("pgbouncer", lambda: pg_answers(dsn), 20, pid, top.logs / "pgbouncer.log")
    return dsn


def start_redis(top: Topology, port: int) -> str:
    home = top.dir / "redis"
    home.mkdir(parents=True, exist_ok=True)
    argv = [_which("redis-server"), "--port", port, "--bind", "127.0.0.1", "--save", ""]
    argv += ["--appendonly", "no", "--daemonize", "no", "--dir", home]
    pid = top.spawn("redis", argv)
    wait_for("redis", lambda: redis_pong(port), 20, pid, top.logs / "redis.log")
    return f"redis://127.0.0.1:{port}/0"


def start_node(top: Topology, index: int) -> int:
    state = top.state()
    port = state["node_ports"][index - 1]
    if not port_is_free(port):
        raise TopologyError(f"port {port} of node{index} is taken")
    argv = [*LEALTAD, "serve", "--host", "127.0.0.1", "--port", port]
    argv += ["--workers", state["web_workers"], "--no-worker", "--no-collectstatic"]
    pid = top.spawn(f"node{index}", argv, env=state["env"])
    wait_for(
        f"node{index}",
        lambda: http_ok(f"http://127.0.0.1:{port}/healthz"),
        90,
        pid,
        top.logs / f"node{index}.log",
    )
    return pid


def start_worker(top: Topology, index: int) -> int:
    pid = top.spawn(f"worker{index}", [*LEALTAD, "worker"], env=top.state()["env"])
    time.sleep(0.2)
    if not alive(pid):
        raise TopologyError(f"worker{index} exited at once (log: {top.logs}/worker{index}.log)")
    return pid


HAPROXY_CFG = """\
# deploy/topology.py's load balancer (a production example with TLS: deploy/haproxy.cfg)
global
    maxconn 2000
    stats socket {dir}/haproxy.sock mode 600 level admin

defaults
    mode http
    option forwardfor
    timeout connect 1s
    timeout client 60s
    timeout server 60s
    timeout http-request 10s

frontend lealtad
    bind 127.0.0.1:{lb_port}
    http-request set-header X-Forwarded-Proto http
    default_backend nodes

backend nodes
    balance roundrobin
    # A node is in rotation while GET /healthz answers 200 (its database answers too): checked
    # every 300 ms, out after 2 failures and back after 2 successes, so a dead node (refused
    # connections) leaves within about a second. A check may take up to 2 s: a busy node's
    # /healthz waits for a free gunicorn worker, and must not be taken for a dead one.
    option httpchk GET /healthz
    http-check expect status 200
    timeout check 2s
    # At most `maxconn` requests in flight per node (its gunicorn workers, and as many
    # waiting); the rest wait here, where a node going down sends them to the other.
    timeout queue 30s
    default-server check inter 300ms fastinter 200ms downinter 500ms fall 2 rise 2 maxconn {maxconn}
    # A connection refused to real traffic takes the node out at once, before its next check.
    default-server observe layer4 error-limit 1 on-error mark-down
    # Retries, to another node (redispatch), only of what is safe to send twice:
    # - conn-failure: the connection to the node failed, so it never saw the request: always
    #   safe, whatever the method;
    # - empty-response / junk-response / response-timeout: the node may have done the work and
    #   died before answering (or half-way through the answer). Sending it again is safe for
    #   GET/HEAD (they change nothing) and for a POST with an Idempotency-Key: the key's stored
    #   response is written in the same transaction as the effect, so a retry either finds it
    #   (and replays it) or finds nothing done (and does it once). Every other request (a POST
    #   without a key, a form) is not retried at layer 7: `disable-l7-retry` leaves it only the
    #   connection-failure retry, and its client sees the error rather than a doubled movement.
    retry-on conn-failure empty-response junk-response response-timeout
    retries 3
    option redispatch 1
    acl safe_method method GET HEAD OPTIONS
    acl has_idempotency_key req.hdr(Idempotency-Key) -m found
    http-request disable-l7-retry unless safe_method || has_idempotency_key
{servers}

listen stats
    bind 127.0.0.1:{stats_port}
    stats enable
    stats uri /
    stats refresh 5s
"""


def start_haproxy(top: Topology, lb_port: int, stats_port: int, node_ports: list[int]) -> int:
    servers = "\n".join(
        f"    server node{i} 127.0.0.1:{port}" for i, port in enumerate(node_ports, 1)
    )
    cfg = top.dir / "haproxy.cfg"
    cfg.write_text(
        HAPROXY_CFG.format(
            dir=top.dir,
            lb_port=lb_port,
            stats_port=stats_port,
            servers=servers,
            maxconn=2 * int(top.state()["web_workers"]),
        )
    )
    check = subprocess.run(
        [_which("haproxy"), "-c", "-q", "-f", cfg], capture_output=True, text=True
    )
    if check.returncode:
        raise TopologyError(f"haproxy.cfg refused: {check.stdout}{check.stderr}")
    pid = top.spawn("haproxy", [_which("haproxy"), "-db", "-f", cfg])
    stats = f"http://127.0.0.1:{stats_port}/"

    def all_up():
        rows = haproxy_servers(stats)
        return len(rows) == len(node_ports) and all(r == "UP" for r in rows.values())

    wait_for("haproxy (every node UP)", all_up, 20, pid, top.logs / "haproxy.log")
    return pid


def haproxy_stats(stats_url: str) -> list[dict]:
    """HAProxy's stats page as CSV rows (pxname, svname, status, stot, …)."""
    try:
        with urllib.request.urlopen(stats_url.rstrip("/") + "/;csv", timeout=2) as reply:
            text = reply.read().decode()
    except (OSError, urllib.error.HTTPError):
        return []
    lines = text.lstrip("# ").splitlines()
    header = lines[0].split(",")
    return [dict(zip(header, line.split(","), strict=False)) for line in lines[1:] if line]


def haproxy_servers(stats_url: str) -> dict[str, str]:
    """{server name: status} of the `nodes` backend (UP, DOWN, "UP 1/2", …)."""
    return {
        row["svname"]: row["status"]
        for row in haproxy_stats(stats_url)
        if row.get("pxname") == "nodes" and row.get("svname") not in ("FRONTEND", "BACKEND")
    }


# ----------------------------------------------------------------------------- commands


def lealtad_start(env: dict, commands: list[list]) -> list[subprocess.Popen]:
    """`lealtad` commands started side by side (lealtad_wait collects them)."""
    return [
        subprocess.Popen(
            [*LEALTAD, *map(str, args)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args in commands
    ]


def lealtad_wait(procs: list[subprocess.Popen], timeout=600) -> list[str]:
    """Their outputs, in order; a failure raises naming the command."""
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=timeout)
        if proc.returncode:
            raise TopologyError(f"{' '.join(proc.args[3:])} failed:\n{out}\n{err}")
        outputs.append(out)
    return outputs


def lealtad_run(env: dict, commands: list[list], timeout=600) -> list[str]:
    """`lealtad` commands side by side; their outputs (a failure raises)."""
    return lealtad_wait(lealtad_start(env, commands), timeout)


def node_env(args, directory: Path, secret: str) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "PG", "PYTEST", "DJANGO_SETTINGS"))
    }
    env.update(
        {
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{args.pgbouncer_port}/lealtad",
            "DATABASE_REPLICA_URL": f"postgres://postgres@127.0.0.1:{args.replica_port}/lealtad",
            "CACHE_URL": f"redis://127.0.0.1:{args.redis_port}/0",
            # PgBouncer in transaction mode: no session state, no server-side cursors, and (1.18
            # carries none) no prepared statements: DB_TRANSACTION_POOLING turns them off.
            "DB_TRANSACTION_POOLING": "true",
            # Empty means the default (the replica router's own settings).
            "REPLICA_PIN_SECONDS": os.environ.get("REPLICA_PIN_SECONDS", ""),
            "REPLICA_MAX_LAG_SECONDS": os.environ.get("REPLICA_MAX_LAG_SECONDS", ""),
            # Uploads on one path every node shares (here a folder; across machines NFS or
            # similar), served by the nodes themselves.
            "MEDIA_ROOT": str(directory / "media"),
            "PRIVATE_MEDIA_ROOT": str(directory / "private"),
            "STATIC_ROOT": str(directory / "static"),
            "SERVE_MEDIA": "true",
            "DEBUG": "false",
            "SECRET_KEY": secret,
            # Plain HTTP on loopback: no TLS anywhere in the test topology.
            "SECURE_SSL_REDIRECT": "false",
            "SECURE_COOKIES": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "TRUSTED_PROXIES": "127.0.0.1",
            "EMAIL_URL": args.email_url,
            "SITE_URL": f"http://127.0.0.1:{args.lb_port}",
            # A load test sends thousands of requests a minute with one POS key.
            "API_RATE_LIMIT": "0",
        }
    )
    for item in args.env or []:
        name, _, value = item.partition("=")
        env[name] = value
    return env


def up(args) -> dict:
    missing = missing_binaries()
    if missing:
        raise TopologyError(f"missing: {', '.join(missing)}")
    directory = Path(args.dir).resolve()
    top = Topology(directory)
    if top.pids.exists() and any(top.pids.iterdir()):
        raise TopologyError(f"{directory} holds a running topology: `down --dir {directory}` first")
    node_ports = [args.node_port + i for i in range(args.nodes)]
    ports = [args.lb_port, args.lb_port + 9, args.pgbouncer_port, args.redis_port]
    ports += [args.primary_port, args.replica_port, *node_ports]
    taken = [p for p in ports if not port_is_free(p)]
    if taken:
        raise TopologyError(f"ports already taken: {taken}")
    # What an earlier run left (its processes are gone: no pid files) is not reused.
    for sub in ("pg", "pgbouncer", "redis", "media", "private", "logs"):
        shutil.rmtree(directory / sub, ignore_errors=True)
    for name in ("topology.json", "state.json", "haproxy.cfg"):
        (directory / name).unlink(missing_ok=True)
    for sub in ("media", "private", "static"):
        (directory / sub).mkdir(parents=True, exist_ok=True)
    directory.chmod(0o755)  # PostgreSQL and PgBouncer (the postgres account) live under it
    top.pids.mkdir(exist_ok=True)
    top.logs.mkdir(exist_ok=True)
    if AS_ROOT:
        uid, gid = _postgres_ids()
        os.chown(top.logs, uid, gid)
    secret = secrets.token_urlsafe(50)
    env = node_env(args, directory, secret)
    top.save_state(
        {"env": env, "node_ports": node_ports, "web_workers": args.web_workers, "args": vars(args)}
    )
    times = {}
    began = time.monotonic()

    def mark(name):
        times[name] = round(time.monotonic() - began, 1)

    primary = start_primary(top, args.primary_port, fsync=not args.no_fsync)
    mark("primary")
    # Schema and data go straight to the primary (DDL and the demo's bulk work need no pool);
    # collectstatic needs no database. Both run while the replica is cloned: the base backup
    # streams the WAL made meanwhile (-X stream), and the rest arrives by streaming replication.
    setup = {**env, "DATABASE_URL": primary["dsn"]}
    setup.pop("DATABASE_REPLICA_URL")
    background = lealtad_start(
        setup, [["migrate", "--no-input", "-v", "0"], ["collectstatic", "--no-input"]]
    )
    try:
        replica = start_replica(top, args.primary_port, args.replica_port)
        mark("replica")
        pgbouncer = start_pgbouncer(top, args.pgbouncer_port, args.primary_port)
        redis = start_redis(top, args.redis_port)
        mark("pgbouncer+redis")
        lealtad_wait(background)
        mark("migrate")
        # The demo's data is loaded while the nodes start; `up` returns once it is in.
        background = [] if args.no_demo else lealtad_start(setup, [["demo"]])
        info = _up_rest(args, top, env, node_ports, mark)
        if background:
            (top.dir / "demo.txt").write_text(lealtad_wait(background)[0])  # its logins
            mark("demo")
    finally:
        for proc in background:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    info.update(
        pgbouncer=pgbouncer,
        primary=primary["dsn"],
        replica=replica["dsn"],
        redis=redis,
        seconds=times,
    )
    info["pids"] = {
        "primary": top.pid("primary"),
        "replica": top.pid("replica"),
        "pgbouncer": top.pid("pgbouncer"),
        "redis": top.pid("redis"),
        **info["pids"],
    }
    (directory / "topology.json").write_text(json.dumps(info, indent=2))
    return info


def _up_rest(args, top, env, node_ports, mark) -> dict:
    """The nodes, the workers and HAProxy."""
    pids = {}
    # The nodes start side by side (each waits for its own /healthz).
    procs = []
    for i in range(1, args.nodes + 1):
        port = node_ports[i - 1]
        argv = [*LEALTAD, "serve", "--host", "127.0.0.1", "--port", port]
        argv += ["--workers", args.web_workers, "--no-worker", "--no-collectstatic"]
        procs.append((i, port, top.spawn(f"node{i}", argv, env=env)))
    for i, port, pid in procs:
        wait_for(
            f"node{i}",
            lambda port=port: http_ok(f"http://127.0.0.1:{port}/healthz"),
            90,
            pid,
            top.logs / f"node{i}.log",
        )
        pids[f"node{i}"] = pid
    mark("nodes")
    for i in range(1, args.workers + 1):
        pids[f"worker{i}"] = start_worker(top, i)
    pids["haproxy"] = start_haproxy(top, args.lb_port, args.lb_port + 9, node_ports)
    mark("haproxy")
    return {
        "lb": f"http://127.0.0.1:{args.lb_port}",
        "stats": f"http://127.0.0.1:{args.lb_port + 9}/",
        "nodes": [f"http://127.0.0.1:{port}" for port in node_ports],
        "dir": str(top.dir),
        "pids": pids,
    }


def down(directory: Path):
    top = Topology(directory)
    # Everything but PostgreSQL at once (SIGTERM, then SIGKILL after 4 s), then the replica and
    # the primary (pg_ctl stop -m immediate: the next `up` starts from a new cluster anyway).
    names = [p.stem for p in top.pids.glob("*.pid")] if top.pids.exists() else []
    top.stop_all([name for name in names if name not in ("primary", "replica")])
    for name in ("replica", "primary"):
        data = top.dir / "pg" / name
        if (data / "postmaster.pid").exists():
            with contextlib.suppress(TopologyError, subprocess.SubprocessError):
                pg_ctl(data, top.logs / f"{name}.log", "stop", "-m", "immediate", timeout=60)
        top.stop(name, grace=1.0)  # whatever pg_ctl could not stop


def status(directory: Path) -> dict:
    top = Topology(directory)
    pids = {p.stem: int(p.read_text()) for p in top.pids.glob("*.pid")} if top.pids.exists() else {}
    info = {"alive": {name: alive(pid) for name, pid in sorted(pids.items())}}
    try:
        topology = json.loads((top.dir / "topology.json").read_text())
    except (OSError, ValueError):
        topology = {}
    if topology.get("stats"):
        info["haproxy"] = haproxy_servers(topology["stats"])
    return info


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_up = sub.add_parser("up", help="start everything, print the topology as JSON")
    p_up.add_argument("--dir", required=True)
    p_up.add_argument("--nodes", type=int, default=2)
    p_up.add_argument("--workers", type=int, default=2, help="`lealtad worker` processes")
    p_up.add_argument("--web-workers", type=int, default=2, help="gunicorn workers per node")
    p_up.add_argument("--lb-port", type=int, default=8800, help="HAProxy; its stats on +9")
    p_up.add_argument("--node-port", type=int, default=8801, help="the first node's port")
    p_up.add_argument("--pgbouncer-port", type=int, default=6432)
    p_up.add_argument("--redis-port", type=int, default=6380)
    p_up.add_argument("--primary-port", type=int, default=5434)
    p_up.add_argument("--replica-port", type=int, default=5433)
    p_up.add_argument("--email-url", default="console://", help="EMAIL_URL of nodes and workers")
    p_up.add_argument("--env", action="append", metavar="NAME=VALUE", help="more environment")
    p_up.add_argument("--no-demo", action="store_true", help="skip `lealtad demo`")
    p_up.add_argument(
        "--no-fsync", action="store_true", help="PostgreSQL without fsync (tests only)"
    )
    for name in ("down", "status", "start-node"):
        p = sub.add_parser(name)
        p.add_argument("--dir", required=True)
        if name == "start-node":
            p.add_argument("--index", type=int, required=True, help="1 for node1, …")
    args = parser.parse_args(argv)
    directory = Path(args.dir)
    try:
        if args.command == "up":
            try:
                info = up(args)
            except BaseException:
                down(directory)
                raise
            print(json.dumps(info))
        elif args.command == "down":
            down(directory)
        elif args.command == "status":
            print(json.dumps(status(directory)))
        else:
            print(json.dumps({"pid": start_node(Topology(directory), args.index)}))
    except TopologyError as exc:
        print(f"topology: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
