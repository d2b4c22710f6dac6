from django.apps import AppConfig


class CoinsConfig(AppConfig):
    name = "lealtad.coins"
    label = "coins"
