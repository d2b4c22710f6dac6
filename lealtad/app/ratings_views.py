"""A5 in the customer's app: the visits still to rate, rating one (1–10, an optional comment),
the customer's ratings with the merchant's replies, and answering them. Thin: the rules are
`lealtad.ratings.actions` (one rating per visit, the texts' limits); another customer's visit
or rating is 404."""

from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_http_methods

from lealtad.app.auth import customer_required
from lealtad.core import inputs
from lealtad.core.errors import AlreadyRated, NotFound, ValidationFailed
from lealtad.ratings import actions


def _errors(exc: ValidationFailed) -> dict:
    errors = {e["field"]: e["message"] for e in exc.errors}
    # The actions' words speak to the e-mail page's reader as "tú"; the app says "usted".
    if "score" in errors:
        errors["score"] = pgettext("app", "Choose a score from 1 to 10.")
    for field in ("body", "comment"):
        if errors.get(field) == _("Write a message."):
            errors[field] = pgettext("app", "Write a message.")
    return errors


@customer_required
def ratings(request):
    customer = request.customer
    return render(
        request,
        "app/more/ratings.html",
        {
            "visits": actions.rateable_visits(customer),
            "ratings": list(actions.ratings_of(customer)),
            "notice": _("Thank you for your rating!") if request.GET.get("sent") else "",
        },
    )


@customer_required
@require_http_methods(["GET", "POST"])
def rate(request, transaction_id):
    try:
        visit = actions.get_visit_for(request.customer, transaction_id)
    except NotFound:
        raise Http404 from None
    context = {"visit": visit, "scores": range(1, 11), "errors": {}, "values": {}}
    if request.method == "POST":
        raw = request.POST.get("score", "")
        comment = request.POST.get("comment", "")
        context["values"] = {"score": raw, "comment": comment}
        score = int(raw) if inputs.is_number(raw) and len(raw) <= 2 else raw or None
        try:
            rating = actions.rate_visit(
                visit, score=score, comment=comment, source="app", customer=request.customer
            )
        except AlreadyRated:
            rating = actions.ratings_of(request.customer).get(transaction=visit)
            return redirect("app:rating", rating_id=rating.pk)
        except ValidationFailed as exc:
            context["errors"] = _errors(exc)
            return render(request, "app/more/rate.html", context, status=422)
        return redirect("app:rating", rating_id=rating.pk)
    if hasattr(visit, "rating"):
        return redirect("app:rating", rating_id=visit.rating.pk)
    return render(request, "app/more/rate.html", context)


@customer_required
@require_http_methods(["GET", "POST"])
def rating(request, rating_id):
    try:
        rating = actions.get_rating_of(request.customer, rating_id)
    except NotFound:
        raise Http404 from None
    errors, values, status = {}, {}, 200
    if request.method == "POST":
        body = request.POST.get("body", "")
        try:
            actions.customer_reply(rating, body=body)
        except ValidationFailed as exc:
            errors, values, status = _errors(exc), {"body": body}, 422
        else:
            return redirect(request.path + "#conversation")
    # Computed before opening: the page marks what was new.
    messages = list(rating.messages.select_related("gift_offer__gift"))
    actions.customer_opened(rating)
    return render(
        request,
        "app/more/rating.html",
        {"rating": rating, "conversation": messages, "errors": errors, "values": values},
        status=status,
    )
