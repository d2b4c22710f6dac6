"""S3: today's registrations and accruals of one cashier against the goals."""

import datetime as dt
import zoneinfo

from django.db.models import Func, IntegerField, OuterRef, Subquery, Value
from django.utils import timezone

from lealtad.cashier.models import CashierGoal, GoalDefault, Registration
from lealtad.ledger.models import standing_accruals
from lealtad.network.models import User

DEFAULT_REGISTRATIONS, DEFAULT_ACCRUALS = 5, 20


def targets_for(user, merchant) -> tuple[int, int]:
    """The cashier's own goals, else the merchant's default, else ours."""
    own = CashierGoal.objects.filter(staff=user).first()
    if own:
        return own.registrations, own.accruals
    default = GoalDefault.objects.filter(merchant=merchant).first()
    if default:
        return default.registrations, default.accruals
    return DEFAULT_REGISTRATIONS, DEFAULT_ACCRUALS


def report(merchant, day: dt.date) -> list[dict]:
    """Each staff member's registrations and accruals on `day` (the merchant's day) vs goals."""
    from django.db.models import Count

    tz = zoneinfo.ZoneInfo(merchant.timezone)
    start = dt.datetime.combine(day, dt.time.min, tz)
    end = start + dt.timedelta(days=1)
    regs = dict(
        Registration.objects.filter(at__gte=start, at__lt=end, staff__merchant=merchant)
        .values("staff")
        .annotate(n=Count("id"))
        .values_list("staff", "n")
    )
    accs = dict(
        standing_accruals(merchant)
        .filter(created_at__gte=start, created_at__lt=end, staff__isnull=False)
        .values("staff")
        .annotate(n=Count("id"))
        .values_list("staff", "n")
    )
    own = {g.staff_id: g for g in CashierGoal.objects.filter(staff__merchant=merchant)}
    default = GoalDefault.objects.filter(merchant=merchant).first()
    rows = []
    for user in User.objects.filter(merchant=merchant, role="cashier").select_related("branch"):
        goal = own.get(user.pk) or default
        targets = (
            (goal.registrations, goal.accruals)
            if goal
            else (DEFAULT_REGISTRATIONS, DEFAULT_ACCRUALS)
        )
        rows.append(
            {
                "user": user,
                "branch": user.branch,
                "registrations": _bar(regs.get(user.pk, 0), targets[0]),
                "accruals": _bar(accs.get(user.pk, 0), targets[1]),
            }
        )
    return sorted(rows, key=lambda r: (r["branch"].name if r["branch"] else "", r["user"].username))


def start_of_today(merchant, now=None):
    tz = zoneinfo.ZoneInfo(merchant.timezone)
    today = timezone.localtime(now or timezone.now(), tz).date()
    return dt.datetime.combine(today, dt.time.min, tz)


def _count(rows) -> Subquery:
    """COUNT(*) of `rows` as a scalar subquery (0 when there are none)."""
    counted = rows.order_by().annotate(n=Func(Value(1), function="COUNT")).values("n")
    return Subquery(counted, output_field=IntegerField())


def _first(rows, field: str) -> Subquery:
    return Subquery(rows.order_by("pk").values(field)[:1], output_field=IntegerField())


def progress(user, merchant) -> dict:
    """Every till page shows it, so it is one query: the cashier's own goals, the merchant's
    default and today's two counts as scalar subqueries (`targets_for` is the same rule)."""
    since = start_of_today(merchant)
    own = CashierGoal.objects.filter(staff=OuterRef("pk"))
    default = GoalDefault.objects.filter(merchant=merchant)
    row = (
        User.objects.filter(pk=user.pk)
        .annotate(
            own_r=_first(own, "registrations"),
            own_a=_first(own, "accruals"),
            default_r=_first(default, "registrations"),
            default_a=_first(default, "accruals"),
            regs=_count(Registration.objects.filter(staff=OuterRef("pk"), at__gte=since)),
            accs=_count(
                standing_accruals(merchant).filter(staff=OuterRef("pk"), created_at__gte=since)
            ),
        )
        .values("own_r", "own_a", "default_r", "default_a", "regs", "accs")
        .first()
    ) or {"own_r": None, "default_r": None, "regs": 0, "accs": 0}
    if row["own_r"] is not None:
        targets = (row["own_r"], row["own_a"])
    elif row["default_r"] is not None:
        targets = (row["default_r"], row["default_a"])
    else:
        targets = (DEFAULT_REGISTRATIONS, DEFAULT_ACCRUALS)
    done = (row["regs"] or 0, row["accs"] or 0)
    bars = [_bar(d, t) for d, t in zip(done, targets, strict=True)]
    overall = sum(bar["percent"] for bar in bars) / len(bars)
    # The face's mouth: a curve whose middle goes from above the corners (a frown, 0 %) to well
    # below them (a smile, 100 %). A string, so that no locale turns 70.5 into "70,5" in the SVG.
    return {
        "registrations": bars[0],
        "accruals": bars[1],
        "mood": round(overall),
        "mouth_y": f"{56 + overall * 0.30:.1f}",
    }


def _bar(done: int, target: int) -> dict:
    percent = 100 if target == 0 else min(100, round(done * 100 / target))
    return {"done": done, "target": target, "percent": percent}
