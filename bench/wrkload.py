"""The C load generator: Debian's `wrk` with the Lua scripts in bench/wrk/, against a running
server. Accruals (`POST /api/v1/accruals`, unique invoice numbers per run, thread and request,
random members) and lookups (`GET /api/v1/customers?q=<document>`). The scripts print wrk's
latency distribution as JSON from `done()`; any status other than the expected one (201, 200)
or any socket error fails the run loudly.
"""

import json
import shutil
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "bench" / "wrk"
WORK = ROOT / "bench" / "results"
INSTALL = "wrk not found: `sudo apt-get install wrk` (Debian/Ubuntu); the wrk figures are skipped"


class WrkFailed(SystemExit):  # a clean, loud exit: the message and status 1
    pass


def available() -> bool:
    return shutil.which("wrk") is not None


def _values_file(name: str, values: list[str]) -> Path:
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / f"wrk-{name}.txt"
    path.write_text("\n".join(values) + "\n")
    return path


def run(kind: str, port: int, api_key: str, values: list[str], duration: int, clients: int) -> dict:
    """One wrk run; kind "accrual" (values: customer ids) or "lookup" (values: documents)."""
    script = SCRIPTS / ("accruals.lua" if kind == "accrual" else "lookups.lua")
    values_file = _values_file(kind, values)
    tag = f"{time.time_ns():x}"
    args = [shutil.which("wrk"), "-t", str(min(2, clients)), "-c", str(clients)]
    args += ["-d", f"{duration}s", "--timeout", "10s", "-s", str(script)]
    args += ["-H", f"Authorization: Bearer {api_key}", f"http://127.0.0.1:{port}"]
    args += ["--", str(values_file), tag]
    out = subprocess.run(args, capture_output=True, text=True, cwd=ROOT)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        raise WrkFailed(f"wrk failed ({out.returncode}):\n{out.stderr}\n{out.stdout}")
    result = json.loads(lines[-1])
    if result["non_2xx"] or result["socket_errors"]:
        raise WrkFailed(
            f"wrk {kind}s: {result['non_2xx']} unexpected statuses and "
            f"{result['socket_errors']} socket errors of {result['requests']} requests; "
            f"first: {result['first_bad']!r}"
        )
    result["errors"] = 0
    result.pop("first_bad")
    return result
