from django.core.management.base import BaseCommand

from lealtad.core.backup import make_backup


class Command(BaseCommand):
    # The system checks open the database, and would fail with a traceback where the command
    # has a message (an SQLite folder that is not there, a database not created yet).
    requires_system_checks = []
    help = (
        "Back up the database (SQLite's online backup API; pg_dump on PostgreSQL) and the "
        "uploaded media into one .tar with a manifest; safe while the server and worker write."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "path", help="the .tar to write, or a folder (a new lealtad-<UTC time>.tar in it)"
        )

    def handle(self, *args, **options):
        target, manifest = make_backup(options["path"])
        rows = sum(manifest["row_counts"].values())
        files = sum(info["files"] for info in manifest["media"].values())
        self.stdout.write(
            f"backup: {target} ({manifest['engine']}, {len(manifest['row_counts'])} tables, "
            f"{rows} rows, {files} media files, {target.stat().st_size} bytes)"
        )
