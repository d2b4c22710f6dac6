from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "lealtad.notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.db.models.signals import post_save

        from lealtad.notifications.models import OutgoingEmail, OutgoingSms

        post_save.connect(_enqueue_new_row, sender=OutgoingEmail, dispatch_uid="outbox-task")
        post_save.connect(_enqueue_new_row, sender=OutgoingSms, dispatch_uid="sms-outbox-task")


def _enqueue_new_row(sender, instance, created, raw=False, **kwargs):
    """M2: every outbox row (e-mail or SMS) gets its send task, in the transaction that writes
    the row, whoever writes it (`actions.queue`, `sms.queue_sms`, the identity codes, …): a row
    with no task would wait forever."""
    if created and not raw:
        from lealtad.notifications.actions import enqueue

        # An e-mail written to go later (a rating invitation) gets its task for then.
        enqueue(instance, run_after=getattr(instance, "next_attempt_at", None))
