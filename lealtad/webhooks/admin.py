"""The operator's read-only view of webhooks: endpoints and their deliveries (never secrets)."""

from django.contrib import admin

from lealtad.webhooks.models import Delivery, Endpoint


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Endpoint)
class EndpointAdmin(ReadOnly):
    list_display = ("url", "merchant", "active", "disabled_reason", "failing_since", "created_at")
    list_filter = ("active", "disabled_reason")
    search_fields = ("url", "merchant__name")
    exclude = ("secret", "previous_secret")
    list_select_related = ("merchant",)


@admin.register(Delivery)
class DeliveryAdmin(ReadOnly):
    list_display = (
        "event",
        "endpoint",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "delivered_at",
    )
    list_filter = ("status",)
    search_fields = ("event__id", "endpoint__url")
    list_select_related = ("event", "endpoint")
