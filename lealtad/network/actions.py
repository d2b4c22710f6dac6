"""Merchants, branches, staff and credentials."""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext as _

from lealtad.audit import actions as audit
from lealtad.audit.models import Action
from lealtad.core.errors import ValidationFailed
from lealtad.core.languages import language_for_country
from lealtad.core.money import CURRENCY_BY_COUNTRY, MINOR_UNITS
from lealtad.network import coin_roles
from lealtad.network.models import (
    ApiKey,
    Branch,
    Merchant,
    Network,
    Role,
    StaffToken,
    User,
)

DEFAULT_TIMEZONES = {
    "CO": "America/Bogota",
    "BR": "America/Sao_Paulo",
    "PA": "America/Panama",
    "GT": "America/Guatemala",
    "SV": "America/El_Salvador",
    "MX": "America/Mexico_City",
    "CR": "America/Costa_Rica",
    "EC": "America/Guayaquil",
    "PE": "America/Lima",
    "CL": "America/Santiago",
    "AR": "America/Argentina/Buenos_Aires",
}


# --- login (the throttle is in signin.py) --------------------------------------------------------


def issue_token(user: User) -> tuple[str, object]:
    secret = StaffToken.new_secret()
    expires_at = timezone.now() + timedelta(hours=settings.API_TOKEN_HOURS)
    StaffToken.objects.create(key_hash=StaffToken.hash(secret), user=user, expires_at=expires_at)
    return secret, expires_at


def create_api_key(
    merchant: Merchant, branch: Branch | None, name: str = "POS", created_by: User | None = None
) -> tuple[ApiKey, str]:
    """A POS key for `branch`, or merchant-wide when `branch` is None. Only its hash is kept: the
    secret returned here is shown once. The name is unique among the merchant's active keys."""
    name = (name or "").strip() or "POS"
    errors = []
    if branch is not None and branch.merchant_id != merchant.pk:
        errors.append({"field": "branch", "message": gettext("Not a branch of this merchant.")})
    if len(name) > ApiKey._meta.get_field("name").max_length:
        errors.append({"field": "name", "message": gettext("At most %d characters.") % 80})
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        # The merchant's row lock makes "no active key has this name" and the insert one step:
        # two admins creating the same name at once get one key and one clear refusal.
        Merchant.objects.select_for_update().filter(pk=merchant.pk).first()
        if ApiKey.objects.filter(
            merchant=merchant, name__iexact=name, revoked_at__isnull=True
        ).exists():
            raise ValidationFailed(
                [{"field": "name", "message": gettext("An active key already has this name.")}]
            )
        secret = ApiKey.new_secret()
        key = ApiKey.objects.create(
            merchant=merchant,
            branch=branch,
            name=name,
            prefix=secret[:10],
            key_hash=ApiKey.hash(secret),
            created_by=created_by,
        )
        audit.record(
            Action.API_KEY_CREATE,
            merchant=merchant,
            target=key,
            label=str(key),
            after={"name": key.name, "branch": str(branch.pk) if branch else None},
            staff=created_by,
        )
    return key, secret


def issue_api_key(merchant: Merchant, branch: Branch | None, name: str = "POS") -> str:
    return create_api_key(merchant, branch, name)[1]


def rename_api_key(key: ApiKey, name: str) -> ApiKey:
    name = (name or "").strip()
    if not name or len(name) > ApiKey._meta.get_field("name").max_length:
        raise ValidationFailed([{"field": "name", "message": gettext("Required, at most 80.")}])
    ApiKey.objects.filter(pk=key.pk).update(name=name)
    key.name = name
    return key


def revoke_api_key(key: ApiKey, now=None, by: User | None = None) -> bool:
    """The key stops working at once, on every worker (api/auth.py reads keys from the database on
    each request); the row stays (who used which key is history). False if already revoked."""
    now = now or timezone.now()
    with transaction.atomic():
        revoked = ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(
            revoked_at=now, revoked_by=by
        )
        if revoked:
            audit.record(
                Action.API_KEY_REVOKE,
                merchant=key.merchant_id,
                target=key,
                label=str(key),
                before={"revoked": False},
                after={"revoked": True},
                staff=by,
                now=now,
            )
    return bool(revoked)


# --- merchants and staff ------------------------------------------------------------------------


@dataclass
class NewMerchant:
    merchant: Merchant
    branch: Branch
    admin: User
    api_key: str


def _check_password(password: str, user: User | None = None) -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationFailed(
            [{"field": "password", "message": m} for m in exc.messages]
        ) from None


# C3: what a merchant's registration asks by default in its country (the seed's Brazilian
# registration asks CEP, the full address and pessoa física / jurídica). The admin can change it.
REGISTRATION_BY_COUNTRY = {
    "BR": {"asks_postal_code": True, "asks_address": True, "asks_person_type": True},
}


def create_merchant(
    *,
    name: str,
    country: str,
    admin_username: str,
    admin_password: str,
    currency: str | None = None,
    point_value: Decimal | None = None,
    branch_name: str = "Principal",
    network: Network | None = None,
    **settings_,
) -> NewMerchant:
    """O1: a working program at once: default category, point value, a branch, an admin, a key."""
    from lealtad.customers.actions import default_category

    country = country.strip().upper()
    currency = (currency or CURRENCY_BY_COUNTRY.get(country, "USD")).upper()
    errors = []
    if not name.strip():
        errors.append({"field": "name", "message": _("This field is required.")})
    if len(country) != 2 or not country.isalpha():
        errors.append({"field": "country", "message": _("A two-letter country code, e.g. CO.")})
    if currency not in MINOR_UNITS:
        errors.append(
            {
                "field": "currency",
                "message": _("Unknown currency: %(currency)s.") % {"currency": currency},
            }
        )
    if point_value is not None and point_value <= 0:
        errors.append({"field": "point_value", "message": _("Must be greater than zero.")})
    if User.objects.filter(username=admin_username).exists():
        errors.append({"field": "admin_username", "message": _("This username is already taken.")})
    if errors:
        raise ValidationFailed(errors)
    _check_password(admin_password)
    settings_ = {**REGISTRATION_BY_COUNTRY.get(country, {}), **settings_}
    # N5: the coin roles go through the operator's action (the network's currency), never raw.
    roles = {
        "issuer": bool(settings_.pop("coin_issuer", False)),
        "acceptor": bool(settings_.pop("coin_acceptor", False)),
        "cashback_rate": settings_.pop("cashback_rate", None),
    }
    with transaction.atomic():
        merchant = Merchant.objects.create(
            network=network or Network.default(),
            name=name.strip(),
            country=country,
            currency=currency,
            timezone=DEFAULT_TIMEZONES.get(country, settings.TIME_ZONE),
            point_value=point_value or Decimal("1000"),
            **settings_,
        )
        if roles["issuer"] or roles["acceptor"] or roles["cashback_rate"] is not None:
            coin_roles.set_coin_roles(merchant, **roles)
        branch = Branch.objects.create(merchant=merchant, name=branch_name)
        # Named in the merchant's language, whatever the language of who signs it up.
        with translation.override(language_for_country(merchant.country)):
            default_category(merchant)
        admin = User.objects.create_user(
            username=admin_username,
            password=admin_password,
            role=Role.MERCHANT_ADMIN,
            merchant=merchant,
            branch=branch,
        )
        api_key = issue_api_key(merchant, branch)
    return NewMerchant(merchant, branch, admin, api_key)


def create_staff(
    *, merchant: Merchant, username: str, password: str, role: str, branch: Branch | None = None
) -> User:
    if role not in (Role.CASHIER, Role.MERCHANT_ADMIN):
        raise ValidationFailed(
            [{"field": "role", "message": _("Choose cashier or administrator.")}]
        )
    if branch is None:
        branch = merchant.branches.filter(active=True).order_by("created_at").first()
    elif branch.merchant_id != merchant.pk:
        raise ValidationFailed(
            [{"field": "branch", "message": _("Not a branch of this merchant.")}]
        )
    if not username.strip():
        raise ValidationFailed([{"field": "username", "message": _("This field is required.")}])
    if User.objects.filter(username=username).exists():
        raise ValidationFailed(
            [{"field": "username", "message": _("This username is already taken.")}]
        )
    _check_password(password)
    with transaction.atomic():
        user = User.objects.create_user(
            username=username, password=password, role=role, merchant=merchant, branch=branch
        )
        audit.record(
            Action.STAFF_CREATE,
            merchant=merchant,
            target=user,
            label=username,
            after={
                "username": username,
                "role": role,
                "branch": str(branch.pk) if branch else None,
            },
        )
    return user
