import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import subprocess
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from lealtad.core.env import BadSetting, env, env_int

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent(parent_pid: int) -> None:
    """Ask Linux to send this process SIGTERM when its parent dies, then check the parent did
    not die before the request (in that case we were already handed to init).

    Without it a `kill -9` of gunicorn's master left its workers serving, holding the port, and
    never replaced. Elsewhere than Linux this does nothing; there the master's own shutdown is all.
    """
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent_pid:
        os.kill(os.getpid(), signal.SIGTERM)


def post_fork(server, worker):
    die_with_parent(server.pid)


def _from_env(options) -> dict:
    """Options not given on the command line come from the environment (empty = the default)."""
    defaults = {
        "host": lambda: env("HOST", "127.0.0.1"),
        "port": lambda: env_int("PORT", 8000, minimum=1),
        "workers": lambda: env_int("WEB_WORKERS", 0, minimum=0) or None,
        "threads": lambda: env_int("WEB_THREADS", 1, minimum=1),
        "timeout": lambda: env_int("WEB_TIMEOUT", 300, minimum=1),
    }
    try:
        return {
            name: options[name] if options[name] is not None else read()
            for name, read in defaults.items()
        }
    except BadSetting as exc:
        raise CommandError(str(exc)) from None


class Command(BaseCommand):
    help = "Serve Lealtad with gunicorn, a production-grade WSGI server."

    def add_arguments(self, parser):
        parser.add_argument("--host", help="bind address (HOST, default 127.0.0.1)")
        parser.add_argument("--port", type=int, help="port (PORT, default 8000)")
        parser.add_argument(
            "--workers",
            type=int,
            help="worker processes (WEB_WORKERS, default: 2 × CPU cores + 1)",
        )
        parser.add_argument("--threads", type=int, help="threads per worker (WEB_THREADS, 1)")
        # A sync worker busy longer than this is killed, and a streamed CSV export is one long
        # request (about 35,000 rows/s): 300 s lets ten million rows through; with --threads > 1
        # (gthread) the worker keeps signalling while it streams.
        parser.add_argument("--timeout", type=int, help="seconds per request (WEB_TIMEOUT, 300)")
        parser.add_argument(
            "--no-worker",
            "--no-mail",  # its name before the task engine (M2), kept as an alias
            dest="no_worker",
            action="store_true",
            help="do not start a task worker beside the server (it sends the e-mails and runs "
            "the periodic jobs; run `lealtad worker` yourself, on any machine, as many as needed)",
        )
        parser.add_argument(
            "--no-collectstatic",
            action="store_true",
            help="do not collect static files before serving (they were collected at build time)",
        )

    def handle(self, *args, **options):
        from gunicorn.app.base import BaseApplication

        options.update(_from_env(options))
        if not options["no_collectstatic"]:
            # With DEBUG off every page names its CSS and scripts through the manifest that
            # collectstatic writes: without it each HTML page was a 500. It runs before the
            # application is built, because WhiteNoise lists STATIC_ROOT when it starts.
            call_command("collectstatic", interactive=False, verbosity=0)
        from lealtad.wsgi import application

        workers = options["workers"] or multiprocessing.cpu_count() * 2 + 1
        if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
            # SQLite takes one writer at a time; more processes only queue on its lock.
            workers = min(workers, 2)
        config = {
            "bind": f"{options['host']}:{options['port']}",
            "workers": workers,
            "threads": options["threads"],
            "timeout": options["timeout"],
            "accesslog": None,  # our own middleware logs one line per request
            "errorlog": "-",
            "loglevel": "warning",
            "preload_app": True,
            # No reuse_port: gunicorn then gives each worker a socket of its own and the kernel
            # hands new connections to a busy worker's socket too, where they wait behind its
            # request (the idempotency crash test caught it). The restart is quick because the
            # orphans now die with the master (post_fork) and release the shared socket.
            "post_fork": post_fork,
        }

        class Server(BaseApplication):
            def load_config(self):
                for key, value in config.items():
                    self.cfg.set(key, value)

            def load(self):
                return application

        self.stdout.write(
            f"Lealtad on http://{options['host']}:{options['port']} ({workers} workers)"
        )
        sender = None
        if not options["no_worker"]:
            # The task worker (M2) in its own process: a thread in gunicorn's master would be
            # copied, half-alive, into every forked worker along with its database connection.
            # It dies with this process, as the workers do.
            # At a lower CPU priority (TASK_WORKER_NICE, default 10): on a machine the web
            # workers saturate, the till's requests come first and the worker sends what
            # waits (webhooks, e-mails) with the CPU they leave; when they idle it has it all.
            parent = os.getpid()
            nice = env_int("TASK_WORKER_NICE", 10, minimum=0)
            self.stdout.write("Task worker started (e-mails, daily expiry); --no-worker to opt out")

            def start_worker():
                die_with_parent(parent)
                if nice:
                    os.nice(min(nice, 19))

            sender = subprocess.Popen(
                [sys.executable, "-m", "lealtad.cli", "worker", "--no-reload", "-v", "0"],
                preexec_fn=start_worker,
            )
        try:
            Server().run()
        finally:
            if sender is not None:
                sender.terminate()
                sender.wait(timeout=10)
