"""POS invoices on the task engine (notifications.engine.PERIODIC)."""

from lealtad.notifications.engine import task


@task()
def expire_invoices() -> int:
    """Every 10 minutes: invoices past the merchant's wait limit expire."""
    from lealtad.invoices.actions import expire_invoices as expire

    return expire()
