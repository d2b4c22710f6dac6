import datetime as dt

from django.conf import settings
from django.utils import timezone

from lealtad.api.idempotency import KEEP
from lealtad.api.models import IdempotencyRecord
from lealtad.network.models import LoginFailure


def purge_expired(now=None) -> tuple[int, int]:
    """Idempotency keys past their 24 hours and login failures past the lockout window."""
    now = now or timezone.now()
    keys, _detail = IdempotencyRecord.objects.filter(created_at__lt=now - KEEP).delete()
    window = dt.timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
    failures, _detail = LoginFailure.objects.filter(at__lt=now - window).delete()
    return keys, failures
