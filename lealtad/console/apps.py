from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "lealtad.console"
    label = "console"
