"""Writing and reading the audit trail (docs/audit.md).

Each action that moves value or changes a customer's data calls `record` inside its own
`transaction.atomic()`, so the entry commits or rolls back with the action: one INSERT. The
accrual on PostgreSQL builds its entry with `entry` and writes it inside its one combined
statement instead (lealtad.ledger.ledger.post_credit_at_once).
"""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from lealtad.audit import context, guard
from lealtad.audit.models import ActorKind, AuditEntry

USER_AGENT_LENGTH = 120
REDACTED = "[redacted]"


def _actor(staff, source: context.Source | None, api_key=None) -> tuple[str, str, str, object]:
    """(kind, id, name, the branch the credential is bound to)."""
    if staff is None and api_key is not None:
        return ActorKind.API_KEY, str(api_key.pk), api_key.name, api_key.branch_id
    request = source.request if source else None
    api_actor = getattr(request, "_lealtad_actor", None) if request is not None else None
    if staff is None and api_actor is not None:
        if api_actor.user is not None:
            staff = api_actor.user
        elif api_actor.api_key is not None:
            key = api_actor.api_key
            return ActorKind.API_KEY, str(key.pk), key.name, key.branch
    if staff is None and request is not None:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            staff = user
    if staff is not None:
        kind = ActorKind.CLI if source and source.command else ActorKind.STAFF
        return kind, str(staff.pk), staff.username, _branch_of(staff)
    if source and source.command:
        return ActorKind.CLI, "", f"lealtad {source.command}", None
    return ActorKind.SYSTEM, "", "", None


def _merchant_of(staff, api_key, source):
    if staff is not None or api_key is not None:
        return (staff or api_key).merchant_id
    request = source.request if source else None
    api_actor = getattr(request, "_lealtad_actor", None)
    if api_actor is not None and api_actor.merchant is not None:
        return api_actor.merchant
    user = getattr(request, "user", None)
    return getattr(user, "merchant_id", None)


def _branch_of(user):
    if user.branch_id is None:
        return None
    # The user's branch when already loaded (a session's user is loaded with it); else its id.
    cached = "branch" in user._state.fields_cache
    return user.branch if cached else user.branch_id


def _address(request) -> tuple[str | None, str]:
    if request is None:
        return None, ""
    from lealtad.network.signin import client_address

    agent = request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_LENGTH]
    return client_address(request), agent


def entry(
    action: str,
    *,
    merchant,
    target=None,
    target_type: str = "",
    target_id="",
    label: str = "",
    customer_id=None,
    before: dict | None = None,
    after: dict | None = None,
    staff=None,
    api_key=None,
    branch=None,
    now: dt.datetime | None = None,
) -> AuditEntry:
    """The entry for `action`, unsaved. `target` a model instance (or give its type and id);
    the actor is `staff` or `api_key` when the action knows it, else the request's or the
    command's (lealtad.audit.context); `merchant` None: the actor's."""
    source = context.current()
    kind, actor_id, actor_name, actor_branch = _actor(staff, source, api_key)
    if merchant is None:
        merchant = _merchant_of(staff, api_key, source)
    branch = branch if branch is not None else actor_branch
    branch_id = getattr(branch, "pk", branch)
    ip, agent = _address(source.request if source else None)
    if target is not None:
        target_type = target_type or target._meta.model_name
        target_id = target_id or target.pk
    return AuditEntry(
        merchant_id=getattr(merchant, "pk", merchant),
        merchant_name=getattr(merchant, "name", "")[:200],
        actor_kind=kind,
        actor_id=actor_id,
        actor_name=actor_name[:150],
        branch_id=branch_id,
        branch_name=getattr(branch, "name", "")[:200],
        ip_address=ip,
        user_agent=agent,
        action=action,
        target_type=target_type,
        target_id=str(target_id or "")[:64],
        target_label=str(label or "")[:200],
        customer_id=getattr(customer_id, "pk", customer_id),
        before=before,
        after=after,
        created_at=now or timezone.now(),
    )


def record(action: str, **fields) -> AuditEntry:
    """Write the entry now, in the caller's transaction (one INSERT)."""
    new = entry(action, **fields)
    new.save(force_insert=True)
    return new


def changes(old: dict, new: dict) -> tuple[dict, dict]:
    """Only what changed: (before, after), each holding the changed keys."""
    keys = [k for k in new if old.get(k) != new.get(k)]
    return {k: old.get(k) for k in keys}, {k: new.get(k) for k in keys}


# --- anonymisation --------------------------------------------------------------------------------


def redact_customer(customer, personal: set[str], label: str) -> int:
    """C12: a customer's personal values leave the trail, the facts stay: every entry about them
    keeps who did what, when and where, and which fields changed; the values of `personal`
    fields become "[redacted]" and a customer target's label the anonymised one. Runs in the
    anonymisation's transaction, the only UPDATE the triggers let through (guard.redacting)."""
    rows = list(
        AuditEntry.objects.filter(customer_id=customer.pk).values_list(
            "pk", "before", "after", "target_type"
        )
    )
    done = 0
    with transaction.atomic(), guard.redacting():
        for pk, before, after, target_type in rows:
            fields = {"before": _redacted(before, personal), "after": _redacted(after, personal)}
            if target_type == "customer":
                fields["target_label"] = label
            done += AuditEntry.objects.filter(pk=pk).redact(**fields)
    return done


def _redacted(values, personal: set[str]):
    if not isinstance(values, dict):
        return values
    return {
        k: (REDACTED if k in personal and v not in (None, "") else v) for k, v in values.items()
    }


# --- reading --------------------------------------------------------------------------------------


def entries(merchant=None, *, actor_id="", action="", date_from=None, date_to=None, tz=None):
    """Newest first. `merchant` None: the whole network's (the operator's)."""
    found = AuditEntry.objects.all()
    if merchant is not None:
        found = found.filter(merchant_id=getattr(merchant, "pk", merchant))
    if actor_id:
        found = found.filter(actor_id=actor_id)
    if action:
        found = found.filter(action=action)
    tz = tz or timezone.get_current_timezone()
    if date_from:
        start = dt.datetime.combine(date_from, dt.time.min, tzinfo=tz)
        found = found.filter(created_at__gte=start)
    if date_to:
        end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
        found = found.filter(created_at__lt=end)
    return found.order_by("-created_at", "-id")
