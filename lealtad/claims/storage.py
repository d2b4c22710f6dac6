"""Where claim photos live: PRIVATE_MEDIA_ROOT, not MEDIA_ROOT. MEDIA_ROOT is served to anyone at
/media/ (prize pictures, docs/deployment.md); an invoice photo shows a customer's purchase, so it
is read only through the console's view, which checks the merchant first."""

import contextlib
import secrets
from pathlib import Path

from django.conf import settings

FOLDER = "claims"


def _root() -> Path:
    return Path(settings.PRIVATE_MEDIA_ROOT)


def save(content: bytes, extension: str) -> str:
    """Write the bytes under a random name; returns the name relative to the root."""
    folder = _root() / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{FOLDER}/{secrets.token_urlsafe(24)}.{extension}"
    path = _root() / name
    with open(path, "xb") as out:  # never overwrites (a clash of 192 random bits: refused)
        out.write(content)
    return name


def path_of(name: str) -> Path:
    path = (_root() / name).resolve()
    if _root().resolve() not in path.parents:
        raise FileNotFoundError(name)
    return path


def delete(name: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        path_of(name).unlink()
