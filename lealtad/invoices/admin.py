from django.contrib import admin

from lealtad.invoices.models import Invoice


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    """For the operator to look, not to edit: invoices change only through their actions."""

    list_display = ("invoice_number", "merchant", "branch", "amount", "status", "created_at")
    list_filter = ("status",)
    search_fields = ("invoice_key",)
    list_select_related = ("merchant", "branch")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
