"""Accruals against the database's limit (issue 15, "Measure honestly"): for one client count,
accruals over HTTP from the Python threads and from wrk (the C client, bench/wrkload.py) against
the same server, then pgbench with our accrual's own SQL (bench/oursql.py) and TPC-B with the
same number of clients; the ratios HTTP ÷ our-SQL and HTTP ÷ TPC-B side by side. `sweep()` does
it at several client counts and writes a JSON file and a markdown table; bench/chart.py draws it.
"""

import json
import resource
import time
from pathlib import Path

import oursql
import wrkload

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def _load() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def with_cpu(server, measure) -> dict:
    """`measure()`, with the CPU it cost per request: the server's (all its processes) and the
    load generator's (the client processes, waited for by then), in ms."""
    server_before, client_before = server.cpu_seconds(), _children_cpu()
    result = measure()
    requests = max(result["requests"], 1)
    result["server_cpu_ms"] = round((server.cpu_seconds() - server_before) * 1000 / requests, 2)
    result["client_cpu_ms"] = round((_children_cpu() - client_before) * 1000 / requests, 2)
    return result


def point(server, port, key, data, duration, clients, db_url, tpcb_db, parts) -> dict:
    """One client count: the parts asked for among python, wrk, oursql, tpcb."""
    import run

    out = {"clients": clients, "duration": duration, "loadavg_before": _load()}
    ids = data["customer_ids_sample"] if data else None
    if "python" in parts:
        out["python"] = with_cpu(
            server, lambda: run.load_test("accrual", key, ids, duration, clients, port)
        )
    if "wrk" in parts and wrkload.available():
        out["wrk"] = with_cpu(
            server, lambda: wrkload.run("accrual", port, key, ids, duration, clients)
        )
    if "oursql" in parts:
        out["oursql"] = oursql.pgbench(db_url, clients, duration, script=oursql.SCRIPT)
    if "tpcb" in parts:
        out["tpcb"] = oursql.pgbench(tpcb_db, clients, duration, builtin="tpcb-like")
    out["loadavg_after"] = _load()
    for client in ("python", "wrk"):
        if client in out:
            for limit in ("oursql", "tpcb"):
                if limit in out:
                    out[f"{client}_per_{limit}"] = round(
                        out[client]["per_second"] / out[limit]["tps"], 3
                    )
    return out


def _cell(p: dict, name: str) -> str:
    r = p.get(name)
    if not r:
        return "–"
    if "per_second" in r:
        return f"{r['per_second']:.0f} ({r['p50_ms']} / {r['p99_ms']})"
    return f"{r['tps']:.0f} ({r['latency_avg_ms']})"


def _ratio(p: dict, key: str) -> str:
    return f"{p[key]:.2f}" if key in p else "–"


def _cpu(p: dict, key: str) -> str:
    return ", ".join(f"{p[c][key]:.1f}" if key in p.get(c, {}) else "–" for c in ("python", "wrk"))


def markdown(points: list[dict]) -> str:
    """The table for docs/benchmark.md: rates with (p50 / p99 ms) or (average ms) for pgbench."""
    lines = [
        "| clients | HTTP Python/s (p50 / p99 ms) | HTTP wrk/s (p50 / p99 ms) "
        "| our SQL tps (avg ms) | TPC-B tps (avg ms) | wrk ÷ our SQL | wrk ÷ TPC-B "
        "| Python ÷ our SQL | Python ÷ TPC-B | server CPU ms/accrual (Python, wrk) "
        "| client CPU ms/request (Python, wrk) | load avg |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for p in points:
        cells = [
            str(p["clients"]),
            _cell(p, "python"),
            _cell(p, "wrk"),
            _cell(p, "oursql"),
            _cell(p, "tpcb"),
            _ratio(p, "wrk_per_oursql"),
            _ratio(p, "wrk_per_tpcb"),
            _ratio(p, "python_per_oursql"),
            _ratio(p, "python_per_tpcb"),
            _cpu(p, "server_cpu_ms"),
            _cpu(p, "client_cpu_ms"),
            " → ".join(f"{p[k][0]:.1f}" for k in ("loadavg_before", "loadavg_after")),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write(points: list[dict], meta: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = RESULTS / f"{stamp}.json"
    path.write_text(json.dumps({**meta, "points": points}, indent=2))
    path.with_suffix(".md").write_text(markdown(points))
    return path


def rows(p: dict) -> list[tuple]:
    """Rows for run.py's summary (its five columns)."""
    out = []
    for client, label in (("python", "Python"), ("wrk", "wrk")):
        if client in p:
            r = p[client]
            out.append(
                (
                    f"accruals/s HTTP {label}",
                    f"{r['per_second']:.0f}",
                    f"p50 {r['p50_ms']} ms",
                    f"p99 {r['p99_ms']} ms",
                    f"errors {r['errors']}",
                )
            )
            if "server_cpu_ms" in r:
                out.append(
                    (
                        f"  CPU ms/accrual ({label})",
                        "",
                        f"server {r['server_cpu_ms']}",
                        f"client {r['client_cpu_ms']}",
                        "",
                    )
                )
    for limit, label in (("oursql", "pgbench our SQL"), ("tpcb", "pgbench TPC-B")):
        if limit in p:
            r = p[limit]
            out.append(
                (
                    f"{label} tps",
                    f"{r['tps']:.0f}",
                    f"avg {r['latency_avg_ms']} ms",
                    "",
                    f"failed {r['failed']}",
                )
            )
    for key in ("python_per_oursql", "python_per_tpcb", "wrk_per_oursql", "wrk_per_tpcb"):
        if key in p:
            client, limit = key.split("_per_")
            out.append((f"ratio {client} ÷ {limit}", f"{p[key]:.2f}", "", "", ""))
    return out


def load_average() -> list[float]:
    return _load()


def sweep(server, port, key, data, duration, counts, db_url, tpcb_db) -> dict:
    """Every part at each client count; written to bench/results/<timestamp>.json and .md."""
    points = []
    for clients in counts:
        print(f"  sweep: {clients} clients, {duration} s each …", flush=True)
        every = {"python", "wrk", "oursql", "tpcb"}
        points.append(point(server, port, key, data, duration, clients, db_url, tpcb_db, every))
    loads = [p[k][0] for p in points for k in ("loadavg_before", "loadavg_after")]
    meta = {"at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "duration": duration}
    meta.update(counts=counts, loadavg_range=[min(loads), max(loads)])
    path = write(points, meta)
    return {"file": str(path.relative_to(ROOT)), "points": points}
