from django.contrib import admin

from lealtad.claims.models import Claim


@admin.register(Claim)
class ClaimAdmin(admin.ModelAdmin):
    """For the operator to look, not to edit: claims change only through their actions (and the
    photo is shown to the merchant's admins only, in the console)."""

    list_display = ("invoice_number", "merchant", "branch", "amount", "status", "created_at")
    list_filter = ("status",)
    search_fields = ("invoice_key",)
    list_select_related = ("merchant", "branch")
    exclude = ("photo",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
