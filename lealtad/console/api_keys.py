"""API keys in the console (issue 12): the merchant admin lists the point-of-sale keys, creates
one (merchant-wide or for one branch) and sees its secret once, and revokes one after confirming.
Only the hash is stored; another merchant's key is 404, and so is the whole screen to a cashier."""

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from lealtad.console.views import _page, _uuid, admin_view
from lealtad.core.errors import ValidationFailed
from lealtad.network import actions
from lealtad.network.models import ApiKey, Branch


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=80,
        help_text=gettext_lazy("Say where it is used, e.g. “Caja 1 POS”."),
    )
    branch = forms.ModelChoiceField(
        label=gettext_lazy("Branch"),
        queryset=Branch.objects.none(),
        required=False,
        empty_label=gettext_lazy("All branches"),
        help_text=gettext_lazy(
            "A key for all branches must say which branch in each call that needs one (branch_id)."
        ),
    )

    def __init__(self, *args, merchant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["branch"].queryset = merchant.branches.filter(active=True).order_by("name")
        self.fields["name"].widget.attrs.update(autofocus=True, autocomplete="off")


def _key(request, key_id) -> ApiKey:
    return get_object_or_404(ApiKey, pk=_uuid(key_id), merchant=request.merchant)


@admin_view
def api_keys(request):
    keys = (
        ApiKey.objects.filter(merchant=request.merchant)
        .select_related("branch", "created_by", "revoked_by")
        .order_by("revoked_at", "-created_at")
    )
    return _page(request, "console/api_keys.html", keys=keys)


@admin_view
def api_key_new(request):
    form = ApiKeyForm(request.POST or None, merchant=request.merchant)
    if request.method == "POST" and form.is_valid():
        try:
            key, secret = actions.create_api_key(
                request.merchant,
                form.cleaned_data["branch"],
                form.cleaned_data["name"],
                created_by=request.user,
            )
        except ValidationFailed as exc:
            for error in exc.errors:
                field = error.get("field")
                form.add_error(field if field in form.fields else None, error["message"])
        else:
            # The secret is in this answer only: not in the session, the URL or any later page.
            response = _page(request, "console/api_key_secret.html", key=key, secret=secret)
            response["Cache-Control"] = "no-store"
            return response
    return _page(request, "console/api_key_new.html", form=form)


@admin_view
def api_key_revoke(request, key_id):
    key = _key(request, key_id)
    if request.method == "POST":
        if actions.revoke_api_key(key, by=request.user):
            messages.success(
                request, _("Key %(name)s revoked: it no longer works.") % {"name": key.name}
            )
        return redirect("console:api_keys")
    return _page(request, "console/api_key_revoke.html", key=key)
