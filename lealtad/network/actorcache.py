"""Invalidation of the API's cached credentials (lealtad/api/auth.py): staff tokens and partner
keys, cached in the shared cache under their SHA-256.

Design: a generation per credential (core/sharedcache.py), read in the same `get_many` as the
cached actor, so a request with a cached token costs one cache round trip. A generation per user
or per merchant would need the token's user and merchant before the read, which only the cached
entry (or the database) knows: two round trips. So a change finds the credentials it touches in
the database and replaces their generations; changes are rare, requests are not.

What invalidates, on every path that saves a model (actions, console screens, admin, CLI, shell),
through the models' signals (`connect`, from NetworkConfig.ready):
- a StaffToken saved or deleted; a User saved (deactivated, role, merchant, branch, password,
  anything but `last_login` alone) or deleted;
- a Merchant or Branch saved or deleted: every token of its staff (the actor carries both);
- a Partner saved (deactivated, its rate), a PartnerKey saved or deleted.
The code that changes those rows with a queryset UPDATE calls `forget_*` itself:
coins.partners.revoke_partner_key, network.coin_roles.set_coin_roles.
"""

from django.db import DEFAULT_DB_ALIAS
from django.db.models.signals import post_delete, post_save, pre_delete
from django.utils import timezone

from lealtad.core import sharedcache

# Part of the entry's key: bump it when what is cached (api.auth.Actor, the models it carries)
# changes shape, so nodes of a new release never unpickle an old release's entries.
SHAPE = 1


def entry_key(key_hash: str) -> str:
    return f"actor:{SHAPE}:{key_hash}"


def generation_key(key_hash: str) -> str:
    return f"actor-gen:{key_hash}"


def forget_token_hashes(key_hashes) -> None:
    """The actors cached for these staff tokens or partner keys are stale, on every process."""
    sharedcache.invalidate(generation_key(h) for h in key_hashes)


def forget_staff(**filters) -> None:
    """The staff tokens of the users matching `filters` (pk=…, merchant=…, branch=…)."""
    from lealtad.network.models import StaffToken

    hashes = (
        StaffToken.objects.using(DEFAULT_DB_ALIAS)
        .filter(expires_at__gt=timezone.now(), **{f"user__{k}": v for k, v in filters.items()})
        .values_list("key_hash", flat=True)
    )
    forget_token_hashes(list(hashes))


def forget_partner(partner_id) -> None:
    from lealtad.coins.models import PartnerKey

    forget_token_hashes(
        list(
            PartnerKey.objects.using(DEFAULT_DB_ALIAS)
            .filter(partner_id=partner_id)
            .values_list("key_hash", flat=True)
        )
    )


def _credential_changed(sender, instance, created=False, **kwargs):
    if not created and instance.key_hash:
        forget_token_hashes([instance.key_hash])


def _user_saved(sender, instance, created=False, update_fields=None, **kwargs):
    if created or (update_fields is not None and set(update_fields) <= {"last_login"}):
        return
    forget_staff(pk=instance.pk)


def _user_deleted(sender, instance, **kwargs):
    forget_staff(pk=instance.pk)  # pre_delete: the tokens are still there to be found


def _merchant_changed(sender, instance, created=False, **kwargs):
    if not created:
        forget_staff(merchant=instance.pk)


def _branch_changed(sender, instance, created=False, **kwargs):
    if not created:
        forget_staff(branch=instance.pk)


def _partner_saved(sender, instance, created=False, **kwargs):
    if not created:
        forget_partner(instance.pk)


def connect() -> None:
    from lealtad.coins.models import Partner, PartnerKey
    from lealtad.network.models import Branch, Merchant, StaffToken, User

    for model in (StaffToken, PartnerKey):
        post_save.connect(_credential_changed, sender=model, dispatch_uid=f"actor-{model.__name__}")
        post_delete.connect(
            _credential_changed, sender=model, dispatch_uid=f"actor-del-{model.__name__}"
        )
    post_save.connect(_user_saved, sender=User, dispatch_uid="actor-user")
    pre_delete.connect(_user_deleted, sender=User, dispatch_uid="actor-del-user")
    for model in (Merchant, Branch):
        receiver = _merchant_changed if model is Merchant else _branch_changed
        post_save.connect(receiver, sender=model, dispatch_uid=f"actor-{model.__name__}")
        pre_delete.connect(receiver, sender=model, dispatch_uid=f"actor-del-{model.__name__}")
    post_save.connect(_partner_saved, sender=Partner, dispatch_uid="actor-partner")
