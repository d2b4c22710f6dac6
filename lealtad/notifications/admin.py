"""M3: the operator sees what waits in the outbox and why, and can send it again now."""

from django.conf import settings
from django.contrib import admin, messages
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from lealtad.notifications import actions
from lealtad.notifications.models import OutgoingEmail, OutgoingSms


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


class OutboxAdmin(admin.ModelAdmin):
    """What the e-mail and the SMS outboxes share: the status filter, the operator's warnings
    about what fails, and "Try again now"."""

    list_filter = (StatusFilter,)
    list_select_related = ("merchant",)
    search_fields = ("=to",)
    ordering = ("-created_at",)
    show_full_result_count = False
    actions = ["retry_now"]

    def failing_message(self, state) -> str:
        raise NotImplementedError

    def failed_message(self, state) -> str:
        raise NotImplementedError

    def retried_message(self, count: int) -> str:
        raise NotImplementedError

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
        state = actions.outbox_state(self.model)
        if state.failing:
            self.message_user(request, self.failing_message(state), messages.WARNING)
        if state.failed:
            self.message_user(request, self.failed_message(state), messages.ERROR)
        return super().changelist_view(request, extra_context)

    @admin.action(description=_("Try again now"))
    def retry_now(self, request, queryset):
        count = actions.retry_now(queryset)
        self.message_user(request, self.retried_message(count), messages.SUCCESS)

    # The outbox is a record: rows change only by sending, retrying or cancelling.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(OutboxAdmin):
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

    def failing_message(self, state):
        return gettext(
            "%(count)d e-mails could not be sent yet (the oldest since %(since)s); "
            "they are retried until the mail server takes them."
        ) % {"count": state.failing, "since": state.oldest_failing.strftime("%Y-%m-%d %H:%M")}

    def failed_message(self, state):
        return gettext(
            "%(count)d e-mails failed after %(hours)d hours of retries; read their error, "
            "fix the cause and choose “Try again now”."
        ) % {"count": state.failed, "hours": settings.EMAIL_RETRY_HOURS}

    def retried_message(self, count):
        return gettext("E-mails due now: %(count)d.") % {"count": count}


@admin.register(OutgoingSms)
class OutgoingSmsAdmin(OutboxAdmin):
    list_display = (
        "created_at",
        "purpose",
        "merchant",
        "to",
        "status_label",
        "attempts",
        "next_attempt_at",
        "last_error",
        "provider_id",
    )
    list_filter = (StatusFilter, "purpose")

    def failing_message(self, state):
        return gettext(
            "%(count)d SMS could not be sent yet (the oldest since %(since)s); "
            "they are retried until the SMS provider takes them."
        ) % {"count": state.failing, "since": state.oldest_failing.strftime("%Y-%m-%d %H:%M")}

    def failed_message(self, state):
        return gettext(
            "%(count)d SMS failed after %(hours)d hours of retries (or were refused by the "
            "provider); read their error, fix the cause and choose “Try again now”."
        ) % {"count": state.failed, "hours": settings.SMS_RETRY_HOURS}

    def retried_message(self, count):
        return gettext("SMS due now: %(count)d.") % {"count": count}
