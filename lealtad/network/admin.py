from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

from lealtad.network.models import ApiKey, Branch, Merchant, Network, User

admin.site.site_header = "Lealtad"
admin.site.site_title = "Lealtad"
admin.site.index_title = _("Network operator")


class BranchInline(admin.TabularInline):
    model = Branch
    extra = 0
    fields = ("name", "city", "address", "active")


@admin.register(Network)
class NetworkAdmin(admin.ModelAdmin):
    list_display = ("name", "currency", "coin_validity_months")


@admin.register(Merchant)
class MerchantAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "country",
        "currency",
        "point_value",
        "coin_issuer",
        "coin_acceptor",
        "active",
    )
    list_filter = ("country", "coin_issuer", "coin_acceptor", "active")
    search_fields = ("name",)
    inlines = [BranchInline]


@admin.register(Branch)
class BranchAdmin(admin.ModelAdmin):
    list_display = ("name", "merchant", "city", "active")
    list_filter = ("active", "merchant")
    search_fields = ("name", "merchant__name")


@admin.register(User)
class StaffAdmin(UserAdmin):
    list_display = ("username", "role", "merchant", "branch", "is_active", "last_login")
    list_filter = ("role", "is_active", "merchant")
    list_select_related = ("merchant", "branch")
    fieldsets = (
        *UserAdmin.fieldsets,
        ("Lealtad", {"fields": ("role", "merchant", "branch", "must_change_password")}),
    )
    add_fieldsets = (
        *UserAdmin.add_fieldsets,
        ("Lealtad", {"fields": ("role", "merchant", "branch")}),
    )


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "prefix", "merchant", "branch", "created_at", "revoked_at")
    readonly_fields = ("prefix", "key_hash", "created_at")
    list_select_related = ("merchant", "branch")
