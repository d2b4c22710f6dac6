from django.apps import AppConfig


class NetworkConfig(AppConfig):
    name = "lealtad.network"
    label = "network"
