from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "lealtad.audit"
    label = "audit"
    verbose_name = _("Audit trail")

    def ready(self):
        from lealtad.audit import guard

        guard.install()
