"""M3: the operator sees what waits in the outbox and why, and can send it again now."""

from django.conf import settings
from django.contrib import admin, messages
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from lealtad.notifications import actions
from lealtad.notifications.models import OutgoingEmail


class StatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [
            ("pending", _("Pending")),
            ("failing", _("Failing, will be retried")),
            ("failed", _("Failed, no more retries")),
            ("sent", _("Sent")),
            ("cancelled", _("Cancelled")),
        ]

    def queryset(self, request, queryset):
        unsent = {"sent_at__isnull": True, "cancelled_at__isnull": True}
        match self.value():
            case "pending":
                return queryset.filter(**unsent, attempts=0)
            case "failing":
                return queryset.filter(**unsent, attempts__gt=0, failed_at__isnull=True)
            case "failed":
                return queryset.filter(**unsent, failed_at__isnull=False)
            case "sent":
                return queryset.filter(sent_at__isnull=False)
            case "cancelled":
                return queryset.filter(cancelled_at__isnull=False)
        return queryset


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "event",
        "merchant",
        "to",
        "status_label",
        "attempts",
        "next_attempt_at",
        "last_error",
    )
    list_filter = (StatusFilter, "event")
    list_select_related = ("merchant",)
    search_fields = ("=to",)
    ordering = ("-created_at",)
    show_full_result_count = False
    actions = ["retry_now"]

    @admin.display(description=_("status"))
    def status_label(self, obj):
        return {
            "pending": gettext("Pending"),
            "failing": gettext("Failing, will be retried"),
            "failed": gettext("Failed, no more retries"),
            "sent": gettext("Sent"),
            "cancelled": gettext("Cancelled"),
        }[obj.status]

    def changelist_view(self, request, extra_context=None):
        state = actions.outbox_state()
        if state.failing:
            self.message_user(
                request,
                gettext(
                    "%(count)d e-mails could not be sent yet (the oldest since %(since)s); "
                    "they are retried until the mail server takes them."
                )
                % {
                    "count": state.failing,
                    "since": state.oldest_failing.strftime("%Y-%m-%d %H:%M"),
                },
                messages.WARNING,
            )
        if state.failed:
            self.message_user(
                request,
                gettext(
                    "%(count)d e-mails failed after %(hours)d hours of retries; read their error, "
                    "fix the cause and choose “Try again now”."
                )
                % {"count": state.failed, "hours": settings.EMAIL_RETRY_HOURS},
                messages.ERROR,
            )
        return super().changelist_view(request, extra_context)

    @admin.action(description=_("Try again now"))
    def retry_now(self, request, queryset):
        count = actions.retry_now(queryset)
        self.message_user(
            request, gettext("E-mails due now: %(count)d.") % {"count": count}, messages.SUCCESS
        )

    # The outbox is a record: rows change only by sending, retrying or cancelling.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
