from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "lealtad.core"
    label = "core"
