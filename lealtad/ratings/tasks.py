"""F6: the automatic reply's tasks (Django's Tasks framework, database backend)."""

from lealtad.notifications.engine import task


@task()
def auto_reply(rating_id: str) -> bool:
    """Enqueued with the silent detractor's rating, to run after the delay."""
    from lealtad.ratings.actions import send_auto_reply

    return send_auto_reply(rating_id)


@task()
def auto_replies() -> int:
    """Every minute (engine.PERIODIC): whatever the per-rating tasks missed."""
    from lealtad.ratings.actions import send_auto_replies

    return send_auto_replies()
