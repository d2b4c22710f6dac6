import hashlib
import secrets
import uuid
from decimal import Decimal
from zoneinfo import available_timezones

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


def network_currency() -> str:
    """N4: the coins' currency (1 coin = 1 unit), `NETWORK_CURRENCY`, COP as in the seeds."""
    from django.conf import settings

    return settings.NETWORK_CURRENCY


class Network(models.Model):
    name = models.CharField(max_length=120, unique=True)
    coin_name = models.CharField(max_length=40, default="coins")
    currency = models.CharField(max_length=3, default=network_currency)
    coin_validity_months = models.PositiveSmallIntegerField(default=24)
    # K3: digits of the code that confirms a coin payment (docs/security.md: why 4 by default).
    payment_code_digits = models.PositiveSmallIntegerField(
        _("payment code digits"), choices=[(4, "4"), (6, "6")], default=4
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name

    @classmethod
    def default(cls) -> "Network":
        network, _created = cls.objects.get_or_create(
            name="Lealtad", defaults={"currency": network_currency()}
        )
        return network


class Merchant(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    network = models.ForeignKey(Network, on_delete=models.PROTECT, related_name="merchants")
    name = models.CharField(_("name"), max_length=120)
    country = models.CharField(_("country"), max_length=2)
    currency = models.CharField(_("currency"), max_length=3)
    timezone = models.CharField(_("time zone"), max_length=64, default="America/Bogota")
    # P1: how much currency earns one point, e.g. 1000 COP.
    point_value = models.DecimalField(
        _("point value"),
        max_digits=14,
        decimal_places=2,
        default=Decimal("1000"),
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    # P3: default validity of points, in days, when the category sets none.
    points_validity_days = models.PositiveIntegerField(
        _("points validity (days)"), default=365, validators=[MinValueValidator(1)]
    )
    welcome_bonus_points = models.PositiveIntegerField(_("welcome bonus (points)"), default=0)
    redemption_requires_document_check = models.BooleanField(default=False)
    # C3: what this merchant's registration asks on top of the network's rule (in Brazil, CEP
    # and address); a profile without them is incomplete here (customers/completeness.py).
    asks_postal_code = models.BooleanField(_("ask for the postal code"), default=False)
    asks_address = models.BooleanField(_("ask for the address"), default=False)
    asks_person_type = models.BooleanField(_("ask whether person or company"), default=False)
    # M1: which e-mails customers get from this merchant.
    email_on_join = models.BooleanField(_("e-mail on joining the program"), default=True)
    email_on_accrual = models.BooleanField(_("e-mail on each accrual"), default=False)
    email_on_redemption = models.BooleanField(_("e-mail on each redemption"), default=True)
    # F1: after a posted visit the customer is invited by e-mail to rate it, this long after.
    rating_invite = models.BooleanField(_("invite customers to rate each visit"), default=True)
    rating_invite_delay_minutes = models.PositiveIntegerField(
        _("minutes after the visit the invitation is sent"),
        default=120,
        validators=[MinValueValidator(0), MaxValueValidator(10080)],
    )
    # P7: points as money at the till ("Pagar con puntos"): 1 point = `point_money_value` units
    # of the merchant's currency off an invoice.
    points_as_money = models.BooleanField(_("points as money"), default=False)
    point_money_value = models.DecimalField(
        _("value of one point as money"),
        max_digits=14,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    coin_issuer = models.BooleanField(_("coin issuer"), default=False)
    coin_acceptor = models.BooleanField(_("coin acceptor"), default=False)
    # K3 (seed 001): a coin payment needs "the customer showed the physical document".
    coin_payment_requires_document = models.BooleanField(
        _("coin payments need the customer's physical document"), default=False
    )
    cashback_rate = models.DecimalField(
        _("cashback rate"),
        max_digits=5,
        decimal_places=4,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
    )
    # I2 / I3: what a POS invoice earns when it loads ("coins" only at a coin issuer), how long it
    # waits for its customer at the till, and whether the till loads it on one confirming key.
    invoice_earns = models.CharField(
        _("POS invoices earn"),
        max_length=6,
        choices=[("points", _("Points")), ("coins", _("Coins"))],
        default="points",
    )
    invoice_wait_days = models.PositiveSmallIntegerField(
        _("days a POS invoice waits for its customer"),
        default=7,
        validators=[MinValueValidator(1), MaxValueValidator(90)],
    )
    invoice_load_confirm = models.BooleanField(
        _("the till asks to confirm before loading a POS invoice"), default=False
    )
    # O1: who signed the merchant up; one sign-up per e-mail.
    email = models.EmailField(_("email"), null=True, blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["email"], condition=Q(email__isnull=False), name="merchant_unique_email"
            ),
            models.CheckConstraint(
                condition=Q(point_value__gt=0), name="merchant_point_value_gt_0"
            ),
            models.CheckConstraint(
                condition=Q(points_as_money=False) | Q(point_money_value__gt=0),
                name="merchant_points_as_money_has_value",
            ),
            models.CheckConstraint(
                condition=Q(cashback_rate__gte=0) & Q(cashback_rate__lte=1),
                name="merchant_cashback_rate_0_1",
            ),
            models.CheckConstraint(
                condition=Q(invoice_wait_days__gte=1) & Q(invoice_wait_days__lte=90),
                name="merchant_invoice_wait_days_1_90",
            ),
            models.CheckConstraint(
                condition=Q(invoice_earns__in=["points", "coins"]),
                name="merchant_invoice_earns_kind",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        from django.core.exceptions import ValidationError

        if self.timezone not in available_timezones():
            raise ValidationError({"timezone": _("Unknown time zone.")})


class Branch(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="branches")
    name = models.CharField(_("name"), max_length=120)
    city = models.CharField(_("city"), max_length=80, blank=True)
    # A6: the neighbourhood or district the customer app groups merchants by, within the city.
    zone = models.CharField(_("zone"), max_length=80, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "branches"
        constraints = [
            models.UniqueConstraint(fields=["merchant", "name"], name="branch_unique_name"),
        ]

    def __str__(self) -> str:
        return f"{self.merchant.name} — {self.name}"


class Role(models.TextChoices):
    OPERATOR = "operator", _("Network operator")
    MERCHANT_ADMIN = "merchant_admin", _("Merchant admin")
    CASHIER = "cashier", _("Cashier")


class StaffManager(UserManager):
    def create_superuser(self, username, email=None, password=None, **extra_fields):
        # The network operator: no merchant, sees everything through the admin site.
        extra_fields.setdefault("role", Role.OPERATOR)
        return super().create_superuser(username, email, password, **extra_fields)


class User(AbstractUser):
    """A staff member. Customers are not users: they are identified by their document."""

    objects = StaffManager()

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.CASHIER)
    merchant = models.ForeignKey(
        Merchant, null=True, blank=True, on_delete=models.PROTECT, related_name="staff"
    )
    branch = models.ForeignKey(
        Branch, null=True, blank=True, on_delete=models.PROTECT, related_name="staff"
    )
    must_change_password = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(role="operator") | Q(merchant__isnull=False),
                name="user_staff_has_merchant",
            ),
        ]


def _hash(secret: str) -> str:
    # Tokens are long random strings, so a fast hash is enough (no brute force is possible) and
    # keeps the per-request lookup cheap; only the hash is stored.
    return hashlib.sha256(secret.encode()).hexdigest()


class StaffToken(models.Model):
    key_hash = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)

    @staticmethod
    def new_secret() -> str:
        return "lst_" + secrets.token_urlsafe(32)

    hash = staticmethod(_hash)


class ApiKey(models.Model):
    """A merchant's point-of-sale key: acts for the merchant, at its branch, or merchant-wide
    (no branch: such a key names `branch_id` in the calls that need one)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="api_keys")
    branch = models.ForeignKey(
        Branch, null=True, blank=True, on_delete=models.PROTECT, related_name="api_keys"
    )
    name = models.CharField(max_length=80, default="POS")
    prefix = models.CharField(max_length=12)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Written at most once a minute per key (api/auth.py), never once per request.
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        "network.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        "network.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def new_secret() -> str:
        return "lpk_" + secrets.token_urlsafe(32)

    hash = staticmethod(_hash)


class LoginFailure(models.Model):
    """Failed sign-ins, kept in the database so that every server worker sees the same count
    (see signin.py: counted per username and address, and per address)."""

    username = models.CharField(max_length=150)
    # Indexed for the count per address; an IPv6 client is stored as its /64 network.
    ip = models.GenericIPAddressField(null=True, db_index=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["username", "at"])]


class ServiceAudience(models.TextChoices):
    """Who the network's service line is for (the seeds' usuarios@, comercios@, monitoreo@)."""

    CUSTOMERS = "customers", _("Customers")
    MERCHANTS = "merchants", _("Merchants and cashiers")
    FRAUD = "fraud", _("Fraud monitoring (suspended customers)")


class ServiceLine(models.Model):
    """C11: where the network's service is reached, per country and audience; the till shows
    the right one to a suspended customer. A row with no country serves every other country."""

    network = models.ForeignKey(Network, on_delete=models.CASCADE, related_name="service_lines")
    country = models.CharField(
        _("country"), max_length=2, blank=True, help_text=_("Empty: every other country.")
    )
    audience = models.CharField(_("for"), max_length=12, choices=ServiceAudience.choices)
    phones = models.CharField(_("phones"), max_length=200, blank=True)
    email = models.EmailField(_("email"), blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    hours = models.CharField(_("opening hours"), max_length=120, blank=True)

    class Meta:
        verbose_name = _("service line")
        verbose_name_plural = _("service lines")
        ordering = ["audience", "country"]
        constraints = [
            models.UniqueConstraint(
                fields=["network", "country", "audience"], name="serviceline_unique"
            ),
            models.CheckConstraint(
                condition=~Q(phones="") | ~Q(email="") | ~Q(address=""),
                name="serviceline_says_something",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_audience_display()} {self.country or '*'}"
