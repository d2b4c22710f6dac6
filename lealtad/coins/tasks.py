"""Coins on the task engine (notifications.engine.PERIODIC)."""

from lealtad.notifications.engine import task


@task()
def expire_holds() -> int:
    """Every minute: coin payments never confirmed are cancelled and their holds released."""
    from lealtad.coins.payments import expire_holds as expire

    return expire()
