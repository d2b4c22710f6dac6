"""The merchant admin's console (part 1): program settings, staff, the approval queue.
Everything is scoped by the admin's own merchant; other merchants' objects are 404."""

import datetime as dt
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from lealtad.coins.words import rate_in_words
from lealtad.console import forms
from lealtad.core.errors import LealtadError, NotFound, ValidationFailed
from lealtad.ledger import actions as ledger
from lealtad.ledger.models import Status, Transaction
from lealtad.network import coin_roles
from lealtad.network.actions import create_staff
from lealtad.network.models import Branch, Role, User
from lealtad.offers.actions import offer_gift
from lealtad.offers.models import Gift, GiftOffer, GiftStatus, Promotion
from lealtad.offers.promotions import local_date
from lealtad.program.models import AuditMode, Category, FraudRule, Reward, RuleKind


def admin_view(view):
    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.user.role != Role.MERCHANT_ADMIN or request.user.merchant_id is None:
            raise Http404  # a cashier does not learn that the console exists
        if request.user.must_change_password:
            return redirect("cashier:change_password")
        request.merchant = request.user.merchant
        try:
            # Times on screen are the merchant's (its own time zone), whatever the server's.
            with timezone.override(request.merchant.timezone):
                return view(request, *args, **kwargs)
        except NotFound:
            raise Http404 from None

    return wrapper


def _page(request, template, **context):
    context.update(merchant=request.merchant, branch=request.user.branch, console=True)
    return render(request, template, context)


@admin_view
def home(request):
    merchant = request.merchant
    now = timezone.now()
    today = local_date(merchant, now)
    pending = Transaction.objects.filter(merchant=merchant, status=Status.PENDING).count()
    running = Promotion.objects.filter(
        merchant=merchant, active=True, starts_on__lte=today, ends_on__gte=today
    ).count()
    gifts_waiting = GiftOffer.objects.filter(
        gift__merchant=merchant, status=GiftStatus.OFFERED, expires_at__gt=now
    ).count()
    return _page(
        request,
        "console/home.html",
        pending=pending,
        running=running,
        gifts_waiting=gifts_waiting,
    )


@admin_view
def program(request):
    form = forms.ProgramForm(request.POST or None, instance=request.merchant)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Program settings saved."))
        return redirect("console:program")
    status = coin_roles.coin_status(request.merchant)
    rate_words = rate_in_words(request.merchant) if status.issuer else ""
    return _page(
        request, "console/program.html", form=form, coin_status=status, rate_words=rate_words
    )


@admin_view
def staff(request):
    form = forms.CashierForm(request.POST or None, merchant=request.merchant)
    if request.method == "POST" and form.is_valid():
        try:
            create_staff(
                merchant=request.merchant,
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password"],
                role=Role.CASHIER,
                branch=form.cleaned_data["branch"],
            )
        except LealtadError as exc:
            for error in getattr(exc, "errors", []):
                form.add_error(
                    error["field"] if error["field"] in form.fields else None, error["message"]
                )
        else:
            messages.success(request, _("Cashier created."))
            return redirect("console:staff")
    people = (
        User.objects.filter(merchant=request.merchant)
        .select_related("branch")
        .order_by("-is_active", "username")
    )
    return _page(request, "console/staff.html", form=form, people=people)


def _staff_member(request, user_id) -> User:
    return get_object_or_404(User, pk=_uuid(user_id), merchant=request.merchant)


def _uuid(value):
    from lealtad.core.ids import parse_id

    return parse_id(value)


@admin_view
def reset_password(request, user_id):
    person = _staff_member(request, user_id)
    form = forms.ResetPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            validate_password(form.cleaned_data["password"], person)
        except ValidationError as exc:
            form.add_error("password", exc)
        else:
            person.set_password(form.cleaned_data["password"])
            person.must_change_password = True  # S1: the cashier chooses their own at next login
            person.save(update_fields=["password", "must_change_password"])
            messages.success(
                request,
                _("Password reset: %(user)s must choose a new one.") % {"user": person.username},
            )
            return redirect("console:staff")
    return _page(request, "console/reset_password.html", form=form, person=person)


@admin_view
def toggle_active(request, user_id):
    person = _staff_member(request, user_id)
    if request.method == "POST" and person.pk != request.user.pk:
        person.is_active = not person.is_active
        person.save(update_fields=["is_active"])
    return redirect("console:staff")


@admin_view
def approvals(request):
    if request.method == "POST":
        ids = request.POST.getlist("ids")
        done = 0
        for txn_id in ids[:200]:
            try:
                ledger.approve_accrual(
                    merchant=request.merchant, transaction_id=txn_id, staff=request.user
                )
                done += 1
            except LealtadError:
                continue
        messages.success(request, _("%(n)d accruals approved.") % {"n": done})
        return redirect("console:approvals")
    pending = (
        Transaction.objects.filter(merchant=request.merchant, status=Status.PENDING)
        .select_related("customer", "staff", "branch")
        .order_by("created_at")[:200]
    )
    labels = {**dict(RuleKind.choices), "category_manual_approval": AuditMode.MANUAL.label}
    pending = list(pending)
    for txn in pending:
        txn.rule_label = labels.get(txn.hold_rule, txn.hold_rule)
    return _page(request, "console/approvals.html", pending=pending, reject_form=forms.RejectForm())


@admin_view
def reject(request, transaction_id):
    # Another merchant's (or no) accrual: 404 whatever the form holds, the same as a valid one
    # (issue 16's matrix: it redirected without looking, for any id, and dropped an empty reason).
    ledger.get_transaction_for(request.merchant, transaction_id)
    form = forms.RejectForm(request.POST or None)
    if request.method == "POST" and not form.is_valid():
        messages.error(request, "; ".join(e for errors in form.errors.values() for e in errors))
    if request.method == "POST" and form.is_valid():
        try:
            ledger.reject_accrual(
                merchant=request.merchant,
                transaction_id=transaction_id,
                reason=form.cleaned_data["reason"],
                staff=request.user,
            )
        except NotFound:
            raise
        except LealtadError as exc:
            messages.error(request, str(exc.detail))
        else:
            messages.success(request, _("Accrual rejected."))
    return redirect("console:approvals")


@admin_view
def categories(request):
    rows = Category.objects.filter(merchant=request.merchant).order_by("-is_default", "name")
    return _page(request, "console/categories.html", categories=rows)


@admin_view
def category_edit(request, category_id=None):
    category = None
    if category_id is not None:
        category = get_object_or_404(Category, pk=_uuid(category_id), merchant=request.merchant)
    form = forms.CategoryForm(request.POST or None, instance=category, merchant=request.merchant)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Category saved."))
        return redirect("console:categories")
    return _page(request, "console/category_form.html", form=form, category=category)


@admin_view
def rules(request, category_id=None):
    """The merchant's rules, or a category's own (used when its audit parameter says so)."""
    category = None
    if category_id is not None:
        category = get_object_or_404(Category, pk=_uuid(category_id), merchant=request.merchant)
    current = FraudRule.objects.filter(merchant=request.merchant, category=category)
    form = forms.RulesForm(request.POST or None, rules=current, merchant=request.merchant)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            for kind, _label in RuleKind.choices:
                limit = form.cleaned_data[f"{kind}_limit"]
                if limit is None:
                    current.filter(kind=kind).delete()
                    continue
                FraudRule.objects.update_or_create(
                    merchant=request.merchant,
                    category=category,
                    kind=kind,
                    defaults={"limit": limit, "action": form.cleaned_data[f"{kind}_action"]},
                )
        messages.success(request, _("Fraud rules saved."))
        return redirect(request.path)
    return _page(request, "console/rules.html", form=form, category=category)


@admin_view
def goals_page(request):
    """S3: the default goal, each cashier's own, and the report for today or any past day."""
    from lealtad.cashier import goals
    from lealtad.cashier.models import CashierGoal, GoalDefault

    default, _created = GoalDefault.objects.get_or_create(merchant=request.merchant)
    form = forms.GoalForm(
        request.POST or None,
        initial={"registrations": default.registrations, "accruals": default.accruals},
    )
    if request.method == "POST" and form.is_valid():
        who = request.POST.get("staff")
        if who:
            person = _staff_member(request, who)
            CashierGoal.objects.update_or_create(staff=person, defaults=form.cleaned_data)
        else:
            GoalDefault.objects.filter(pk=default.pk).update(**form.cleaned_data)
        messages.success(request, _("Goals saved."))
        return redirect("console:goals")
    try:
        day = dt.date.fromisoformat(request.GET.get("day", ""))
    except ValueError:
        day = goals.start_of_today(request.merchant).date()
    return _page(
        request, "console/goals.html", form=form, day=day, rows=goals.report(request.merchant, day)
    )


@admin_view
def branches(request):
    rows = Branch.objects.filter(merchant=request.merchant).order_by("-active", "name")
    return _page(request, "console/branches.html", branches=rows)


@admin_view
def branch_edit(request, branch_id=None):
    branch = None
    if branch_id is not None:
        branch = get_object_or_404(Branch, pk=_uuid(branch_id), merchant=request.merchant)
    form = forms.BranchForm(request.POST or None, instance=branch, merchant=request.merchant)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Branch saved."))
        return redirect("console:branches")
    return _page(
        request, "console/edit.html", form=form, title=_("Branch"), back="console:branches"
    )


@admin_view
def rewards(request):
    rows = Reward.objects.filter(merchant=request.merchant).order_by("-active", "points_cost")
    return _page(request, "console/rewards.html", rewards=rows)


@admin_view
def reward_edit(request, reward_id=None):
    reward = None
    if reward_id is not None:
        reward = get_object_or_404(Reward, pk=_uuid(reward_id), merchant=request.merchant)
    form = forms.RewardForm(
        request.POST or None, request.FILES or None, instance=reward, merchant=request.merchant
    )
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Prize saved."))
        return redirect("console:rewards")
    return _page(
        request,
        "console/edit.html",
        form=form,
        title=_("Prize"),
        back="console:rewards",
        multipart=True,
    )


@admin_view
def promotions(request):
    rows = (
        Promotion.objects.filter(merchant=request.merchant)
        .select_related("reward")
        .annotate(times=Count("uses"))
        .order_by("-active", "-ends_on", "name")
    )
    today = local_date(request.merchant, timezone.now())
    return _page(request, "console/promotions.html", promotions=rows, today=today)


@admin_view
def promotion_edit(request, promotion_id=None):
    promotion = None
    if promotion_id is not None:
        promotion = get_object_or_404(Promotion, pk=_uuid(promotion_id), merchant=request.merchant)
    form = forms.PromotionForm(request.POST or None, instance=promotion, merchant=request.merchant)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            form.save()
        messages.success(request, _("Promotion saved."))
        return redirect("console:promotions")
    return _page(
        request,
        "console/promotion_form.html",
        form=form,
        title=_("Promotion"),
        back="console:promotions",
    )


@admin_view
def gifts(request):
    catalog = Gift.objects.filter(merchant=request.merchant).order_by("-active", "name")
    offers = (
        GiftOffer.objects.filter(gift__merchant=request.merchant)
        .select_related("gift", "membership__customer")
        .order_by("-offered_at")
    )
    status = request.GET.get("status", "")
    now = timezone.now()
    if status == GiftStatus.OFFERED:
        offers = offers.filter(status=GiftStatus.OFFERED, expires_at__gt=now)
    elif status == GiftStatus.EXPIRED:
        offers = offers.filter(
            Q(status=GiftStatus.EXPIRED) | Q(status=GiftStatus.OFFERED, expires_at__lte=now)
        )
    elif status == GiftStatus.REDEEMED:
        offers = offers.filter(status=GiftStatus.REDEEMED)
    else:
        status = ""
    form = forms.OfferGiftForm(request.POST or None, merchant=request.merchant)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            offer_gift(
                gift=data["gift"],
                membership=data["customer"],
                staff=request.user,
                expires_on=data["expires_on"],
                note=data["note"],
            )
        except ValidationFailed as exc:
            for error in exc.errors:
                form.add_error(
                    error["field"] if error["field"] in form.fields else None, error["message"]
                )
        else:
            messages.success(request, _("Gift offered."))
            return redirect("console:gifts")
    rows = [(offer, offer.status_at(now)) for offer in offers[:200]]
    return _page(
        request,
        "console/gifts.html",
        catalog=catalog,
        offers=rows,
        form=form,
        status=status,
        statuses=GiftStatus.choices,
    )


@admin_view
def gift_edit(request, gift_id=None):
    gift = None
    if gift_id is not None:
        gift = get_object_or_404(Gift, pk=_uuid(gift_id), merchant=request.merchant)
    form = forms.GiftForm(request.POST or None, instance=gift, merchant=request.merchant)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Gift saved."))
        return redirect("console:gifts")
    return _page(request, "console/edit.html", form=form, title=_("Gift"), back="console:gifts")
