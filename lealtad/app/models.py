"""A1: the customer's way in. A one-time code to the e-mail or the mobile (`SignInCode`), then a
long, revocable session (`CustomerSession`) for the app's cookie or an API bearer token.

Neither keeps a secret in clear: a code is stored as an HMAC keyed from SECRET_KEY (like
lealtad/coins/codes.py), a session token as its SHA-256."""

import hashlib

from django.db import models
from django.utils.translation import gettext_lazy as _

from lealtad.customers.models import Customer


class AddressKind(models.TextChoices):
    EMAIL = "email", _("E-mail")
    MOBILE = "mobile", _("Mobile")


class SignInCode(models.Model):
    """One code sent (or, to an address that belongs to no customer, pretended sent): 6 digits,
    10 minutes, 5 tries, used once. Rows are kept for the rate limits (per address, per IP)."""

    kind = models.CharField(max_length=6, choices=AddressKind.choices)
    address = models.CharField(max_length=254)  # normalised: lower-case e-mail, E.164 mobile
    # The customer the address belongs to when the code was asked; null: nobody (never mailed).
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        verbose_name = _("app sign-in code")
        verbose_name_plural = _("app sign-in codes")
        indexes = [
            models.Index(fields=["kind", "address", "created_at"], name="signin_code_address"),
            models.Index(fields=["ip", "created_at"], name="signin_code_ip"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.address} @ {self.created_at:%Y-%m-%d %H:%M}"


class SessionKind(models.TextChoices):
    WEB = "web", _("App (browser)")
    API = "api", _("API token")


TOKEN_PREFIX = "lcs_"  # so the staff API can tell a customer's token at a glance (403)


class CustomerSession(models.Model):
    """A signed-in phone (the `lealtad_app` cookie) or an API token: 180 days, sliding with use,
    revoked on sign-out or "sign out everywhere"."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="app_sessions")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    kind = models.CharField(max_length=3, choices=SessionKind.choices, default=SessionKind.WEB)

    class Meta:
        verbose_name = _("app session")
        verbose_name_plural = _("app sessions")
        indexes = [models.Index(fields=["customer", "revoked_at"], name="customer_session_live")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.kind} {self.created_at:%Y-%m-%d}"

    @staticmethod
    def hash(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()
