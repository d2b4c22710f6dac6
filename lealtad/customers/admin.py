from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.template import engines
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from lealtad.core.adminforms import ActionAdmin, ActionModelForm
from lealtad.core.errors import CustomerExists, ValidationFailed
from lealtad.customers import privacy
from lealtad.customers.actions import (
    PROFILE_FIELDS,
    block_membership,
    change_category,
    documents_filter,
    lift_suspension,
    register_customer,
    set_card,
    suspend_customer,
    unblock_membership,
    update_profile,
)
from lealtad.customers.models import Customer, Membership
from lealtad.network.models import Merchant, Role
from lealtad.network.service_lines import DEFAULT_SUSPENSION_MESSAGE
from lealtad.program.models import Category


class DocumentSearch:
    """The admin's search finds a document however it is written, like the till's: the normal
    form of every document type the text can be (Panamá's 83022414 is 8-302-2414)."""

    document_prefix = ""

    def get_search_results(self, request, queryset, search_term):
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if by_document := documents_filter(search_term, self.document_prefix):
            found |= queryset.filter(by_document)
        return found, may_have_duplicates


# The confirmation page of the anonymisation, in the admin's own look (as delete_selected's).
ANONYMISE_CONFIRMATION = """{% extends "admin/base_site.html" %}
{% load i18n %}
{% block bodyclass %}{{ block.super }} delete-confirmation{% endblock %}
{% block breadcrumbs %}<div class="breadcrumbs">
<a href="{% url 'admin:index' %}">{% translate 'Home' %}</a> &rsaquo;
<a href="{{ changelist }}">{{ opts.verbose_name_plural|capfirst }}</a>
&rsaquo; {{ title }}</div>{% endblock %}
{% block content %}
<p>{{ warning }}</p>
<ul>{% for customer in customers %}<li>{{ customer }} ({{ customer.document_type }}
{{ customer.document_number }}){% if customer.anonymised_at %}: {{ already }}{% endif %}</li>
{% endfor %}</ul>
<form method="post">{% csrf_token %}
<div>{% for customer in customers %}
<input type="hidden" name="{{ action_checkbox_name }}" value="{{ customer.pk }}">{% endfor %}
<input type="hidden" name="action" value="anonymise">
<input type="hidden" name="post" value="yes">
<input type="submit" value="{{ confirm }}">
<a href="{{ changelist }}" class="button cancel-link">{{ cancel }}</a>
</div></form>
{% endblock %}"""


def is_operator(user) -> bool:
    """The network operator: a superuser with the operator role (merchant staff never are)."""
    return bool(user.is_active and user.is_superuser and user.role == Role.OPERATOR)


class MembershipInline(admin.TabularInline):
    """Shown, not edited here: category, card, holder and blocks go through their actions on
    the membership's own page."""

    model = Membership
    extra = 0
    fields = ("merchant", "category", "card_number", "blocked", "blocked_reason", "holder")
    readonly_fields = fields
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class CustomerAddForm(ActionModelForm):
    """C2/C3 from the operator's site: the same registration as the till's, at a merchant (a
    network identity exists only as someone's customer), with the same checks."""

    merchant = forms.ModelChoiceField(
        label=_("merchant"), queryset=Merchant.objects.filter(active=True).order_by("name")
    )

    class Meta:
        model = Customer
        # The person type follows from the document type (a CNPJ or NIT is a company).
        fields = (
            "merchant",
            "country",
            "document_type",
            "document_number",
            *(name for name in PROFILE_FIELDS if name != "person_type"),
        )

    def act(self):
        data = self.cleaned_data
        merchant = data["merchant"]
        profile = {name: data.get(name) for name in PROFILE_FIELDS if name in self.fields}
        try:
            made = register_customer(
                merchant=merchant,
                branch=merchant.branches.filter(active=True).order_by("created_at").first(),
                staff=None,
                document_type=data["document_type"],
                document_number=data["document_number"],
                country=data["country"],
                profile=profile,
            )
        except CustomerExists:
            raise ValidationFailed(
                [{"field": "document_number", "message": str(CustomerExists.title)}]
            ) from None
        return made.customer


class CustomerChangeForm(ActionModelForm):
    """C4: the profile changes through `update_profile`, with its checks and normal forms."""

    class Meta:
        model = Customer
        fields = PROFILE_FIELDS

    def act(self):
        profile = {
            name: self.cleaned_data.get(name) for name in self.changed_data if name in self.fields
        }
        if not profile:
            return self.instance
        # A fresh copy: the action compares with what is stored, not with the form's edits.
        return update_profile(Customer.objects.get(pk=self.instance.pk), profile)


@admin.register(Customer)
class CustomerAdmin(DocumentSearch, ActionAdmin):
    list_display = (
        "__str__",
        "country",
        "document_type",
        "document_number",
        "email",
        "profile_complete",
        "suspended",
        "created_at",
    )
    list_filter = ("country", "profile_complete", "suspended")
    # Exact lookups keep the search on indexes, at 100,000 customers and more.
    search_fields = ("=document_number", "=email", "=mobile", "last_name")
    readonly_fields = (
        "id",
        "country",
        "document_type",
        "document_number",
        "created_at",
        "updated_at",
        "profile_complete",
        "suspended",
        "suspension_message",
        "qr_version",
        "anonymised_at",
    )
    inlines = [MembershipInline]
    show_full_result_count = False
    actions = ["suspend", "lift", "anonymise"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = CustomerChangeForm if obj is not None else CustomerAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return CustomerAddForm._meta.fields
        return (*PROFILE_FIELDS, *(f for f in self.readonly_fields if f not in PROFILE_FIELDS))

    def get_readonly_fields(self, request, obj=None):
        # A set e-mail or mobile is the shared identity's: it changes only with the customer's
        # codes (customers.identity), asked from a till, the console or the API, never here.
        if obj is None:
            return ()
        contacts = tuple(name for name in ("email", "mobile") if getattr(obj, name))
        return (*self.readonly_fields, *contacts)

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        return False  # the ledger names the customer; erasure is the anonymisation

    def has_operator_permission(self, request) -> bool:
        # Django offers an action with permissions=["operator"] only when this says yes.
        return is_operator(request.user)

    @admin.action(description=_("Suspend in the whole network (fraud review)"))
    def suspend(self, request, queryset):
        for customer in queryset:
            suspend_customer(customer, customer.suspension_message or DEFAULT_SUSPENSION_MESSAGE)
        self.message_user(request, _("Suspended."), messages.SUCCESS)

    @admin.action(description=_("Lift the suspension"))
    def lift(self, request, queryset):
        for customer in queryset:
            lift_suspension(customer)
        self.message_user(request, _("Suspension lifted."), messages.SUCCESS)

    @admin.action(
        description=_("Anonymise selected customers (on their request)"), permissions=["operator"]
    )
    def anonymise(self, request, queryset):
        """C12: asks first on a page of its own, then anonymises each customer in its own
        transaction (one failure does not undo the others)."""
        if not is_operator(request.user):
            raise PermissionDenied
        if request.POST.get("post") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": gettext("Anonymise customers"),
                "warning": gettext(
                    "The names, e-mail, mobile, gender, birth date, address, document number and "
                    "card numbers of these customers will be erased for good, their printed QR "
                    "codes will stop working and their marketing consent will be withdrawn at "
                    "every merchant. Points, movements and balances stay. This cannot be undone."
                ),
                "already": gettext("already anonymised"),
                "confirm": gettext("Yes, anonymise them"),
                "cancel": gettext("No, take me back"),
                "customers": list(queryset.order_by("created_at")),
                "changelist": reverse("admin:customers_customer_changelist"),
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            }
            page = engines["django"].from_string(ANONYMISE_CONFIRMATION)
            return HttpResponse(page.render(context, request))
        done = skipped = 0
        for customer in queryset:
            report = privacy.anonymise(customer, by=request.user)
            if report.done:
                done += 1
                self.log_change(request, report.customer, gettext("Anonymised on request."))
            else:
                skipped += 1
        self.message_user(
            request,
            gettext("Customers anonymised: %(count)d.") % {"count": done},
            messages.SUCCESS,
        )
        if skipped:
            self.message_user(
                request,
                gettext("Already anonymised: %(count)d.") % {"count": skipped},
                messages.WARNING,
            )
        return None


class MembershipForm(ActionModelForm):
    """C6–C8, C11 through their actions: the category and holder of this merchant only, a card
    nobody else at the merchant has, a block with its reason and time."""

    class Meta:
        model = Membership
        fields = ("category", "card_number", "redeem_policy", "holder", "blocked", "blocked_reason")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "category" in self.fields:
            self.fields["category"].queryset = Category.objects.filter(
                merchant_id=self.instance.merchant_id
            )

    def act(self):
        data = self.cleaned_data
        membership = Membership.objects.select_related("merchant").get(pk=self.instance.pk)
        changed = set(self.changed_data)
        if changed & {"card_number", "redeem_policy", "holder"}:
            membership = set_card(
                membership,
                card_number=data.get("card_number"),
                redeem_policy=data.get("redeem_policy"),
                holder=data.get("holder"),
                category=data.get("category"),
            )
        elif "category" in changed:
            membership = change_category(membership, data["category"])
        if "blocked" in changed or ("blocked_reason" in changed and data.get("blocked")):
            if data.get("blocked"):
                if membership.blocked:
                    unblock_membership(membership)
                membership = block_membership(membership, data.get("blocked_reason", ""))
            else:
                membership = unblock_membership(membership)
        membership.refresh_from_db()
        return membership


@admin.register(Membership)
class MembershipAdmin(DocumentSearch, ActionAdmin):
    document_prefix = "customer__"
    form = MembershipForm
    list_display = ("customer", "merchant", "category", "blocked", "created_at")
    list_filter = ("blocked", "merchant")
    list_select_related = ("customer", "merchant", "category")
    raw_id_fields = ("holder",)
    readonly_fields = (
        "customer",
        "merchant",
        "account",
        "registered_branch",
        "blocked_at",
        "marketing_consent",
        "marketing_consent_at",
        "created_at",
    )
    search_fields = ("=customer__document_number", "=card_number")
    show_full_result_count = False

    def has_add_permission(self, request):
        return False  # a customer joins a merchant at its till, console or API (join_merchant)

    def has_delete_permission(self, request, obj=None):
        return False  # its account holds points and movements
