"""Accruals/s against clients, as a hand-written SVG (no plotting library):

    python bench/chart.py [bench/results/<timestamp>.json] [-o docs/benchmark-accruals.svg]

Reads a sweep (the newest bench/results/2*.json by default) and draws four lines: HTTP from the
Python client, HTTP from wrk, pgbench with our accrual's SQL, pgbench TPC-B. A log scale on y,
since the database's rates are ten times the HTTP ones.
"""

import argparse
import json
import math
from html import escape
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERIES = (
    ("python", "HTTP, Python client", "#1f77b4", "per_second"),
    ("wrk", "HTTP, wrk", "#d62728", "per_second"),
    ("oursql", "pgbench, our accrual's SQL", "#2ca02c", "tps"),
    ("tpcb", "pgbench, TPC-B", "#7f7f7f", "tps"),
)
W, H, LEFT, RIGHT, TOP, BOTTOM = 720, 430, 70, 230, 50, 50


def render(sweep: dict, title: str, subtitle: str = "") -> str:
    points = sweep["points"]
    counts = [p["clients"] for p in points]
    values = [p[k][f] for p in points for k, _l, _c, f in SERIES if k in p]
    low = 10 ** math.floor(math.log10(max(min(values), 1)))
    high = 10 ** math.ceil(math.log10(max(values)))
    plot_w, plot_h = W - LEFT - RIGHT, H - TOP - BOTTOM

    def x(i):
        return LEFT + (plot_w * i / (len(counts) - 1) if len(counts) > 1 else plot_w / 2)

    def y(v):
        return TOP + plot_h * (1 - (math.log10(v) - math.log10(low)) / math.log10(high / low))

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
        f'viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">',
        f'<rect width="{W}" height="{H}" fill="white"/>',
        f'<text x="{LEFT}" y="20" font-size="14" font-weight="bold">{escape(title)}</text>',
        f'<text x="{LEFT}" y="37" font-size="11" fill="#555">{escape(subtitle)}</text>',
    ]
    decade = low
    while decade <= high:
        for m in (1, 2, 5):
            v = decade * m
            if low <= v <= high:
                out.append(
                    f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
                    f'stroke="#ddd"/><text x="{LEFT - 6}" y="{y(v) + 4:.1f}" '
                    f'text-anchor="end">{v:,.0f}</text>'
                )
        decade *= 10
    for i, c in enumerate(counts):
        out.append(
            f'<line x1="{x(i):.1f}" x2="{x(i):.1f}" y1="{TOP}" y2="{TOP + plot_h}" stroke="#eee"/>'
            f'<text x="{x(i):.1f}" y="{TOP + plot_h + 18}" text-anchor="middle">{c}</text>'
        )
    out.append(
        f'<text x="{LEFT + plot_w / 2}" y="{H - 10}" text-anchor="middle">clients</text>'
        f'<text x="16" y="{TOP + plot_h / 2}" text-anchor="middle" '
        f'transform="rotate(-90 16 {TOP + plot_h / 2})">per second (log)</text>'
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" '
        f'stroke="#333"/>'
    )
    for n, (key, label, colour, field) in enumerate(SERIES):
        pts = [(x(i), y(p[key][field])) for i, p in enumerate(points) if key in p]
        if not pts:
            continue
        path = " ".join(f"{px:.1f},{py:.1f}" for px, py in pts)
        out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        out += [f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{colour}"/>' for px, py in pts]
        ly = TOP + 14 + n * 20
        out.append(
            f'<line x1="{W - RIGHT + 16}" x2="{W - RIGHT + 40}" y1="{ly - 4}" y2="{ly - 4}" '
            f'stroke="{colour}" stroke-width="2"/>'
            f'<text x="{W - RIGHT + 46}" y="{ly}">{escape(label)}</text>'
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    newest = sorted((ROOT / "bench" / "results").glob("2*.json"))
    parser.add_argument("sweep", nargs="?", default=str(newest[-1]) if newest else None)
    parser.add_argument("-o", "--out", default=str(ROOT / "docs" / "benchmark-accruals.svg"))
    parser.add_argument("--title", default="Accruals per second against clients")
    args = parser.parse_args()
    if not args.sweep:
        parser.error("no sweep found: make bench BENCH_ARGS='--sweep 1,2,4,8,16'")
    sweep = json.loads(Path(args.sweep).read_text())
    subtitle = ""
    if "at" in sweep:
        low, high = sweep["loadavg_range"]
        subtitle = (
            f"{sweep['at']}, {sweep['duration']} s a point, load average {low:.1f}–{high:.1f}"
        )
    Path(args.out).write_text(render(sweep, args.title, subtitle))
    print(f"{args.out} from {args.sweep}")


if __name__ == "__main__":
    main()
