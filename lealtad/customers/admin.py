from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from lealtad.customers.actions import lift_suspension, suspend_customer
from lealtad.customers.models import Customer, Membership

DEFAULT_SUSPENSION_MESSAGE = _(
    "Under review by the network operator: send the customer to the network's customer service."
)


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
class CustomerAdmin(admin.ModelAdmin):
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
    actions = ["suspend", "lift"]

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


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("customer", "merchant", "category", "blocked", "created_at")
    list_filter = ("blocked", "merchant")
    list_select_related = ("customer", "merchant", "category")
    raw_id_fields = ("customer", "holder", "category", "account", "registered_branch")
    search_fields = ("=customer__document_number", "=card_number")
    show_full_result_count = False
