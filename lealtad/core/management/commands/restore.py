from django.core.management.base import BaseCommand
from django.db.migrations.loader import MigrationLoader

from lealtad.core.backup import restore


class Command(BaseCommand):
    # The system checks open the database, and would fail with a traceback where the command
    # has a message (an SQLite folder that is not there, a database not created yet).
    requires_system_checks = []
    help = (
        "Restore a `lealtad backup` .tar into DATABASE_URL's database and the media folders. "
        "The target must be empty unless --force, which replaces everything in it."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="the backup .tar")
        parser.add_argument(
            "--force",
            action="store_true",
            help="replace a database (and media folders) that are not empty",
        )

    def handle(self, *args, **options):
        done = restore(options["path"], force=options["force"])
        manifest = done["manifest"]
        self.stdout.write(
            f"restore: {options['path']} (made {manifest['created_at']}): {done['rows']} rows in "
            f"{len(manifest['row_counts'])} tables and {done['files']} media files, as the "
            "manifest counts them"
        )
        applied = {
            (app, name) for app, names in manifest.get("migrations", {}).items() for name in names
        }
        missing = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations) - applied
        if missing:
            self.stdout.write(
                f"restore: the backup predates {len(missing)} migration(s) of this Lealtad: run "
                "`lealtad migrate` before serving it"
            )
