"""Privacy in the customer's app: marketing consent on/off per merchant with its history (C12
consent records, channel "app"), the download of everything the network holds on the customer,
and closing the account (anonymised by `lealtad.customers.privacy`, the ledger kept whole, then
every session revoked)."""

import json

from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from lealtad.app import actions as app_actions
from lealtad.app.auth import customer_required, sign_out
from lealtad.core.errors import NotFound, ValidationFailed
from lealtad.core.ids import parse_id
from lealtad.customers import privacy
from lealtad.customers.models import Membership

# The word the customer types to close the account; shown (and accepted) in their language,
# and the other languages' words are accepted too.
CONFIRM_WORDS = {"CLOSE", "CERRAR", "ENCERRAR"}


def confirm_word() -> str:
    return _("CLOSE")


def close_account(customer, confirm, now=None) -> None:
    """Anonymise the customer (`privacy.anonymise`: the ledger stays whole) and revoke every app
    session and API token, in one transaction. `confirm` must be the word the screen asks for."""
    word = str(confirm or "").strip().upper()
    if word not in CONFIRM_WORDS | {confirm_word().upper()}:
        raise ValidationFailed(
            [
                {
                    "field": "confirm",
                    "message": _("Type %(word)s to confirm.") % {"word": confirm_word()},
                }
            ]
        )
    with transaction.atomic():
        privacy.anonymise(customer, now=now or timezone.now())
        app_actions.revoke_all(customer)


def _memberships(customer):
    return (
        Membership.objects.filter(customer=customer)
        .select_related("merchant")
        .prefetch_related("consents")
        .order_by("merchant__name")
    )


@customer_required
def privacy_page(request):
    rows = [
        {"membership": m, "history": sorted(m.consents.all(), key=lambda c: c.at, reverse=True)}
        for m in _memberships(request.customer)
    ]
    return render(request, "app/more/privacy.html", {"rows": rows})


@customer_required
@require_POST
def consent(request, merchant_id):
    try:
        membership = Membership.objects.get(
            customer=request.customer, merchant_id=parse_id(merchant_id)
        )
    except (Membership.DoesNotExist, NotFound):
        raise Http404 from None
    given = request.POST.get("given") == "1"
    privacy.set_marketing_consent(membership, given=given, channel="app")
    return redirect("app:privacy")


@customer_required
def export(request):
    data = privacy.export_all(request.customer)
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False, indent=2, default=str),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = 'attachment; filename="lealtad-my-data.json"'
    return response


@customer_required
@require_http_methods(["GET", "POST"])
def close(request):
    context = {"word": confirm_word(), "errors": {}, "values": {}}
    if request.method == "POST":
        typed = request.POST.get("confirm", "")
        try:
            close_account(request.customer, typed)
        except ValidationFailed as exc:
            context["errors"] = {e["field"]: e["message"] for e in exc.errors}
            context["values"] = {"confirm": typed}
            return render(request, "app/more/close.html", context, status=422)
        request.customer = None  # signed out: the page shows no app navigation
        response = render(request, "app/more/closed.html", {})
        sign_out(request, response)
        return response
    return render(request, "app/more/close.html", context)
