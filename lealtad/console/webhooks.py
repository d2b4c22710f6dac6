"""Webhooks in the console (issue 12, I4): the merchant admin's endpoints (URL, events, whether
active and why not, the last delivery), creating one (the secret shown once), rotating its secret
(the old one signs beside the new for 24 h), deleting, disabling and enabling it, and per endpoint
the deliveries, newest first, with "send again" and "send a test event". The work is done by
`lealtad.webhooks.actions`; another merchant's endpoint or delivery is 404."""

import re

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import OuterRef, Subquery
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from lealtad.console.views import _page, admin_view
from lealtad.core.errors import LealtadError, ValidationFailed
from lealtad.webhooks import actions
from lealtad.webhooks.events import EVENT_TYPES
from lealtad.webhooks.models import Delivery, Endpoint

PER_PAGE = 25


class EndpointForm(forms.Form):
    url = forms.CharField(
        label=gettext_lazy("URL"),
        max_length=2000,
        widget=forms.URLInput(attrs={"autofocus": True, "placeholder": "https://"}),
        help_text=gettext_lazy("Your system's address that receives the events: https only."),
    )
    events = forms.MultipleChoiceField(
        label=gettext_lazy("Events"),
        choices=[(code, format_lazy("{} ({})", text, code)) for code, text in EVENT_TYPES.items()],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": gettext_lazy("Choose at least one event.")},
    )
    description = forms.CharField(label=gettext_lazy("Description"), max_length=200, required=False)


def _endpoint(request, endpoint_id) -> Endpoint:
    return actions.get_endpoint(request.merchant, endpoint_id)  # NotFound → 404 (admin_view)


def _secret_page(request, endpoint, secret, rotated=False):
    response = _page(
        request, "console/webhook_secret.html", endpoint=endpoint, secret=secret, rotated=rotated
    )
    response["Cache-Control"] = "no-store"  # the secret is in this answer only
    return response


@admin_view
def webhooks(request):
    last = Delivery.objects.filter(endpoint=OuterRef("pk")).order_by("-created_at", "-pk")
    endpoints = (
        Endpoint.objects.filter(merchant=request.merchant)
        .annotate(
            last_status=Subquery(last.values("status")[:1]),
            last_code=Subquery(last.values("last_status_code")[:1]),
            last_at=Subquery(last.values("created_at")[:1]),
        )
        .order_by("-active", "-created_at")
    )
    return _page(request, "console/webhooks.html", endpoints=endpoints, labels=STATUS_LABELS)


STATUS_LABELS = dict(Delivery.Status.choices)


@admin_view
def webhook_new(request):
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint, secret = actions.create_endpoint(
                request.merchant,
                url=form.cleaned_data["url"],
                events=form.cleaned_data["events"],
                description=form.cleaned_data["description"],
                staff=request.user,
            )
        except actions.WebhookUrlNotAllowed as exc:
            form.add_error("url", str(exc.detail))
        except ValidationFailed as exc:
            for error in exc.errors:
                field = error.get("field")
                form.add_error(field if field in form.fields else None, error["message"])
        else:
            return _secret_page(request, endpoint, secret)
    return _page(request, "console/webhook_new.html", form=form, event_types=EVENT_TYPES)


@admin_view
def webhook_detail(request, endpoint_id):
    endpoint = _endpoint(request, endpoint_id)
    rows = Delivery.objects.filter(endpoint=endpoint).select_related("event")
    page = Paginator(rows.order_by("-created_at", "-pk"), PER_PAGE).get_page(
        request.GET.get("page")
    )
    return _page(
        request,
        "console/webhook.html",
        endpoint=endpoint,
        page=page,
        event_types=EVENT_TYPES,
        now=timezone.now(),
    )


@admin_view
def webhook_rotate(request, endpoint_id):
    endpoint = _endpoint(request, endpoint_id)
    if request.method == "POST":
        return _secret_page(request, endpoint, actions.rotate_secret(endpoint), rotated=True)
    return _page(request, "console/webhook_confirm.html", endpoint=endpoint, what="rotate")


@admin_view
def webhook_delete(request, endpoint_id):
    endpoint = _endpoint(request, endpoint_id)
    if request.method == "POST":
        actions.delete_endpoint(request.merchant, endpoint.pk)
        messages.success(request, _("Webhook %(url)s deleted.") % {"url": endpoint.url})
        return redirect("console:webhooks")
    return _page(request, "console/webhook_confirm.html", endpoint=endpoint, what="delete")


@admin_view
@require_POST
def webhook_enable(request, endpoint_id):
    endpoint = _endpoint(request, endpoint_id)
    actions.enable_endpoint(endpoint)
    messages.success(request, _("Webhook enabled: new events are sent to it again."))
    return redirect("console:webhook", endpoint.pk)


@admin_view
@require_POST
def webhook_disable(request, endpoint_id):
    endpoint = _endpoint(request, endpoint_id)
    if actions.disable_endpoint(endpoint):
        messages.success(request, _("Webhook disabled: nothing more is sent to it."))
    return redirect("console:webhook", endpoint.pk)


@admin_view
@require_POST
def webhook_test(request, endpoint_id):
    endpoint = _endpoint(request, endpoint_id)
    try:
        delivery = actions.send_test_event(endpoint)
    except LealtadError as exc:
        messages.error(request, str(exc.detail))
    else:
        messages.success(
            request,
            _("Test event %(id)s sent: its delivery is listed below.") % {"id": delivery.event_id},
        )
    return redirect("console:webhook", endpoint.pk)


@admin_view
@require_POST
def webhook_redeliver(request, endpoint_id, delivery_id):
    endpoint = _endpoint(request, endpoint_id)
    if not re.fullmatch(r"[0-9]{1,18}", delivery_id):  # a BigAutoField id, or nothing
        raise Http404
    delivery = get_object_or_404(Delivery, pk=int(delivery_id), endpoint=endpoint)
    try:
        actions.redeliver(delivery)
    except LealtadError as exc:
        messages.error(request, str(exc.detail))
    else:
        messages.success(
            request,
            _("Delivery of %(id)s sent again, with the same webhook-id.")
            % {"id": delivery.event_id},
        )
    return redirect("console:webhook", endpoint.pk)
