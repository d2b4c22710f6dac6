"""The console's ratings inbox (F2–F6, seed 003): the counters and the NPS of the filtered
period, the list with its sorts and filters, the detail (customer, visit, invoice, history), the
conversation with replies and gifts, and the automatic reply.

Every lookup goes through the admin's merchant: another merchant's rating is a 404. Opening a
rating's detail marks what the customer wrote as read, like opening an e-mail.
"""

from decimal import Decimal
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_POST

from lealtad.console.reports import EARLIEST, LATEST, _without_jit, branches_of
from lealtad.console.views import _page, admin_view
from lealtad.core.errors import LealtadError, ValidationFailed
from lealtad.core.replica import reads_from_replica
from lealtad.customers.models import Membership
from lealtad.offers.models import Gift, GiftKind, GiftOffer, GiftStatus
from lealtad.ratings import actions, inbox
from lealtad.ratings import nps as scores
from lealtad.ratings.models import AutoReply, Rating

PER_PAGE = 25
BODY_MAX = 2000
# The column headers: the sort each one asks for first, and its label.
COLUMNS = (
    ("score", "-score", pgettext_lazy("ratings column", "Score")),
    ("customer", "customer", gettext_lazy("Customer")),
    ("date", "date", gettext_lazy("Date")),
    ("unread", "unread", gettext_lazy("Inbox")),
)


class InboxFilters(forms.Form):
    """The list's query string: `branch`, `from`, `to`, `q`, `sort`, `page`."""

    q = forms.CharField(label=gettext_lazy("Customer"), required=False, max_length=120)
    sort = forms.ChoiceField(
        required=False, choices=[(s, s) for s in inbox.SORTS], widget=forms.HiddenInput
    )

    def __init__(self, data, *, merchant):
        super().__init__(data)
        self.merchant = merchant
        attrs = {"type": "date", "min": EARLIEST.isoformat(), "max": LATEST.isoformat()}
        for name, label in (("from", gettext_lazy("From")), ("to", gettext_lazy("To"))):
            self.fields[name] = forms.DateField(
                label=label,
                required=False,
                widget=forms.DateInput(attrs=attrs, format="%Y-%m-%d"),
            )
        self.branches = branches_of(merchant)
        self.fields["branch"] = forms.ChoiceField(
            label=gettext_lazy("Branch"),
            required=False,
            choices=[("", _("All branches"))] + [(str(b.pk), b.name) for b in self.branches],
        )

    def clean(self):
        data = super().clean()
        start, end = data.get("from"), data.get("to")
        for name, day in (("from", start), ("to", end)):
            if day is not None and not EARLIEST <= day <= LATEST:
                self.add_error(
                    name,
                    _("Choose a date between %(first)s and %(last)s.")
                    % {"first": EARLIEST.isoformat(), "last": LATEST.isoformat()},
                )
        if start and end and end < start and "to" not in self.errors:
            self.add_error("to", _("The end date is before the start date."))
        return data

    def value(self, name, default=None):
        return self.cleaned_data.get(name) or default if self.is_valid() else default

    @property
    def branch(self):
        wanted = self.value("branch")
        return next((b for b in self.branches if str(b.pk) == wanted), None)

    @property
    def chosen_sort(self) -> str:
        return self.value("sort", inbox.DEFAULT_SORT)

    def scope(self) -> dict:
        """The filters as inbox()'s keywords; an invalid form filters nothing but the branch."""
        if not self.is_valid():
            return {"branch": None}
        return {
            "branch": self.branch,
            "date_from": self.cleaned_data.get("from"),
            "date_to": self.cleaned_data.get("to"),
            "q": inbox.NameQuery(self.cleaned_data.get("q", "").strip()),
        }

    def query(self, **changes) -> str:
        """The query string of this list with `changes` (None drops a key), for links."""
        data = {k: v for k, v in self.data.items() if k in ("branch", "from", "to", "q", "sort")}
        for key, value in changes.items():
            if value is None:
                data.pop(key, None)
            else:
                data[key] = value
        return urlencode({k: v for k, v in data.items() if v})


def _columns(filters: InboxFilters) -> list[dict]:
    """Each header's link: its first sort, or the reverse when it is the sort in force."""
    current = filters.chosen_sort
    out = []
    for field, first, label in COLUMNS:
        active = current.lstrip("-") == field
        reverse_of_current = current[1:] if current.startswith("-") else f"-{current}"
        target = reverse_of_current if active else first
        descending = current.startswith("-")
        if field == "unread":  # "unread" is unread first: a descending order of the flag
            descending = not descending
        out.append(
            {
                "label": label,
                "field": field,
                "href": "?" + filters.query(sort=target),
                "aria_sort": ("descending" if descending else "ascending") if active else None,
            }
        )
    return out


def _rows(page) -> list[dict]:
    return [
        {
            "rating": rating,
            "group": scores.colour(rating.score),
            "unread": rating.unread,
        }
        for rating in page
    ]


def _list_context(request, filters: InboxFilters, *, customer=None) -> dict:
    merchant = request.merchant
    scope = filters.scope()
    with _without_jit():
        if customer is not None:  # "Ver historial": this customer's ratings here, nothing else
            rows = inbox.inbox(merchant, sort=filters.chosen_sort, customer=customer)
        else:
            rows = inbox.inbox(merchant, sort=filters.chosen_sort, **scope)
        figures = inbox.counts(merchant, **scope)
        paginator = Paginator(rows, PER_PAGE)
        if customer is None:  # the list is what the counters count: no second count
            paginator.__dict__["count"] = figures["ratings"]
        page = paginator.get_page(request.GET.get("page"))
        listed = _rows(page)
        period = scores.nps(
            merchant,
            date_from=scope.get("date_from"),
            date_to=scope.get("date_to"),
            branch=scope.get("branch"),
        )
    return {
        "filters": filters,
        "counts": figures,
        "score": period,
        "page": page,
        "rows": listed,
        "columns": _columns(filters),
        "query": filters.query(),
        "reset": "?" + filters.query(q=None, **{"from": None, "to": None}),
        "history_of": customer,
    }


@admin_view
@reads_from_replica  # the list and its counters; opening a rating writes (read marks)
def inbox_list(request):
    filters = InboxFilters(request.GET, merchant=request.merchant)
    response = _page(request, "console/ratings.html", **_list_context(request, filters))
    if not filters.is_valid():
        response.status_code = 400
    return response


def _gift_figures(membership) -> dict:
    now = timezone.now()
    if membership is None:
        return {"offered": 0, "redeemed": 0, "expired": 0}
    return GiftOffer.objects.filter(membership=membership).aggregate(
        offered=Count("pk"),
        redeemed=Count("pk", filter=Q(status=GiftStatus.REDEEMED)),
        expired=Count(
            "pk",
            filter=Q(status=GiftStatus.EXPIRED) | Q(status=GiftStatus.OFFERED, expires_at__lte=now),
        ),
    )


def invoice_lines(transaction) -> list:
    """The POS line items behind a visit when an invoice of lealtad.invoices is linked to it.
    That app may not be installed yet: then there are none, and the screen shows the rest."""
    from django.apps import apps

    if transaction is None or not apps.is_installed("lealtad.invoices"):
        return []
    invoice_model = apps.get_model("invoices", "Invoice")
    invoice = invoice_model.objects.filter(transaction=transaction).first()
    if invoice is None:
        return []
    lines = getattr(invoice, "lines", None)
    if lines is None:
        return []
    return list(lines.all()) if hasattr(lines, "all") else list(lines)


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=gettext_lazy("Message"),
        max_length=BODY_MAX,
        error_messages={"required": gettext_lazy("Write a message.")},
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": BODY_MAX}),
    )
    gift = forms.ChoiceField(label=gettext_lazy("Gift"), required=False)

    def __init__(self, *args, merchant, **kwargs):
        super().__init__(*args, **kwargs)
        self.gifts = list(Gift.objects.filter(merchant=merchant, active=True).order_by("name"))
        self.fields["gift"].choices = [("", _("No gift"))] + [
            (str(g.pk), f"{g.name} · {g.summary}") for g in self.gifts
        ]

    def clean_body(self):
        body = self.cleaned_data["body"].strip()
        if not body:
            raise forms.ValidationError(_("Write a message."))
        return body

    @property
    def chosen_gift(self):
        wanted = self.cleaned_data.get("gift")
        return next((g for g in self.gifts if str(g.pk) == wanted), None)


class NewGiftForm(forms.Form):
    """F5's "Nuevo regalo": product, points or discount, made on the spot (prefix `new`). The
    action decides what is missing (a product's name, the points, the discount) and says so."""

    kind = forms.ChoiceField(
        label=gettext_lazy("Kind of gift"), choices=GiftKind.choices, initial=GiftKind.POINTS
    )
    name = forms.CharField(label=gettext_lazy("Product or name"), required=False, max_length=120)
    points = forms.IntegerField(
        label=gettext_lazy("Points"), required=False, min_value=1, max_value=10_000_000
    )
    discount_percent = forms.DecimalField(
        label=gettext_lazy("Discount (%)"),
        required=False,
        min_value=Decimal("0.01"),
        max_value=Decimal("100"),
        decimal_places=2,
    )
    valid_days = forms.IntegerField(
        label=gettext_lazy("Valid for (days)"),
        required=False,
        initial=30,
        min_value=1,
        max_value=3660,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, prefix="new", **kwargs)

    def gift_data(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}


def _detail(request, rating, *, reply=None, new_gift=None, status=200):
    merchant = request.merchant
    filters = InboxFilters(request.GET, merchant=merchant)
    history = request.GET.get("history") == "1"
    context = _list_context(request, filters, customer=rating.customer if history else None)
    membership = (
        Membership.objects.filter(merchant=merchant, customer=rating.customer)
        .select_related("customer")
        .first()
    )
    last = (
        Rating.objects.filter(merchant=merchant, customer=rating.customer)
        .order_by("-created_at", "-id")
        .values_list("score", flat=True)
        .first()
    )
    earlier = Rating.objects.filter(
        merchant=merchant, customer=rating.customer, created_at__lt=rating.created_at
    ).count()
    conversation = list(rating.messages.select_related("staff").order_by("created_at", "pk"))
    context.update(
        r=rating,
        group=scores.colour(rating.score),
        last_score=last,
        last_group=scores.colour(last) if last else None,
        gifts=_gift_figures(membership),
        membership=membership,
        earlier=earlier,
        history=history,
        conversation=conversation,
        transaction=rating.transaction,
        lines=invoice_lines(rating.transaction),
        reply=reply or ReplyForm(merchant=merchant),
        new_gift=new_gift or NewGiftForm(),
        detail_query=filters.query(),
    )
    response = _page(request, "console/ratings.html", **context)
    response.status_code = status
    return response


@admin_view
def rating_detail(request, rating_id):
    rating = inbox.get_rating_for(request.merchant, rating_id)
    actions.mark_read(rating, staff=request.user)
    return _detail(request, rating)


def _back(rating, request) -> str:
    url = reverse("console:rating", args=[rating.pk])
    query = request.POST.get("query", "")
    return f"{url}?{query}#conversation" if query else f"{url}#conversation"


@admin_view
@require_POST
def rating_reply(request, rating_id):
    merchant = request.merchant
    rating = inbox.get_rating_for(merchant, rating_id)
    form = ReplyForm(request.POST, merchant=merchant)
    make_gift = request.POST.get("new_gift") == "1"
    new_gift = NewGiftForm(request.POST) if make_gift else None
    valid = form.is_valid()
    if new_gift is not None and not new_gift.is_valid():
        valid = False
    if valid:
        gift_data = new_gift.gift_data() if new_gift is not None else None
        try:
            actions.reply(
                rating,
                body=form.cleaned_data["body"],
                staff=request.user,
                gift=None if new_gift is not None else form.chosen_gift,
                new_gift=gift_data,
            )
        except ValidationFailed as exc:
            for error in getattr(exc, "errors", []):
                field = error.get("field")
                if new_gift is not None and field in new_gift.fields:
                    new_gift.add_error(field, error["message"])
                else:
                    form.add_error(field if field in form.fields else None, error["message"])
        except LealtadError as exc:
            form.add_error(None, str(exc.detail))
        else:
            messages.success(request, _("Reply sent."))
            return redirect(_back(rating, request))
    return _detail(request, rating, reply=form, new_gift=new_gift, status=400)


class AutoReplyForm(forms.Form):
    subject = forms.CharField(label=gettext_lazy("Message subject"), max_length=150)
    body = forms.CharField(
        label=gettext_lazy("Message to send"),
        max_length=BODY_MAX,
        widget=forms.Textarea(attrs={"rows": 6, "maxlength": BODY_MAX}),
    )
    enabled = forms.BooleanField(label=gettext_lazy("Send it automatically"), required=False)

    def clean(self):
        data = super().clean()
        for name in ("subject", "body"):
            if name in data and not data[name].strip():
                self.add_error(name, _("This field is required."))
        return data


@admin_view
def auto_reply(request):
    merchant = request.merchant
    current = AutoReply.objects.filter(merchant=merchant).first()
    initial = (
        {"subject": current.subject, "body": current.body, "enabled": current.enabled}
        if current
        else {}
    )
    form = AutoReplyForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        actions.save_auto_reply(
            merchant,
            subject=form.cleaned_data["subject"].strip(),
            body=form.cleaned_data["body"].strip(),
            enabled=form.cleaned_data["enabled"],
        )
        messages.success(request, _("Automatic reply saved."))
        return redirect("console:auto_reply")
    response = _page(request, "console/auto_reply.html", form=form, current=current)
    if request.method == "POST":
        response.status_code = 400
    return response


@admin_view
@require_POST
def auto_reply_toggle(request):
    """The one-click switch: on when off and back; a reply never saved cannot be switched on."""
    merchant = request.merchant
    current = AutoReply.objects.filter(merchant=merchant).first()
    if current is None:
        messages.error(request, _("Write the automatic reply first."))
    else:
        actions.save_auto_reply(
            merchant, subject=current.subject, body=current.body, enabled=not current.enabled
        )
        messages.success(
            request,
            _("Automatic reply switched on.")
            if not current.enabled
            else _("Automatic reply switched off."),
        )
    return redirect("console:auto_reply")
