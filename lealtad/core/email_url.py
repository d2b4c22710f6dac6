"""EMAIL_URL → Django e-mail settings.

smtp://user:pass@host:25, smtp+tls://…:587, smtp+ssl://…:465, console://, locmem://, dummy://
"""

from urllib.parse import parse_qs, unquote, urlsplit

import django

_BACKENDS = {
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "smtp+tls": "django.core.mail.backends.smtp.EmailBackend",
    "smtp+ssl": "django.core.mail.backends.smtp.EmailBackend",
    "console": "django.core.mail.backends.console.EmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
    "dummy": "django.core.mail.backends.dummy.EmailBackend",
}


def parse_email_url(url: str) -> dict:
    """Settings for this Django: MAILERS from 6.1 on, the EMAIL_* settings before."""
    legacy = _legacy(url)
    if django.VERSION < (6, 1):
        return legacy
    options = {}
    if legacy["EMAIL_BACKEND"].endswith("smtp.EmailBackend"):
        options = {
            "host": legacy["EMAIL_HOST"],
            "port": legacy["EMAIL_PORT"],
            "username": legacy["EMAIL_HOST_USER"],
            "password": legacy["EMAIL_HOST_PASSWORD"],
            "use_tls": legacy["EMAIL_USE_TLS"],
            "use_ssl": legacy["EMAIL_USE_SSL"],
            "timeout": legacy["EMAIL_TIMEOUT"],
        }
    return {"MAILERS": {"default": {"BACKEND": legacy["EMAIL_BACKEND"], "OPTIONS": options}}}


def _legacy(url: str) -> dict:
    parts = urlsplit(url)
    if parts.scheme not in _BACKENDS:
        raise ValueError(f"EMAIL_URL scheme must be one of {', '.join(sorted(_BACKENDS))}")
    settings = {"EMAIL_BACKEND": _BACKENDS[parts.scheme]}
    if parts.scheme.startswith("smtp"):
        query = parse_qs(parts.query)
        settings.update(
            EMAIL_HOST=parts.hostname or "localhost",
            EMAIL_PORT=parts.port or {"smtp+ssl": 465, "smtp+tls": 587}.get(parts.scheme, 25),
            EMAIL_HOST_USER=unquote(parts.username or ""),
            EMAIL_HOST_PASSWORD=unquote(parts.password or ""),
            EMAIL_USE_TLS=parts.scheme == "smtp+tls",
            EMAIL_USE_SSL=parts.scheme == "smtp+ssl",
            EMAIL_TIMEOUT=int(query.get("timeout", ["10"])[0]),
        )
    return settings
