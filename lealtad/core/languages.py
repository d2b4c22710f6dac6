"""Which language a merchant speaks, in one place: its screens (when the user chose none), its
e-mails, the names the program gives things by itself (the default category) and the demo."""


def language_for_country(country: str | None) -> str:
    return "pt-br" if (country or "").upper() == "BR" else "es"
