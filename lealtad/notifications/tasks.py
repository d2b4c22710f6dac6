"""M2: the tasks run by `lealtad worker` (Django's Tasks framework, database backend)."""

from lealtad.notifications.engine import task


@task()
def send_email(email_id: int) -> str:
    """Send one outbox e-mail; a failure enqueues the next attempt (M3)."""
    from lealtad.notifications.actions import send_one

    return send_one(email_id)


@task()
def send_sms(sms_id: int) -> str:
    """Hand one outbox SMS to the provider; a failure enqueues the next attempt (M3)."""
    from lealtad.notifications.sms import send_one

    return send_one(sms_id)


@task()
def outbox_sweep() -> int:
    """Every minute: e-mails and SMS whose task was lost with a killed worker get a new one."""
    from lealtad.notifications.actions import resend_stuck

    return resend_stuck()


def daily_maintenance() -> str:
    """Expire every points and coin lot and every gift offer past its date; purge idempotency
    keys older than 24 hours and stale login failures. Returns what it did, in a line."""
    from lealtad.api.actions import purge_expired
    from lealtad.ledger.actions import expire_points
    from lealtad.offers.actions import expire_gifts

    points = expire_points()
    gifts = expire_gifts()
    keys, failures = purge_expired()
    return (
        f"expired {points} points/coins and {gifts} gift offers; "
        f"purged {keys} idempotency keys and {failures} login failures"
    )


@task()
def daily_expiry() -> str:
    """`daily_maintenance` on the engine's daily schedule (engine.PERIODIC)."""
    return daily_maintenance()
