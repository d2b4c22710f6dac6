"""F1/F4: the customer's page, no sign-in: the signed link from the invitation (or from a
reply's e-mail) rates the visit once and then shows the conversation with the merchant.

Links: rating needs a link at most 7 days old; the conversation stays open on any link of that
visit until 7 days after the merchant's last message (or the link's own 7 days, the later)."""

import zoneinfo

from django.conf import settings
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from lealtad.core import inputs
from lealtad.core.errors import AlreadyRated, ValidationFailed
from lealtad.ledger.models import Transaction
from lealtad.notifications.actions import language_for
from lealtad.ratings import actions, links
from lealtad.ratings.models import Rating


class Closed(Exception):
    def __init__(self, status: int, title: str, text: str):
        self.status, self.title, self.text = status, title, text


def _visit_for(request, token: str, now):
    """(visit, its rating or None, when the link was issued), or Closed: the page to show."""
    try:
        transaction_id, issued = links.read_token(token)
    except links.BadLink:
        raise Closed(
            400,
            _("This link is not valid"),
            _("Check that you opened the whole link from the e-mail, or ask the shop."),
        ) from None
    txn = (
        Transaction.objects.select_related("merchant", "branch", "customer")
        .filter(pk=transaction_id)
        .first()
    )
    if txn is None or not actions.is_visit(txn):
        raise Closed(404, _("Visit not found"), _("This visit cannot be rated."))
    _speak(request, txn.merchant)
    rating = Rating.objects.filter(transaction=txn).first()
    open_until = issued + links.VALID
    if rating is not None:
        last = actions.last_merchant_message_at(rating)
        if last is not None:
            open_until = max(open_until, last + links.VALID)
    if now > open_until:
        raise _expired()
    return txn, rating, issued


def _expired() -> Closed:
    return Closed(
        410,
        _("This link has expired"),
        _("Links to rate a visit are valid for 7 days. Thank you all the same!"),
    )


def _speak(request, merchant) -> None:
    """The merchant's language, unless the customer chose one with the switch."""
    if settings.LANGUAGE_COOKIE_NAME not in request.COOKIES:
        language = language_for(merchant)
        translation.activate(language)
        request.LANGUAGE_CODE = language


def _page(request, token, txn, rating, *, errors=None, values=None, status=200, notice=""):
    tz = zoneinfo.ZoneInfo(txn.merchant.timezone)
    messages = list(rating.messages.select_related("gift_offer__gift")) if rating else []
    context = {
        "token": token,
        "merchant": txn.merchant,
        "visit": txn,
        "visit_at": timezone.localtime(txn.created_at, tz),
        "rating": rating,
        "conversation": messages,
        "scores": range(1, 11),
        "errors": {e["field"]: e["message"] for e in errors or []},
        "values": values or {},
        "notice": notice,
    }
    return render(request, "ratings/page.html", context, status=status)


def _closed(request, exc: Closed):
    return render(
        request,
        "ratings/closed.html",
        {"title": exc.title, "text": exc.text},
        status=exc.status,
    )


@require_http_methods(["GET", "POST"])
def page(request, token):
    now = timezone.now()
    try:
        txn, rating, issued = _visit_for(request, token, now)
    except Closed as exc:
        return _closed(request, exc)
    if request.method == "GET":
        if rating is not None:
            actions.customer_opened(rating, now)
        notice = _("Thank you for your rating!") if request.GET.get("sent") else ""
        if request.GET.get("again"):
            notice = _("This visit was already rated: here is your rating.")
        return _page(request, token, txn, rating, notice=notice)
    if rating is not None:
        return redirect(_here(token) + "?again=1")
    if now > issued + links.VALID:  # rating needs a link of the last 7 days
        return _closed(request, _expired())
    raw = request.POST.get("score", "")
    values = {"score": raw, "comment": request.POST.get("comment", "")}
    score = int(raw) if inputs.is_number(raw) and len(raw) <= 2 else raw or None
    try:
        actions.rate_visit(txn, score=score, comment=values["comment"], now=now)
    except ValidationFailed as exc:
        return _page(request, token, txn, None, errors=exc.errors, values=values, status=422)
    except AlreadyRated:
        return redirect(_here(token) + "?again=1")
    return redirect(_here(token) + "?sent=1")


@require_http_methods(["POST"])
def answer(request, token):
    now = timezone.now()
    try:
        txn, rating, _issued = _visit_for(request, token, now)
    except Closed as exc:
        return _closed(request, exc)
    if rating is None:
        return redirect(_here(token))
    body = request.POST.get("body", "")
    try:
        actions.customer_reply(rating, body=body, now=now)
    except ValidationFailed as exc:
        return _page(
            request, token, txn, rating, errors=exc.errors, values={"body": body}, status=422
        )
    return redirect(_here(token) + "#conversation")


def _here(token) -> str:
    from django.urls import reverse

    return reverse("ratings:page", args=[token])
