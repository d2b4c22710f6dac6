"""A8: a customer converts a partner's points from the app, where the partner allows it.

Lealtad does not hold the partner's points: only the partner can debit them. So the app does not
credit coins itself. The customer asks (`request_conversion`); the partner, with its own API key,
lists its pending requests (`pending_for`), debits the points on its side and confirms
(`confirm`, which credits the coins through `partners.convert` under the request's reference:
once, however often it is confirmed) or refuses (`refuse`, e.g. not enough points). A partner
that does not allow it (`Partner.app_conversion` off) is not offered in the app.
"""

import uuid

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from lealtad.coins import partners
from lealtad.coins.models import ConversionRequest, Partner
from lealtad.core.errors import CustomerSuspended, LealtadError, NotFound, ValidationFailed

MAX_PENDING = 5  # per customer and partner: the partner answers them before more are taken


class ConversionUnavailable(LealtadError):
    code, status, title = (
        "partner_conversion_unavailable",
        422,
        gettext_lazy("This partner does not convert points from the app"),
    )


class RequestDecided(LealtadError):
    code, status, title = (
        "conversion_request_decided",
        409,
        gettext_lazy("This request was already answered otherwise"),
    )


class TooManyPending(LealtadError):
    code, status, title = (
        "too_many_pending_requests",
        422,
        gettext_lazy("Too many requests waiting for this partner"),
    )


def app_partners():
    """The partners a customer may ask from the app."""
    return Partner.objects.filter(active=True, app_conversion=True).order_by("name")


def _partner(partner_id) -> Partner:
    try:
        pk = int(partner_id)
    except (TypeError, ValueError, OverflowError):
        pk = None
    partner = None
    if pk is not None and 0 < pk < 2**63:
        partner = Partner.objects.filter(pk=pk, active=True).first()
    if partner is None:
        raise NotFound(_("Partner not found."))
    if not partner.app_conversion:
        raise ConversionUnavailable()
    return partner


def request_conversion(customer, partner_id, partner_points, now=None) -> ConversionRequest:
    """The customer's request: checked as the conversion will be (whole points, at least one
    coin, not suspended), then left for the partner."""
    now = now or timezone.now()
    partner = _partner(partner_id)
    if (
        isinstance(partner_points, bool)
        or not isinstance(partner_points, int)
        or not 0 < partner_points <= partners.MAX_POINTS
    ):
        message = _("A whole number above zero.")
        raise ValidationFailed([{"field": "partner_points", "message": message}], message)
    if partners.coins_for_points(partner_points, partner.rate) < 1:
        minimum = partners.coins_for_minimum(partner.rate)
        message = _("%(points)s points convert to less than one coin; the least is %(minimum)s.")
        message = message % {"points": partner_points, "minimum": minimum}
        error = partners.ConversionBelowOneCoin(
            [{"field": "partner_points", "message": message}], message
        )
        error.extra["minimum"] = minimum
        raise error
    if customer.suspended:
        raise CustomerSuspended()
    with transaction.atomic():
        waiting = ConversionRequest.objects.filter(
            partner=partner, customer=customer, status=ConversionRequest.PENDING
        )
        if waiting.count() >= MAX_PENDING:
            raise TooManyPending()
        return ConversionRequest.objects.create(
            partner=partner,
            customer=customer,
            partner_points=partner_points,
            reference=f"app-{uuid.uuid4().hex[:24]}",
            created_at=now,
        )


def requests_of(customer):
    return (
        ConversionRequest.objects.filter(customer=customer)
        .select_related("partner", "conversion")
        .order_by("-created_at", "-pk")
    )


def pending_for(partner):
    return (
        ConversionRequest.objects.filter(partner=partner, status=ConversionRequest.PENDING)
        .select_related("customer")
        .order_by("created_at", "pk")
    )


def _locked(partner, request_id) -> ConversionRequest:
    try:
        pk = int(request_id)
    except (TypeError, ValueError, OverflowError):
        pk = None
    found = None
    if pk is not None and 0 < pk < 2**63:
        found = (
            ConversionRequest.objects.select_for_update()
            .select_related("customer", "partner")
            .filter(pk=pk, partner=partner)
            .first()
        )
    if found is None:
        raise NotFound(_("Conversion request not found."))
    return found


def confirm(partner, request_id, now=None) -> tuple[ConversionRequest, bool]:
    """The partner debited the points: the coins are credited (once). Returns the request and
    whether this call converted it (False: it was converted already, nothing moved now)."""
    now = now or timezone.now()
    with transaction.atomic():
        request = _locked(partner, request_id)
        if request.status == ConversionRequest.CONVERTED:
            return request, False
        if request.status == ConversionRequest.REFUSED:
            raise RequestDecided(_("The request was refused."))
        result = partners.convert(
            partner=partner,
            customer=request.customer,
            partner_points=request.partner_points,
            reference=request.reference,
            now=now,
        )
        request.status = ConversionRequest.CONVERTED
        request.conversion = result.record
        request.decided_at = now
        request.save(update_fields=["status", "conversion", "decided_at"])
        return request, True


def refuse(partner, request_id, reason="", now=None) -> ConversionRequest:
    """The partner cannot debit the points (not enough, unknown member…): nothing is credited."""
    reason = (reason or "").strip()
    if len(reason) > 200 or not reason.isprintable():
        message = _("At most %d characters.") % 200
        raise ValidationFailed([{"field": "reason", "message": message}], message)
    with transaction.atomic():
        request = _locked(partner, request_id)
        if request.status == ConversionRequest.CONVERTED:
            raise RequestDecided(_("The request was converted."))
        if request.status == ConversionRequest.PENDING:
            request.status = ConversionRequest.REFUSED
            request.reason = reason
            request.decided_at = now or timezone.now()
            request.save(update_fields=["status", "reason", "decided_at"])
        return request
