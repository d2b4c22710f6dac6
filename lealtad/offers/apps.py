from django.apps import AppConfig


class OffersConfig(AppConfig):
    name = "lealtad.offers"
    default_auto_field = "django.db.models.BigAutoField"
