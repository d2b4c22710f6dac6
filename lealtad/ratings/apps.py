from django.apps import AppConfig


class RatingsConfig(AppConfig):
    name = "lealtad.ratings"
    default_auto_field = "django.db.models.BigAutoField"
