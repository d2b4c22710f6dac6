"""A1 for the network operator: the customers' app sessions (a lost phone: revoke it) and the
sign-in codes asked (to read a complaint or an abuse; the code itself is never stored)."""

from django.contrib import admin, messages
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from lealtad.app import actions
from lealtad.app.models import CustomerSession, SignInCode


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(CustomerSession)
class CustomerSessionAdmin(ReadOnly):
    list_display = ("customer", "kind", "created_at", "last_seen_at", "expires_at", "revoked_at")
    list_filter = ("kind",)
    list_select_related = ("customer",)
    search_fields = ("=customer__email", "=customer__mobile", "=customer__document_number")
    ordering = ("-last_seen_at",)
    exclude = ("token_hash",)
    actions = ["revoke"]

    @admin.action(description=_("Sign out (revoke)"))
    def revoke(self, request, queryset):
        for session in queryset.filter(revoked_at__isnull=True):
            actions.revoke(session)
        self.message_user(request, gettext("Signed out."), messages.SUCCESS)


@admin.register(SignInCode)
class SignInCodeAdmin(ReadOnly):
    list_display = ("created_at", "kind", "address", "customer", "attempts", "used_at", "ip")
    list_filter = ("kind",)
    search_fields = ("=address", "=ip")
    ordering = ("-created_at",)
    exclude = ("code_hash",)
