from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "lealtad.core"
    label = "core"

    def ready(self):
        from lealtad.core import checks  # noqa: F401  (registers the system checks)
