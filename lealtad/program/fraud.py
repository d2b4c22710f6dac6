"""P9: the fraud rules an accrual must pass, per the category's audit parameter (C6)."""

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Max, Sum
from django.utils import timezone

from lealtad.program.models import AuditMode, Category, FraudRule, RuleAction, RuleKind


@dataclass
class Verdict:
    rule: FraudRule | None = None

    @property
    def hold(self) -> bool:
        return self.rule is not None and self.rule.action == RuleAction.HOLD

    @property
    def refuse(self) -> bool:
        return self.rule is not None and self.rule.action == RuleAction.REFUSE


def rules_for(category: Category) -> list[FraudRule]:
    if category.audit_mode == AuditMode.NO_RULES:
        return []
    if category.audit_mode == AuditMode.OWN_RULES:
        return list(FraudRule.objects.filter(category=category))
    return list(FraudRule.objects.filter(merchant_id=category.merchant_id, category=None))


def judge(rules, *, merchant, account_id: int, amount: Decimal, points: int, now) -> Verdict:
    """The first rule the accrual breaks, refusing rules first. Call it under the account's lock,
    so that two simultaneous accruals cannot both slip under a daily limit."""
    if not rules:
        return Verdict()
    from lealtad.ledger.models import Kind, Status, Transaction

    tz = zoneinfo.ZoneInfo(merchant.timezone)
    today = dt.datetime.combine(timezone.localtime(now, tz).date(), dt.time.min, tz)
    earlier = Transaction.objects.filter(
        account_id=account_id,
        merchant=merchant,
        kind=Kind.ACCRUAL,
        status__in=[Status.POSTED, Status.PENDING],
    )
    day = earlier.filter(created_at__gte=today)
    for rule in sorted(rules, key=lambda r: r.action != RuleAction.REFUSE):
        if rule.kind == RuleKind.MAX_INVOICE_AMOUNT:
            fired = amount > rule.limit
        elif rule.kind == RuleKind.MAX_ACCRUALS_PER_DAY:
            fired = day.count() + 1 > rule.limit
        elif rule.kind == RuleKind.MAX_POINTS_PER_DAY:
            fired = (day.aggregate(total=Sum("points", default=0))["total"] + points) > rule.limit
        else:
            last = earlier.aggregate(last=Max("created_at"))["last"]
            fired = last is not None and now - last < dt.timedelta(minutes=float(rule.limit))
        if fired:
            return Verdict(rule)
    return Verdict()
