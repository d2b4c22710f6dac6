"""The console's periodic work on the task engine (notifications.engine.PERIODIC)."""

from lealtad.notifications.engine import task


@task()
def dashboard_rollup() -> int:
    """Every hour: each merchant's stale days and last week of closed days computed into the
    dashboard's roll-up (console.rollup), so a dashboard seldom computes a day itself."""
    from lealtad.console.rollup import keep_fresh

    return keep_fresh()
