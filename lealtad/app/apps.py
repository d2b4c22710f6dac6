from django.apps import AppConfig


class CustomerAppConfig(AppConfig):
    """The customer's app (A1–A8): sign-in, session and shell at /app/."""

    name = "lealtad.app"
    default_auto_field = "django.db.models.BigAutoField"
