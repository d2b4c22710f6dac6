from django.apps import AppConfig


class ProgramConfig(AppConfig):
    name = "lealtad.program"
    label = "program"
