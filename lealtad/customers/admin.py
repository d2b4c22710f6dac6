from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.template import engines
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from lealtad.customers import privacy
from lealtad.customers.actions import documents_filter, lift_suspension, suspend_customer
from lealtad.customers.models import Customer, Membership
from lealtad.network.models import Role

DEFAULT_SUSPENSION_MESSAGE = _(
    "Under review by the network operator: send the customer to the network's customer service."
)


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
    model = Membership
    extra = 0
    fields = ("merchant", "category", "card_number", "blocked", "blocked_reason", "holder")
    readonly_fields = ("merchant",)
    raw_id_fields = ("holder", "category")
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Customer)
class CustomerAdmin(DocumentSearch, admin.ModelAdmin):
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
    )
    inlines = [MembershipInline]
    show_full_result_count = False
    actions = ["suspend", "lift", "anonymise"]

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


@admin.register(Membership)
class MembershipAdmin(DocumentSearch, admin.ModelAdmin):
    document_prefix = "customer__"
    list_display = ("customer", "merchant", "category", "blocked", "created_at")
    list_filter = ("blocked", "merchant")
    list_select_related = ("customer", "merchant", "category")
    raw_id_fields = ("customer", "holder", "category", "account", "registered_branch")
    search_fields = ("=customer__document_number", "=card_number")
    show_full_result_count = False
