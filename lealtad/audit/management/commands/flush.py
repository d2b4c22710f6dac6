"""Django's `flush`, which must be able to empty the audit trail too (the tests flush between
transactional tests): it does so under `guard.flushing()`, the one other way past the triggers."""

from django.core.management.commands.flush import Command as FlushCommand

from lealtad.audit import guard


class Command(FlushCommand):
    def handle(self, **options):
        with guard.flushing(options["database"]):
            return super().handle(**options)
