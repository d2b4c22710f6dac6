from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "lealtad.api"
    label = "api"
