"""The audit trail on screen (issue 16): the merchant admin reads their merchant's entries; the
network operator reads the whole network's, with a merchant filter. A cashier gets 404, as
everywhere in the console: a cashier does not learn that it exists.
Newest first, 50 a page, filtered by person, action and dates (the merchant's days)."""

import uuid
from functools import wraps

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe

from lealtad.audit import actions, labels
from lealtad.audit.models import Action, ActorKind, AuditEntry
from lealtad.customers.models import Membership
from lealtad.network.models import ApiKey, Branch, Merchant, Role, User
from lealtad.program.models import Category

PER_PAGE = 50
LABELS = dict(Action.choices)


def trail_view(view):
    @require_safe
    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        user = request.user
        if user.role == Role.OPERATOR:
            request.merchant = None
        elif user.role == Role.MERCHANT_ADMIN and user.merchant_id is not None:
            request.merchant = user.merchant
        else:
            raise Http404  # a cashier: the trail is the admin's (the console's rule)
        if user.must_change_password:
            return redirect("cashier:change_password")
        zone = request.merchant.timezone if request.merchant else timezone.get_default_timezone()
        with timezone.override(zone):
            return view(request, *args, **kwargs)

    return wrapper


class TrailFilter(forms.Form):
    merchant = forms.ChoiceField(label=_("Merchant"), required=False)
    person = forms.ChoiceField(label=_("Who"), required=False)
    action = forms.ChoiceField(label=_("Action"), required=False)
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, merchant=None, **kwargs):
        super().__init__(*args, **kwargs)
        everyone = [("", _("Everyone"))]
        if merchant is None:
            self.fields["merchant"].choices = [("", _("All merchants"))] + [
                (str(pk), name)
                for pk, name in Merchant.objects.order_by("name").values_list("pk", "name")
            ]
            people = User.objects.filter(
                role__in=[Role.CASHIER, Role.MERCHANT_ADMIN, Role.OPERATOR]
            )
            keys = ApiKey.objects.all()
        else:
            del self.fields["merchant"]
            people = User.objects.filter(merchant=merchant)
            keys = ApiKey.objects.filter(merchant=merchant)
        self.fields["person"].choices = (
            everyone
            + [
                (str(pk), name)
                for pk, name in people.order_by("username").values_list("pk", "username")
            ]
            + [
                (str(pk), f"{_('API key')}: {name}")
                for pk, name in keys.order_by("name").values_list("pk", "name")
            ]
        )
        self.fields["action"].choices = [("", _("All actions")), *Action.choices]

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", _("The end comes before the start."))
        return data


def _readable(entry: AuditEntry, names: dict) -> list[tuple[str, str | None, str]]:
    """(field, before, after) for each key either side names, in a stable order; before is None
    where the entry has no before (a creation)."""
    before, after = entry.before or {}, entry.after or {}
    keys = [k for k in [*before, *(k for k in after if k not in before)] if k not in labels.HIDDEN]
    return [
        (
            labels.field(k),
            labels.value(k, before[k], names) if k in before else None,
            labels.value(k, after.get(k), names),
        )
        for k in keys
    ]


def _names(entries: list[AuditEntry]) -> dict[str, str]:
    """The names of the branches, categories and holders the page's entries name by id."""
    wanted: dict[str, set] = {"branch": set(), "category": set(), "holder": set()}
    for e in entries:
        for values in (e.before or {}, e.after or {}):
            for key, ids in wanted.items():
                if values.get(key):
                    ids.add(values[key])
    names = {}
    for model, key, label in (
        (Branch, "branch", "name"),
        (Category, "category", "name"),
        (Membership, "holder", "customer__first_name"),
    ):
        valid = [i for i in wanted[key] if _is_uuid(i)]
        if valid:
            rows = model.objects.filter(pk__in=valid).values_list("pk", label)
            names.update({str(pk): name or "—" for pk, name in rows})
    return names


def _is_uuid(value) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


@trail_view
def trail(request):
    merchant = request.merchant
    form = TrailFilter(request.GET or None, merchant=merchant)
    found = AuditEntry.objects.none()
    if not form.is_bound or form.is_valid():
        data = form.cleaned_data if form.is_bound else {}
        scope = merchant
        if merchant is None and data.get("merchant"):
            scope = data["merchant"]
        found = actions.entries(
            scope if scope is not None else None,
            actor_id=data.get("person") or "",
            action=data.get("action") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            tz=timezone.get_current_timezone(),
        )
    page = Paginator(found, PER_PAGE).get_page(request.GET.get("page"))
    entries = list(page)
    branches = dict(
        Branch.objects.filter(pk__in={e.branch_id for e in entries if e.branch_id}).values_list(
            "pk", "name"
        )
    )
    merchants = {}
    if merchant is None:
        merchants = dict(
            Merchant.objects.filter(
                pk__in={e.merchant_id for e in entries if e.merchant_id}
            ).values_list("pk", "name")
        )
    names = _names(entries)
    rows = [
        {
            "entry": e,
            "branch": e.branch_name or branches.get(e.branch_id, ""),
            "merchant": e.merchant_name or merchants.get(e.merchant_id, ""),
            "changes": _readable(e, names),
            "label": LABELS.get(e.action, e.action),
            "machine": e.actor_kind in (ActorKind.API_KEY, ActorKind.CLI, ActorKind.SYSTEM),
        }
        for e in entries
    ]
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "query": query.urlencode(),
        "network": merchant is None,
        "merchant": merchant,
        "branch": request.user.branch,
        "console": merchant is not None,
    }
    template = "audit/console.html" if merchant is not None else "audit/network.html"
    return render(request, template, context)
