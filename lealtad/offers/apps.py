from django.apps import AppConfig


class OffersConfig(AppConfig):
    name = "lealtad.offers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from lealtad.offers.models import Promotion
        from lealtad.offers.promotions import forget_running

        # Any path (actions, console, admin, shell): the shared flag follows the change.
        post_save.connect(forget_running, sender=Promotion, dispatch_uid="forget_running")
        post_delete.connect(forget_running, sender=Promotion, dispatch_uid="forget_running_del")
