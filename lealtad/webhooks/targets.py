"""I4 SSRF guard: where a webhook may be sent.

A merchant admin types the URL, and our servers POST to it: without a guard anyone could make
them call our own network (the database, a cloud's metadata service at 169.254.169.254, an
admin port on localhost). So a target must be https and every address its host resolves to must
be a public one, checked when the endpoint is saved and again at every send, on the address the
send then connects to (`resolve`): a host that answers a public address at creation and a
private one later (DNS rebinding) is refused at send time, and there is no second lookup between
the check and the connection. `WEBHOOK_ALLOW_PRIVATE_NETWORKS=true` lifts the guard (and allows
plain http): for development, tests, and receivers on the merchant's own network.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from lealtad.core.errors import LealtadError


class WebhookUrlNotAllowed(LealtadError):
    code, status = "webhook_url_not_allowed", 422
    title = gettext_lazy("This address cannot receive webhooks")


@dataclass(frozen=True)
class Target:
    scheme: str  # "https" or "http"
    host: str  # the name: Host header, TLS SNI and certificate check
    port: int
    path: str  # path and query, what the request line asks for
    address: str | None = None  # the checked IP the connection goes to (resolve)


def private_allowed() -> bool:
    return bool(getattr(settings, "WEBHOOK_ALLOW_PRIVATE_NETWORKS", False))


def refused(address: str) -> bool:
    """Whether `address` is one no webhook may reach: private, loopback, link-local,
    multicast, reserved, unspecified, shared (CGNAT), or an IPv6 form of one (v4-mapped)."""
    ip = ipaddress.ip_address(address.split("%")[0])  # drop an IPv6 zone ("fe80::1%eth0")
    if isinstance(ip, ipaddress.IPv6Address):
        inner = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if inner is not None and refused(str(inner)):
            return True
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def parse(url: str) -> Target:
    """The target of `url`, or WebhookUrlNotAllowed saying what is wrong with it."""
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise WebhookUrlNotAllowed(_("This is not a valid URL.")) from None
    scheme = parts.scheme.lower()
    allowed = ("https", "http") if private_allowed() else ("https",)
    if scheme not in allowed:
        raise WebhookUrlNotAllowed(_("The URL must start with https://."))
    if not parts.hostname:
        raise WebhookUrlNotAllowed(_("The URL has no host name."))
    if parts.username or parts.password:
        raise WebhookUrlNotAllowed(_("The URL must not carry a user name or password."))
    if len(url) > 2000:
        raise WebhookUrlNotAllowed(_("The URL is too long (2000 characters at most)."))
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(scheme, parts.hostname, port or (443 if scheme == "https" else 80), path)


def resolve(target: Target) -> Target:
    """The target with the address to connect to: the host's first address, after checking
    that none of its addresses is refused (unless WEBHOOK_ALLOW_PRIVATE_NETWORKS)."""
    try:
        found = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise WebhookUrlNotAllowed(
            _("The host name %(host)s does not resolve.") % {"host": target.host}
        ) from None
    addresses = list(dict.fromkeys(info[4][0] for info in found))
    if not addresses:
        raise WebhookUrlNotAllowed(
            _("The host name %(host)s does not resolve.") % {"host": target.host}
        )
    if not private_allowed():
        for address in addresses:
            if refused(address):
                raise WebhookUrlNotAllowed(
                    _(
                        "%(host)s is in a private, loopback or reserved network "
                        "(%(address)s): webhooks go only to public addresses."
                    )
                    % {"host": target.host, "address": address.split("%")[0]}
                )
    return Target(target.scheme, target.host, target.port, target.path, addresses[0])


def check(url: str) -> str:
    """`url` cleaned, if a webhook may be sent there (at creation: the send checks again)."""
    target = parse(url)
    if not private_allowed():
        resolve(target)
    return url.strip()
