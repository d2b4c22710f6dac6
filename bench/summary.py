"""run.py's printed summary: one row per measurement taken, then the goals they decide."""

import accruals
import app_home
import code_delivery
import dashboard
import ratings
import sqlite
import webhooks


def _rows(report: dict) -> list[tuple]:
    rows = []
    if "accruals" in report:
        rows += accruals.rows(report["accruals"])
    for name, label in (("lookups", "lookups/s (Python)"), ("lookups_wrk", "lookups/s (wrk)")):
        if name in report:
            look = report[name]
            rows.append(
                (
                    label,
                    f"{look['per_second']:.0f}",
                    f"p50 {look['p50_ms']} ms",
                    f"p99 {look['p99_ms']} ms",
                    f"errors {look['errors']}",
                )
            )
    if "code_delivery" in report:
        codes = report["code_delivery"]
        rows.append(
            (
                "code → SMS provider",
                f"{codes['samples']}",
                f"p50 {codes['p50_ms']} ms",
                f"p99 {codes['p99_ms']} ms",
                f"lost {codes['lost']}",
            )
        )
    if "coin_payments" in report:
        pay = report["coin_payments"]
        rows += [
            (
                "coin payment create",
                f"{pay['captured']}",
                f"p50 {pay['create_p50_ms']} ms",
                f"p99 {pay['create_p99_ms']} ms",
                f"failed {pay['failed']}",
            ),
            (
                "coin payment confirm",
                f"{pay['payments_per_second']}/s",
                f"p50 {pay['confirm_p50_ms']} ms",
                f"p99 {pay['confirm_p99_ms']} ms",
                "",
            ),
            (
                "payment code → SMS",
                f"{pay['captured']}",
                f"p50 {pay['code_p50_ms']} ms",
                f"p99 {pay['code_p99_ms']} ms",
                "",
            ),
        ]
    if "webhooks" in report:
        rows += webhooks.rows(report["webhooks"])
    if "batch" in report:
        lot = report["batch"]
        for key, label, last in (
            ("with_item_keys", "item keys", f"failed {lot['failed']}"),
            ("without_keys", "no keys", ""),
            ("replayed", "replayed", ""),
        ):
            rows.append(
                (
                    f"batch of {lot['size']}, {label}",
                    f"{lot['rounds']}",
                    f"p50 {lot[key + '_p50_ms']} ms",
                    f"max {lot[key + '_max_ms']} ms",
                    last,
                )
            )
    if "sqlite" in report:
        rows += sqlite.rows(report["sqlite"])
    return rows


def _goals(report: dict) -> dict:
    goals = {}
    acc = report.get("accruals", {})
    best = acc.get("wrk") or acc.get("python")
    if best and "tpcb" in acc:
        goals["accrual rate ≥ ½ pgbench TPC-B"] = best["per_second"] / acc["tpcb"]["tps"] >= 0.5
    if best:
        goals["accrual p99 < 50 ms"] = best["p99_ms"] < 50
    look = report.get("lookups_wrk") or report.get("lookups")
    if look:
        goals["lookup p99 < 10 ms"] = look["p99_ms"] < 10
    if "dashboard" in report:
        goals[f"dashboard p99 < {dashboard.GOAL_MS} ms (vacuumed)"] = report["dashboard"][
            "goal_met"
        ]
    if "ratings" in report:
        goals[f"ratings inbox p99 < {ratings.GOAL_MS} ms"] = report["ratings"]["goal_met"]
    if "ledger_check_after" in report:
        goals["ledger-check after the run"] = report["ledger_check_after"]
    if "code_delivery" in report:
        goals[f"code at the SMS provider < {code_delivery.GOAL_SECONDS:g} s"] = report[
            "code_delivery"
        ]["goal_met"]
    if "coin_payments" in report:
        pay = report["coin_payments"]
        goals[f"payment code at the SMS provider < {code_delivery.GOAL_SECONDS:g} s"] = pay[
            "code_goal_met"
        ]
        goals["coin payments all captured, ledger-check after"] = (
            not pay["failed"] and pay["ledger_check"]
        )
    if "webhooks" in report:
        hooks = report["webhooks"]
        goals[f"accruals with 2 webhook endpoints ≥ {webhooks.GOAL:.0%} of without"] = hooks[
            "goal_met"
        ]
        goals["every webhook event delivered, ledger-check after"] = (
            hooks["all_delivered"] and hooks["ledger_check"]
        )
    if "batch" in report:
        lot = report["batch"]
        goals["batches all accrued, replays identical, ledger-check after"] = (
            not lot["failed"] and lot["ledger_check"]
        )
    if "app_home" in report:
        goals[f"app home p99 < {app_home.GOAL_MS} ms"] = report["app_home"]["goal_met"]
    if "sqlite" in report:
        goals["SQLite: ledger-check after"] = report["sqlite"]["ledger_check"]
    return goals


def print_report(report: dict) -> None:
    print(f"\n  load average at the start: {report['loadavg']}")
    for row in _rows(report):
        print(f"  {row[0]:<26}{row[1]:>8}   {row[2]:<16}{row[3]:<18}{row[4]}")
    right = []
    if "dashboard" in report:
        right += dashboard.rows(report["dashboard"])
    if "ratings" in report:
        right += ratings.rows(report["ratings"])
    if "app_home" in report:
        right += app_home.rows(report["app_home"])
    for row in right:
        print(f"  {row[0]:<48}{row[1]:<14}{row[2]:<22}{row[3]}")
    if "sweep" in report:
        print()
        print(accruals.markdown(report["sweep"]["points"]))
    report["goals"] = _goals(report)
    for goal, met in report["goals"].items():
        print(f"  {'met ' if met else 'MISS'}  {goal}")
