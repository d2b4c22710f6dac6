"""I4: the webhook tasks run by `lealtad worker` (Django's Tasks framework, database backend)."""

from lealtad.notifications.engine import task


@task()
def deliver(delivery_id: int) -> str:
    """One attempt of one delivery; a failure enqueues the next attempt (delivery.attempt)."""
    from lealtad.webhooks.delivery import attempt

    return attempt(delivery_id)


@task()
def deliver_event(event_id: str) -> str:
    """The first attempts of one event's deliveries (written with it by events.emit): each but
    the first gets its own task (a slow receiver delays no other), the first is sent here."""
    from lealtad.webhooks.delivery import start_event

    return start_event(event_id)


@task()
def deliver_all(delivery_ids: list[int]) -> str:
    """As deliver_event, by delivery ids: what emit enqueued before deliver_event; kept so that
    tasks already waiting in a database still run after an upgrade."""
    from lealtad.webhooks.delivery import attempt, enqueue

    for delivery_id in delivery_ids[1:]:
        enqueue(delivery_id)
    return attempt(delivery_ids[0])


@task()
def sweep() -> int:
    """Every minute: deliveries whose task died with a killed worker get a new one."""
    from lealtad.webhooks.delivery import resend_stuck

    return resend_stuck()
