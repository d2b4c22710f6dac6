"""A7 in the merchant's console: the queue of purchase claims, each with its photo (streamed only
to this merchant's admins), approved or rejected with a reason the customer reads."""

from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from lealtad.claims import actions
from lealtad.claims.forms import RejectForm
from lealtad.claims.models import ClaimStatus
from lealtad.console.views import _page, admin_view
from lealtad.core.errors import LealtadError, NotFound


@admin_view
def queue(request):
    decided = request.GET.get("status") == "decided"
    claims = actions.queue(request.merchant, status="decided" if decided else ClaimStatus.WAITING)
    return _page(request, "claims/console_queue.html", claims=claims, decided=decided)


@admin_view
def claim_detail(request, claim_id):
    return _detail(request, claim_id)


def _detail(request, claim_id, form=None, status=200):
    # A refused form answers 200, as the console's other forms do: its boosted (htmx) pages swap
    # only 2xx answers in.
    claim = actions.get_claim_for(request.merchant, claim_id)
    actions.flag_duplicates([claim])
    response = _page(
        request,
        "claims/console_claim.html",
        claim=claim,
        outcome=actions.outcome(claim),
        reject_form=form or RejectForm(),
    )
    response.status_code = status
    return response


@admin_view
def photo(request, claim_id):
    """The claim's picture, for this merchant's admins only: never a public /media/ address."""
    claim = actions.get_claim_for(request.merchant, claim_id)
    try:
        handle = actions.open_photo(claim)  # FileResponse closes it
    except OSError:
        raise Http404 from None
    response = FileResponse(handle, content_type=claim.photo_type)
    response["Content-Disposition"] = "inline"
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_POST
@admin_view
def approve(request, claim_id):
    try:
        claim = actions.approve_claim(
            merchant=request.merchant, claim_id=claim_id, staff=request.user
        )
    except NotFound:
        raise
    except LealtadError as exc:
        messages.error(request, str(exc.detail))
        return redirect("console:claim", claim_id=claim_id)
    shown = actions.outcome(claim)
    if shown.coins:
        text = _("Claim approved: %(n)d coins.") % {"n": shown.coins}
    elif shown.held:
        text = _("Claim approved: %(n)d points, held in the approval queue.") % {"n": shown.points}
    else:
        text = _("Claim approved: %(n)d points.") % {"n": shown.points}
    messages.success(request, text)
    return redirect("console:claims")


@require_POST
@admin_view
def reject(request, claim_id):
    form = RejectForm(request.POST)
    if not form.is_valid():
        return _detail(request, claim_id, form=form)
    try:
        actions.reject_claim(
            merchant=request.merchant,
            claim_id=claim_id,
            reason=form.cleaned_data["reason"],
            staff=request.user,
        )
    except NotFound:
        raise
    except LealtadError as exc:
        form.add_error("reason", str(exc.detail))
        return _detail(request, claim_id, form=form)
    messages.success(request, _("Claim rejected."))
    return redirect("console:claims")
