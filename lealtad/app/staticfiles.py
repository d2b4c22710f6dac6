"""What the service worker keeps for offline use, and the version that renews its cache."""

import hashlib
from functools import cache
from pathlib import Path

HERE = Path(__file__).resolve().parent
SW_SOURCE = HERE / "static" / "app" / "sw.js"
SHELL_ASSETS = (
    "app/app.css",
    "app/app.js",
    "cashier/htmx.min.js",
    "app/icons/icon-192.png",
)


@cache
def cache_version() -> str:
    """Changes when the worker or the shell's files change, so phones drop the old cache."""
    digest = hashlib.sha256()
    for path in (
        SW_SOURCE,
        HERE / "static" / "app" / "app.css",
        HERE / "static" / "app" / "app.js",
    ):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]
