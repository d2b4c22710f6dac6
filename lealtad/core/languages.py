"""Which language a merchant speaks, in one place: its screens (when the user chose none), its
e-mails, the names the program gives things by itself (the default category) and the demo."""

from django.utils.translation import gettext_noop


def language_for_country(country: str | None) -> str:
    return "pt-br" if (country or "").upper() == "BR" else "es"


# Strings of Django's own that its catalogs do not translate yet (Django 6's empty choice): marked
# here so that `make messages` keeps our translation of them.
DJANGO_STRINGS = (gettext_noop("- Select an option -"),)
