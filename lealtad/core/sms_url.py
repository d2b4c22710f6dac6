"""SMS_URL → the SMS provider (see lealtad/notifications/sms.py for what each one does).

twilio://ACCOUNT_SID:AUTH_TOKEN@?from=+573001234567, twilio://SID:TOKEN@127.0.0.1:8625?from=…&
scheme=http (a fake provider on loopback), console://, or empty (no provider).
"""

import ipaddress
import urllib.parse
from dataclasses import dataclass, field

from django.core.exceptions import ImproperlyConfigured

TWILIO_API = "https://api.twilio.com"


@dataclass(frozen=True)
class Provider:
    kind: str  # "twilio" | "console"
    account: str = ""
    username: str = ""
    password: str = field(default="", repr=False)  # never in a log or a traceback
    sender: str = ""
    messaging_service: str = ""
    base: str = TWILIO_API
    timeout: float = 10.0


def parse_sms_url(url: str) -> Provider | None:
    """SMS_URL → the provider, or None when it is empty. Raises ImproperlyConfigured."""
    url = (url or "").strip()
    if not url:
        return None
    parts = urllib.parse.urlsplit(url)
    # A literal "+" (the sender's E.164 number) stays a plus, not a space.
    query = dict(urllib.parse.parse_qsl(parts.query.replace("+", "%2B")))
    if parts.scheme == "console":
        return Provider("console")
    if parts.scheme != "twilio":
        raise ImproperlyConfigured("SMS_URL must be twilio://SID:TOKEN@?from=+57… or console://")
    username = urllib.parse.unquote(parts.username or "")
    password = urllib.parse.unquote(parts.password or "")
    sender, service = query.get("from", ""), query.get("messaging_service", "")
    if not username or not password or not (sender or service):
        raise ImproperlyConfigured(
            "SMS_URL for Twilio needs the account sid, the auth token and ?from=+57… "
            "(or ?messaging_service=MG…): twilio://SID:TOKEN@?from=%2B573001234567"
        )
    base = TWILIO_API
    if parts.hostname:
        scheme = query.get("scheme", "https")
        if scheme not in ("https", "http"):
            raise ImproperlyConfigured("SMS_URL: scheme must be https or http")
        if scheme == "http" and not _loopback(parts.hostname):
            raise ImproperlyConfigured("SMS_URL: scheme=http is allowed only for a loopback host")
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        base = f"{scheme}://{host}" + (f":{parts.port}" if parts.port else "")
    try:
        timeout = float(query.get("timeout", "10"))
    except ValueError:
        raise ImproperlyConfigured("SMS_URL: timeout must be a number of seconds") from None
    return Provider(
        "twilio",
        account=query.get("account", username),
        username=username,
        password=password,
        sender=sender,
        messaging_service=service,
        base=base,
        timeout=timeout,
    )


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
