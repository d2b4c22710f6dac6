"""I4: the webhook tasks run by `lealtad worker` (Django's Tasks framework, database backend)."""

from lealtad.notifications.engine import task


@task()
def deliver(delivery_id: int) -> str:
    """One attempt of one delivery; a failure enqueues the next attempt (delivery.attempt)."""
    from lealtad.webhooks.delivery import attempt

    return attempt(delivery_id)


@task()
def sweep() -> int:
    """Every minute: deliveries whose task died with a killed worker get a new one."""
    from lealtad.webhooks.delivery import resend_stuck

    return resend_stuck()
