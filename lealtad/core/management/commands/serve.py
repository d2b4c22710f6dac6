import multiprocessing
import os
import subprocess
import sys

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve Lealtad with gunicorn, a production-grade WSGI server."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument(
            "--workers",
            type=int,
            default=int(os.environ.get("WEB_WORKERS", 0)) or None,
            help="worker processes (default: 2 × CPU cores + 1)",
        )
        parser.add_argument("--threads", type=int, default=int(os.environ.get("WEB_THREADS", 1)))
        # A sync worker busy longer than this is killed, and a streamed CSV export is one long
        # request (about 35,000 rows/s): 300 s lets ten million rows through; with --threads > 1
        # (gthread) the worker keeps signalling while it streams.
        parser.add_argument("--timeout", type=int, default=int(os.environ.get("WEB_TIMEOUT", 300)))
        parser.add_argument(
            "--no-mail",
            action="store_true",
            help="do not start the e-mail sender beside the server (run `lealtad send-emails "
            "--loop 10` yourself, once for the whole deployment)",
        )

    def handle(self, *args, **options):
        from gunicorn.app.base import BaseApplication

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
        if not options["no_mail"]:
            # The outbox's sender in its own process: a thread in gunicorn's master would be
            # copied, half-alive, into every forked worker along with its database connection.
            sender = subprocess.Popen(
                [sys.executable, "-m", "lealtad.cli", "send-emails", "--loop", "10"]
            )
        try:
            Server().run()
        finally:
            if sender is not None:
                sender.terminate()
                sender.wait(timeout=10)
