"""The dashboard's NPS (D1, F7): the period's score, its course per week or month, and the
1–10 distribution, drawn as inline SVG like the dashboard's other charts (reports.py).

NPS runs from −100 to 100, so its bars grow up or down from a zero line on a fixed scale: a
month at +20 and one at −20 look as far apart as they are. A bucket without ratings has no
score and no bar (not a bar at zero), and the table says "—".
"""

from django.utils import formats
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from lealtad.console.reports import BOTTOM, HEIGHT, LEFT, RIGHT, TOP, WIDTH, _px
from lealtad.ratings import nps as scores

COLOURS = {"promoter": "#146c43", "passive": "#c99a06", "detractor": "#b42318"}
WEEKLY_UP_TO_DAYS = 92


def _frame(key, title, desc, ticks, base_y) -> list[str]:
    grey = 'fill="#5b6675"'
    out = [
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" '
        f'aria-labelledby="{key}-title {key}-desc" font-family="system-ui, sans-serif" '
        'font-size="13">',
        f'<title id="{key}-title">{escape(title)}</title>',
        f'<desc id="{key}-desc">{escape(desc)}</desc>',
    ]
    for y, text in ticks:
        out.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{_px(y)}" y2="{_px(y)}" stroke="#e3e7ed"/>'
            f'<text x="{LEFT - 8}" y="{_px(y)}" dy="4" text-anchor="end" {grey}>'
            f"{escape(text)}</text>"
        )
    out.append(
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{_px(base_y)}" y2="{_px(base_y)}" '
        'stroke="#5b6675"/>'
    )
    return out


def _xlabel(x, text) -> str:
    return (
        f'<text x="{_px(x)}" y="{_px(HEIGHT - BOTTOM + 18)}" text-anchor="middle" '
        f'fill="#5b6675">{escape(text)}</text>'
    )


def series_chart(series, by: str) -> dict:
    """NPS per bucket: [(first day, Score)] → the SVG and the table behind it."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    zero = TOP + plot_h / 2
    ticks = [(TOP + plot_h * k / 4, str(100 - 50 * k)) for k in range(5)]
    title = _("NPS per week") if by == "week" else _("NPS per month")
    slot = plot_w / max(len(series), 1)
    every = max(1, -(-len(series) // 12))
    bars, labels, table = [], [], []
    for i, (day, score) in enumerate(series):
        short = formats.date_format(day, "j M" if by == "week" else "M Y")
        value = score.nps
        table.append(
            (
                formats.date_format(day, "D j M Y" if by == "week" else "F Y"),
                "—" if value is None else formats.number_format(value, 1),
                score.ratings,
            )
        )
        if i % every == 0:
            labels.append(_xlabel(LEFT + i * slot + slot / 2, short))
        if value is None:
            continue
        height = abs(float(value)) / 100 * (plot_h / 2)
        y = zero - height if value >= 0 else zero
        colour = COLOURS["promoter"] if value >= 0 else COLOURS["detractor"]
        tip = _("%(when)s: NPS %(nps)s over %(n)s ratings") % {
            "when": short,
            "nps": formats.number_format(value, 1),
            "n": score.ratings,
        }
        bars.append(
            f'<rect x="{_px(LEFT + i * slot + slot * 0.15)}" y="{_px(y)}" '
            f'width="{_px(max(slot * 0.7, 1))}" height="{_px(max(height, 1))}" fill="{colour}">'
            f"<title>{escape(tip)}</title></rect>"
        )
    rated = [s for _d, s in series if s.ratings]
    desc = (
        "; ".join(
            f"{formats.date_format(d, 'j M' if by == 'week' else 'M Y')}: "
            f"{formats.number_format(s.nps, 1)}"
            for d, s in series
            if s.ratings
        )
        if rated
        else _("No ratings in this period.")
    )
    out = _frame("nps-series", title, desc, ticks, zero)
    out += bars + labels
    if not rated:
        out.append(
            f'<text x="50%" y="35%" text-anchor="middle" fill="#5b6675" font-size="16">'
            f"{escape(_('No ratings in this period.'))}</text>"
        )
    out.append("</svg>")
    return {
        "id": "nps-series",
        "title": title,
        "svg": mark_safe("".join(out)),  # every text above is escaped
        "table": table,
        "by": by,
    }


def distribution_chart(counts: list[tuple[int, int]]) -> dict:
    """Ratings per score, 1 to 10, each bar in its NPS group's colour."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    base = TOP + plot_h
    top = max([n for _s, n in counts] + [1])
    step = max(1, -(-top // 4))
    top = step * 4
    ticks = [
        (base - plot_h * k / 4, formats.number_format(step * k, force_grouping=True))
        for k in range(5)
    ]
    slot = plot_w / 10
    title = _("Ratings per score")
    out = _frame(
        "nps-distribution",
        title,
        "; ".join(f"{value}: {n}" for value, n in counts),
        ticks,
        base,
    )
    for i, (value, n) in enumerate(counts):
        height = plot_h * n / top
        tip = _("Score %(score)s: %(n)s ratings") % {"score": value, "n": n}
        out.append(
            f'<rect x="{_px(LEFT + i * slot + slot * 0.15)}" y="{_px(base - height)}" '
            f'width="{_px(slot * 0.7)}" height="{_px(height)}" '
            f'fill="{COLOURS[scores.colour(value)]}"><title>{escape(tip)}</title></rect>'
        )
        out.append(_xlabel(LEFT + i * slot + slot / 2, str(value)))
    out.append("</svg>")
    return {
        "id": "nps-distribution",
        "title": title,
        "svg": mark_safe("".join(out)),  # every text above is escaped
        "table": [(value, n) for value, n in counts],
    }


def board(merchant, period, branch=None, by: str | None = None) -> dict:
    """The dashboard's NPS section for a reports.Period and a branch (None: all)."""
    if by not in ("week", "month"):
        by = "week" if period.days <= WEEKLY_UP_TO_DAYS else "month"
    span = {"date_from": period.start, "date_to": period.end, "branch": branch}
    counts = scores.distribution(merchant, **span)
    return {
        "score": scores.from_distribution(counts),
        "series": series_chart(scores.nps_series(merchant, by=by, **span), by),
        "distribution": distribution_chart(counts),
        "by": by,
    }
