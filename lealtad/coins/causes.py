"""K5: causes, and coins given to them.

`donate` is the action the customer's app will call (`POST /api/v1/me/donations`, a later
issue): it debits the wallet oldest-first, like a payment, with the cause recorded.
"""

import csv
import datetime as dt
import io
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from lealtad.coins.actions import coin_wallet
from lealtad.coins.models import Cause, Donation
from lealtad.core.errors import (
    CustomerSuspended,
    InsufficientPoints,
    LealtadError,
    ValidationFailed,
)
from lealtad.core.spreadsheet import cell
from lealtad.customers.models import Customer
from lealtad.ledger import ledger
from lealtad.ledger.models import Kind, Transaction
from lealtad.network.models import Network


class InsufficientCoins(InsufficientPoints):
    code, title = "insufficient_coins", _("Not enough coins")


class CauseUnavailable(LealtadError):
    code, status, title = "cause_unavailable", 422, _("This cause takes no donations now")


def create_cause(name: str, description: str = "", network=None, active=True) -> Cause:
    return Cause.objects.create(
        network=network or Network.default(),
        name=name.strip(),
        description=description,
        active=active,
    )


def donate(customer: Customer, cause: Cause, coins: int, now=None) -> Donation:
    """Give `coins` of the customer's wallet to `cause`, oldest coins first."""
    now = now or timezone.now()
    if isinstance(coins, bool) or not isinstance(coins, int) or coins <= 0:
        raise ValidationFailed([{"field": "coins", "message": _("A whole number above zero.")}])
    if not cause.active:
        raise CauseUnavailable()
    if customer.suspended:
        raise CustomerSuspended()
    wallet = coin_wallet(customer)
    with transaction.atomic():
        account = ledger.lock_account(wallet.pk)
        lots = ledger.expire_due_lots(account, ledger.open_lots(account.id), customer.pk, now)
        if account.balance < coins:
            raise InsufficientCoins(
                _("Not enough coins: %(available)s available, %(coins)s to give.")
                % {"available": account.balance, "coins": coins},
                available=account.balance,
            )
        txn = Transaction.objects.create(
            account_id=account.id,
            kind=Kind.DONATION,
            points=-coins,
            balance_after=account.balance - coins,
            customer=customer,
            reason=cause.name[:300],
            created_at=now,
            posted_at=now,
        )
        ledger.debit(account, txn, coins, lots, now)
        return Donation.objects.create(
            cause=cause, customer=customer, coins=coins, transaction=txn, created_at=now
        )


@dataclass
class CauseLine:
    cause: str
    month: dt.date | None  # None: the cause's total over the period
    coins: int
    donors: int
    donations: int


def donation_report(date_from: dt.date | None = None, date_to: dt.date | None = None, tz=None):
    """Per cause, per month (the operator's time zone): coins given, distinct donors, donations;
    then each cause's total line. Causes with no donation are listed with zeros."""
    tz = tz or timezone.get_current_timezone()
    rows = Donation.objects.all()
    if date_from:
        rows = rows.filter(created_at__gte=dt.datetime.combine(date_from, dt.time.min, tz))
    if date_to:
        end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min, tz)
        rows = rows.filter(created_at__lt=end)
    monthly = (
        rows.annotate(month=TruncMonth("created_at", tzinfo=tz))
        .values("cause_id", "month")
        .annotate(coins=Sum("coins"), donors=Count("customer", distinct=True), n=Count("pk"))
        .order_by("cause_id", "month")
    )
    totals = {
        r["cause_id"]: r
        for r in rows.values("cause_id").annotate(
            coins=Sum("coins"), donors=Count("customer", distinct=True), n=Count("pk")
        )
    }
    by_cause: dict[int, list] = {}
    for r in monthly:
        month = r["month"].date() if isinstance(r["month"], dt.datetime) else r["month"]
        by_cause.setdefault(r["cause_id"], []).append((month, r))
    report = []
    for cause in Cause.objects.order_by("name"):
        lines = [
            CauseLine(cause.name, month, r["coins"], r["donors"], r["n"])
            for month, r in by_cause.get(cause.pk, [])
        ]
        total = totals.get(cause.pk, {"coins": 0, "donors": 0, "n": 0})
        total_line = CauseLine(cause.name, None, total["coins"], total["donors"], total["n"])
        report.append({"cause": cause, "months": lines, "total": total_line})
    return report


def csv_text(header: list, rows) -> str:
    """As the console's exports: UTF-8 with BOM, `;`-separated, no cell a spreadsheet runs."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow([cell(value) for value in header])
    for row in rows:
        writer.writerow([cell(value) for value in row])
    return "\ufeff" + out.getvalue()


def donation_report_csv(report) -> str:
    rows = []
    for block in report:
        for line in [*block["months"], block["total"]]:
            month = line.month.strftime("%Y-%m") if line.month else _("Total")
            rows.append([line.cause, month, line.coins, line.donors, line.donations])
    return csv_text([_("Cause"), _("Month"), _("Coins"), _("Donors"), _("Donations")], rows)
