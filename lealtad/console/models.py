"""The dashboard's daily roll-up (issue 15): closed days of a merchant, computed from the ledger.

Nothing on the accrual path writes here. A periodic task and the dashboard itself fill in the
days that have closed (`console.rollup`); what changes a day already closed — a late approval or
rejection, a movement or a registration written with an earlier date — leaves a `StaleHour` in
its own transaction, written by database triggers (migration 0002) so that every path that
writes the ledger, the ORM's or raw SQL's, is covered. See docs/benchmark.md.
"""

from django.db import models

from lealtad.network.models import Merchant


class DayFigures(models.Model):
    """One closed local day of one merchant: its posted movements per branch and kind
    (`{"m": {branch: {kind: [count, points, "amount"]}}, "r": {branch: registrations}}`, branch
    "" for none), computed in the merchant's time zone of the time (`timezone`): a row of
    another zone than the merchant's present one is not used."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    timezone = models.CharField(max_length=64)
    figures = models.JSONField()
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "day"], name="dayfigures_one_per_day"),
        ]


class StaleHour(models.Model):
    """Something changed in this UTC hour of the merchant's movements or registrations after
    the fact: the local days it touches are computed again before they are read."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="+")
    hour = models.DateTimeField()
    # Bumped by every further change in the hour: a refresh deletes the row only at the count
    # it read, so a change made while the refresh computes leaves the row for the next one.
    changes = models.BigIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "hour"], name="stalehour_once"),
        ]
