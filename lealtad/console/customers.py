"""The console's customer screens: the list (fast at 100,000 customers), the three-step
registration with dependents (C3, C7, C8), the profile with consumption and statement (C10),
reversals (P8), blocks (C11), consent and the customer's data export (C12).

Everything is scoped by the admin's merchant: a customer who never came to it is a 404."""

import contextlib
import datetime as dt
import json
import zoneinfo
from decimal import Decimal

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import models as db
from django.db.models import Avg, Count, ExpressionWrapper, Max, Q, prefetch_related_objects
from django.forms import BooleanField
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_POST

from lealtad.console import customer_forms as forms
from lealtad.console.views import _page, admin_view
from lealtad.core import inputs
from lealtad.core.errors import (
    AlreadyReversed,
    InsufficientPoints,
    LealtadError,
    NotFound,
    ValidationFailed,
)
from lealtad.customers import actions as customers
from lealtad.customers import completeness, documents
from lealtad.customers.models import Customer, Membership, RedeemPolicy
from lealtad.ledger import actions as ledger
from lealtad.ledger.models import Kind, Status, Transaction

PER_PAGE = 50
SEARCH_COUNT_CAP = 5000
STATEMENT_DEFAULT_DAYS = 365
# P8: what the console voids. Bonuses and adjustments are corrected by a new adjustment.
CONSOLE_REVERSIBLE = {Kind.ACCRUAL, Kind.REDEMPTION, Kind.POINT_PAYMENT}


# --- the list -----------------------------------------------------------------------------------


def search_members(merchant, q: str):
    """Identifiers (card, document, e-mail, mobile) by exact match, the customers found first so
    that each lookup is one index probe; words without digits by name (trigram indexes on
    PostgreSQL). Either way only this merchant's memberships."""
    rows = Membership.objects.filter(merchant=merchant)
    q = (q or "").strip()
    if not q:
        return rows
    has_digits, has_letters = any(c.isdigit() for c in q), any(c.isalpha() for c in q)
    if "@" in q or (has_digits and (len(q.split()) == 1 or not has_letters)):
        who = customers.documents_filter(q)
        with contextlib.suppress(ValueError):
            who |= Q(email=documents.normalize_email(q))
        with contextlib.suppress(ValueError):
            who |= Q(mobile=documents.normalize_mobile(q, merchant.country))
        ids = list(Customer.objects.filter(who).values_list("pk", flat=True)[:20]) if who else []
        return rows.filter(Q(card_number=q) | Q(customer_id__in=ids))
    for word in q.split()[:6]:
        rows = rows.filter(
            Q(customer__first_name__icontains=word) | Q(customer__last_name__icontains=word)
        )
    return rows


class CappedPaginator(Paginator):
    """Counting every match of a broad search would read them all: past `cap` the list says
    "more than", and pages go as far as the cap. The plain list counts exactly (an index scan)."""

    def __init__(self, *args, cap=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.cap = cap
        self.capped = False

    @cached_property
    def count(self):
        if self.cap is None:
            return super().count
        found = self.object_list.order_by()[: self.cap + 1].count()
        self.capped = found > self.cap
        return min(found, self.cap)


@admin_view
def customer_list(request):
    merchant = request.merchant
    form = forms.CustomerFilter(request.GET or None, merchant=merchant)
    rows = Membership.objects.none()
    if form.is_valid() or not request.GET:
        data = form.cleaned_data if form.is_bound else {}
        rows = search_members(merchant, data.get("q", ""))
        if data.get("category"):
            rows = rows.filter(category=data["category"])
        if data.get("branch"):
            rows = rows.filter(registered_branch_id=data["branch"])
        status = data.get("status")
        if status == "blocked":
            rows = rows.filter(blocked=True)
        elif status == "incomplete":
            rows = rows.filter(completeness.incomplete_q(merchant, prefix="customer__"))
        elif status == "dependent":
            rows = rows.filter(holder__isnull=False)
    incomplete = completeness.incomplete_q(merchant, prefix="customer__")
    rows = (
        rows.select_related(
            "customer", "category", "registered_branch", "account", "holder__customer"
        )
        .annotate(incomplete=ExpressionWrapper(incomplete, output_field=db.BooleanField()))
        .order_by("-created_at", "-pk")
    )
    filtered = any(request.GET.get(k) for k in ("q", "category", "branch", "status"))
    paginator = CappedPaginator(rows, PER_PAGE, cap=SEARCH_COUNT_CAP if filtered else None)
    page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return _page(
        request,
        "console/customers.html",
        form=form,
        page=page,
        query=query.urlencode(),
    )


# --- the three-step registration ----------------------------------------------------------------


def _step_fields(step: int) -> list[str]:
    return list(forms.STEPS[step].base_fields)


def _initial(post, step: int, visited: set[int]) -> dict:
    """What was typed in a step, to show it again (going back keeps it). A checkbox left empty
    on a step already visited stays empty, instead of falling back to its default."""
    initial = {}
    for name, field in forms.STEPS[step].base_fields.items():
        if name in post:
            initial[name] = post.get(name)
        elif step in visited and isinstance(field, BooleanField):
            initial[name] = False
    return initial


@admin_view
def customer_new(request):
    merchant = request.merchant
    post = request.POST
    try:
        step = min(max(int(post.get("step", 0)), 0), len(forms.STEPS) - 1)
    except ValueError:
        step = 0
    visited = {int(v) for v in post.get("visited", "").split(",") if inputs.is_number(v)}
    go = post.get("go", "")
    existing = None

    def bound(i):
        return forms.STEPS[i](post, merchant=merchant, prefix=None)

    if request.method == "POST" and go == "back":
        visited.add(step)
        step = max(step - 1, 0)
        form = forms.STEPS[step](merchant=merchant, initial=_initial(post, step, visited))
    elif request.method == "POST":
        visited.add(step)
        done = [bound(i) for i in range(step + 1)]
        bad = next((i for i, f in enumerate(done) if not f.is_valid()), None)
        if bad is None and step == 0:
            existing = _existing_identity(merchant, done[0])
            if existing is not None:
                bad = 0
        if bad is not None:
            step, form = bad, done[bad]
        elif step < len(forms.STEPS) - 1:
            step += 1
            form = forms.STEPS[step](merchant=merchant, initial=_initial(post, step, visited))
        else:
            result = _register(request, done)
            if not isinstance(result, tuple):
                return result
            step, form = result
    else:
        form = forms.STEPS[0](merchant=merchant)
    _autofocus(form)
    carried = [
        (name, value)
        for i in range(len(forms.STEPS))
        if i != step
        for name in _step_fields(i)
        for value in post.getlist(name)[:1]
    ]
    return _page(
        request,
        "console/customer_new.html",
        form=form,
        step=step,
        steps=[_("Personal"), _("Contact"), _("Loyalty card")],
        last=step == len(forms.STEPS) - 1,
        carried=carried,
        visited=",".join(str(v) for v in sorted(visited)),
        existing=existing,
    )


def _autofocus(form) -> None:
    """The cursor starts on the first field to fix, or the step's first field."""
    names = list(form.fields)
    first = next((n for n in names if form.is_bound and n in form.errors), names[0])
    form.fields[first].widget.attrs["autofocus"] = True


def _existing_identity(merchant, personal):
    """A document already in the network: open the profile, or add the person to the program,
    rather than registering them twice."""
    data = personal.cleaned_data
    number = documents.normalize_document(
        merchant.country, data["document_type"], data["document_number"]
    )
    customer = Customer.objects.filter(
        country=merchant.country, document_type=data["document_type"], document_number=number
    ).first()
    if customer is None:
        return None
    member = Membership.objects.filter(merchant=merchant, customer=customer).first()
    if member is not None:
        personal.add_error("document_number", _("Already a customer of yours."))
    else:
        personal.add_error(
            "document_number", _("Already registered in the network: add them to your program.")
        )
    return {"customer": customer, "member": member}


def _register(request, done):
    """The last step: one transaction registers, joins, links and credits the bonus."""
    personal, contact, card = (f.cleaned_data for f in done)
    profile = {
        k: personal[k]
        for k in ("first_name", "last_name", "gender", "birth_date", "person_type")
        if k in personal
    }
    profile.update(contact)
    dependent = card["dependent"]
    try:
        reg = customers.register_customer(
            merchant=request.merchant,
            branch=request.user.branch,
            staff=request.user,
            document_type=personal["document_type"],
            document_number=personal["document_number"],
            country=request.merchant.country,
            profile=profile,
            welcome_bonus=card.get("welcome_bonus", False),
            card={
                "card_number": card["card_number"],
                "redeem_policy": RedeemPolicy.HOLDER_ONLY if dependent else card["redeem_policy"],
                "holder": done[2].holder_membership if dependent else None,
                "category": personal["category"],
            },
        )
    except ValidationFailed as exc:
        for error in exc.errors:
            for i, f in enumerate(done):
                if error["field"] in f.fields:
                    f.add_error(error["field"], error["message"])
                    return i, f
        done[2].add_error(None, " ".join(e["message"] for e in exc.errors))
        return 2, done[2]
    except LealtadError as exc:
        done[0].add_error("document_number", str(exc.detail))
        return 0, done[0]
    messages.success(request, _("Customer registered."))
    return redirect("console:customer", customer_id=reg.customer.pk)


@admin_view
@require_POST
def customer_join(request):
    """A network customer the merchant has not seen yet becomes its customer (N2)."""
    try:
        membership = customers.membership_or_join(
            request.merchant, request.POST.get("customer_id", ""), request.user.branch
        )
    except NotFound:
        raise
    except LealtadError as exc:  # suspended in the network: the operator's message says why
        messages.error(request, str(exc.detail))
        return redirect("console:customer_new")
    return redirect("console:customer", customer_id=membership.customer_id)


# --- the profile --------------------------------------------------------------------------------


def consumption(membership: Membership) -> dict:
    """C10: the customer's own purchases and redemptions here (a dependent's are their own),
    counting what stands: reversed movements are left out."""
    own = Transaction.objects.filter(
        merchant=membership.merchant,
        customer=membership.customer,
        status=Status.POSTED,
        reversed_by__isnull=True,
    )
    bought, redeemed = Q(kind=Kind.ACCRUAL), Q(kind=Kind.REDEMPTION)
    figures = own.filter(bought | redeemed).aggregate(
        purchases=Count("pk", filter=bought),
        average_ticket=Avg("amount", filter=bought),
        last_purchase=Max("created_at", filter=bought),
        redemptions=Count("pk", filter=redeemed),
        last_redemption=Max("created_at", filter=redeemed),
    )
    if figures["average_ticket"] is not None:
        figures["average_ticket"] = figures["average_ticket"].quantize(Decimal("0.01"))
    return figures


def statement_rows(membership: Membership, date_from, date_to):
    """The statement for the period, each line with the balance after it, the balance the
    period opened with, and which lines were reversed (possibly after the period)."""
    rows = ledger.statement(membership, date_from, date_to)
    prefetch_related_objects(rows, "reward", "branch", "customer")
    account_id = membership.spending_account_id
    opening = 0
    if date_from:
        tz = zoneinfo.ZoneInfo(membership.merchant.timezone)
        start = dt.datetime.combine(date_from, dt.time.min, tz)
        before = (
            Transaction.objects.filter(
                account_id=account_id, status=Status.POSTED, posted_at__lt=start
            )
            .order_by("-posted_at", "-created_at")
            .values_list("balance_after", flat=True)
            .first()
        )
        opening = before or 0
    candidates = [t.pk for t in rows if t.kind in CONSOLE_REVERSIBLE]
    reversed_ids = set(
        Transaction.objects.filter(reverses_id__in=candidates).values_list("reverses_id", flat=True)
    )
    originals = {
        t.pk: t
        for t in Transaction.objects.filter(
            pk__in=[t.reverses_id for t in rows if t.reverses_id]
        ).only("pk", "kind", "created_at", "invoice_number")
    }
    for t in rows:
        t.is_reversed = t.pk in reversed_ids
        t.can_reverse = t.kind in CONSOLE_REVERSIBLE and not t.is_reversed
        t.original = originals.get(t.reverses_id)
    return rows, opening


@admin_view
def customer_detail(request, customer_id):
    from lealtad.api.views import points_of
    from lealtad.coins.statement import coin_statement

    membership = customers.get_membership_for(
        request.merchant,
        customer_id,
        related=("registered_branch", "holder__customer", "holder__account", "account", "merchant"),
    )
    today = timezone.localdate()
    period = forms.PeriodForm(request.GET or None)
    date_from = today - dt.timedelta(days=STATEMENT_DEFAULT_DAYS)
    date_to = None
    if period.is_bound and period.is_valid():
        date_from = period.cleaned_data["date_from"]
        date_to = period.cleaned_data["date_to"]
    elif not period.is_bound:
        period = forms.PeriodForm(initial={"date_from": date_from})
    rows, opening = statement_rows(membership, date_from, date_to)
    rows = rows[::-1]  # newest first on screen; the running balance reads downwards
    pending = Transaction.objects.filter(
        account_id=membership.spending_account_id,
        status=Status.PENDING,
    ).order_by("-created_at")[:50]
    return _page(
        request,
        "console/customer.html",
        m=membership,
        c=membership.customer,
        points=points_of(membership),
        figures=consumption(membership),
        rows=rows,
        coin_lines=coin_statement(membership.customer, request.merchant, limit=50),
        opening=opening,
        date_from=date_from,
        period=period,
        pending=pending,
        dependents=membership.dependents.select_related("customer").order_by("created_at"),
        category_form=forms.CategoryChangeForm(
            initial={"category": membership.category_id}, merchant=request.merchant
        ),
        card_form=forms.CardForm(
            initial={
                "card_number": membership.card_number,
                "redeem_policy": membership.redeem_policy,
            }
        ),
        block_form=forms.ReasonForm(),
        reverse_form=forms.ReasonForm(),
        consents=membership.consents.select_related("staff").order_by("-at")[:10],
    )


def _said(exc: ValidationFailed) -> str:
    """A validation error's messages as one line, for a message at the top of the page."""
    return " ".join(error["message"] for error in exc.errors)


def _member(request, customer_id) -> Membership:
    return customers.get_membership_for(request.merchant, customer_id)


def _back(request, membership) -> str:
    return reverse("console:customer", kwargs={"customer_id": membership.customer_id})


@admin_view
def customer_contact(request, customer_id):
    """A set e-mail, mobile or document changes with the code the customer received."""
    from lealtad.customers import identity, screens

    membership = _member(request, customer_id)
    by = identity.Requester(request.merchant, user=request.user, channel="console")
    outcome = screens.contact_change(request, membership, by)
    if outcome.done:
        messages.success(request, outcome.message)
        return redirect(_back(request, membership))
    return _page(
        request, "console/contact.html", back=_back(request, membership), **outcome.context
    )


@admin_view
@require_POST
def customer_category(request, customer_id):
    membership = _member(request, customer_id)
    form = forms.CategoryChangeForm(request.POST, merchant=request.merchant)
    if form.is_valid():
        customers.change_category(membership, form.cleaned_data["category"])
        messages.success(
            request,
            _("Category changed to %(name)s; it applies from the next movement.")
            % {"name": form.cleaned_data["category"].name},
        )
    else:
        messages.error(request, _("Choose one of your categories."))
    return redirect(_back(request, membership))


@admin_view
@require_POST
def customer_card(request, customer_id):
    membership = _member(request, customer_id)
    form = forms.CardForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose who may redeem."))
        return redirect(_back(request, membership))
    try:
        customers.set_card(
            membership,
            card_number=form.cleaned_data["card_number"],
            redeem_policy=form.cleaned_data["redeem_policy"],
            holder=membership.holder,
        )
    except ValidationFailed as exc:
        messages.error(request, _said(exc))
    else:
        messages.success(request, _("Loyalty card saved."))
    return redirect(_back(request, membership))


@admin_view
@require_POST
def reverse_movement(request, customer_id, transaction_id):
    """P8: void an accrual or a redemption by a compensating movement, with the reason."""
    membership = _member(request, customer_id)
    original = ledger.get_transaction_for(request.merchant, transaction_id)
    if original.account_id != membership.spending_account_id:
        raise NotFound(_("Transaction not found."))
    form = forms.ReasonForm(request.POST)
    if original.kind not in CONSOLE_REVERSIBLE:
        messages.error(request, _("Only accruals and redemptions are reversed here."))
    elif not form.is_valid():
        messages.error(request, _("Say why the movement is reversed."))
    else:
        try:
            ledger.reverse_transaction(
                merchant=request.merchant,
                transaction_id=original.pk,
                reason=form.cleaned_data["reason"],
                staff=request.user,
            )
        except AlreadyReversed:
            messages.error(request, _("This movement was already reversed."))
        except InsufficientPoints as exc:
            messages.error(
                request,
                _("Not reversed: %(detail)s The customer has already spent these points.")
                % {"detail": exc.detail},
            )
        except LealtadError as exc:
            messages.error(request, str(exc.detail))
        else:
            messages.success(request, _("Movement reversed."))
    return redirect(_back(request, membership) + "#statement")


@admin_view
@require_POST
def customer_block(request, customer_id):
    membership = _member(request, customer_id)
    form = forms.ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why the customer is blocked."))
    else:
        try:
            customers.block_membership(membership, form.cleaned_data["reason"])
        except ValidationFailed as exc:
            messages.error(request, _said(exc))
        else:
            messages.success(
                request,
                pgettext("female", "Blocked for redemption.")
                if membership.customer.gender == "F"
                else _("Blocked for redemption."),
            )
    return redirect(_back(request, membership))


@admin_view
def customer_unblock(request, customer_id):
    """Removing a block asks for a confirmation first (C11)."""
    membership = _member(request, customer_id)
    target = request.POST.get("next") or request.GET.get("next") or ""
    if not target.startswith("/") or not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}
    ):
        target = _back(request, membership)
    if request.method == "POST":
        if membership.blocked:
            customers.unblock_membership(membership)
            messages.success(
                request,
                _("Block removed: %(name)s may redeem again.") % {"name": membership.customer},
            )
        return HttpResponseRedirect(target)
    return _page(request, "console/unblock.html", m=membership, next=target)


@admin_view
def blocked(request):
    """C11: this merchant's block list; block by name, document or card number."""
    form = forms.BlockForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            membership = customers.find_member_by_any(
                request.merchant, form.cleaned_data["customer"]
            )
            customers.block_membership(membership, form.cleaned_data["reason"])
        except ValidationFailed as exc:
            for error in exc.errors:
                field = error["field"] if error["field"] in form.fields else "customer"
                form.add_error(field, error["message"])
        else:
            messages.success(
                request,
                (
                    # The sentence agrees with the customer: "bloqueada" for a woman.
                    pgettext("female", "%(name)s is blocked for redemption.")
                    if membership.customer.gender == "F"
                    else _("%(name)s is blocked for redemption.")
                )
                % {"name": membership.customer},
            )
            return redirect("console:blocked")
    rows = (
        Membership.objects.filter(merchant=request.merchant, blocked=True)
        .select_related("customer")
        .order_by("-blocked_at")
    )
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    return _page(request, "console/blocked.html", form=form, page=page)


# --- privacy (C12) ------------------------------------------------------------------------------


@admin_view
@require_POST
def customer_consent(request, customer_id):
    from lealtad.customers import privacy

    membership = _member(request, customer_id)
    given = request.POST.get("given") == "1"
    try:
        privacy.set_marketing_consent(
            membership, given=given, staff=request.user, channel="console"
        )
    except ValidationFailed as exc:
        messages.error(request, _said(exc))
    except LealtadError as exc:
        messages.error(request, str(exc.detail))
    else:
        messages.success(
            request,
            _("Marketing consent recorded.") if given else _("Marketing consent withdrawn."),
        )
    return redirect(_back(request, membership))


@admin_view
def customer_export(request, customer_id, fmt):
    """The customer's data as this merchant holds it, for a request under data-protection law."""
    from lealtad.customers import privacy

    membership = _member(request, customer_id)
    name = f"customer-{membership.customer_id}"
    if fmt == "json":
        body = json.dumps(privacy.export_data(membership), ensure_ascii=False, indent=2)
        response = HttpResponse(body, content_type="application/json; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}.json"'
        return response
    if fmt == "csv":
        out = privacy.export_csv(membership)
        body = out if isinstance(out, str) else "".join(out)
        response = HttpResponse("\ufeff" + body, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response
    raise NotFound(_("Unknown format."))
