from django.apps import AppConfig


class FavouritesConfig(AppConfig):
    name = "lealtad.favourites"
    default_auto_field = "django.db.models.BigAutoField"
