"""The ledger in the operator's admin: read-only. Value moves only through actions."""

from django.contrib import admin

from lealtad.customers.admin import DocumentSearch
from lealtad.ledger.models import Account, Entry, Lot, Transaction


class ReadOnlyAdmin(admin.ModelAdmin):
    show_full_result_count = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Account)
class AccountAdmin(DocumentSearch, ReadOnlyAdmin):
    document_prefix = "customer__"
    list_display = ("id", "kind", "customer", "merchant", "balance", "pending", "updated_at")
    list_filter = ("kind",)
    list_select_related = ("customer", "merchant")
    search_fields = ("=customer__document_number",)


@admin.register(Transaction)
class TransactionAdmin(DocumentSearch, ReadOnlyAdmin):
    document_prefix = "customer__"
    list_display = (
        "created_at",
        "kind",
        "status",
        "points",
        "balance_after",
        "merchant",
        "invoice_number",
    )
    list_filter = ("kind", "status")
    list_select_related = ("merchant",)
    search_fields = ("=invoice_number", "=customer__document_number")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)


@admin.register(Lot)
class LotAdmin(ReadOnlyAdmin):
    list_display = ("id", "account", "points", "remaining", "status", "earned_at", "expires_at")
    list_filter = ("status",)


@admin.register(Entry)
class EntryAdmin(ReadOnlyAdmin):
    list_display = ("id", "account", "transaction", "lot", "points", "created_at")
