"""Where claim photos live: the "private" storage (STORAGES, settings.py), PRIVATE_MEDIA_ROOT by
default, not MEDIA_ROOT. MEDIA_ROOT is served to anyone at /media/ (prize pictures,
docs/deployment.md); an invoice photo shows a customer's purchase, so it is read only through the
console's view, which checks the merchant first.

Every read and write goes through Django's storage API, so on several nodes the photos are on a
path they share, or in an object store by a settings change (docs/deployment.md, "Several
nodes")."""

import contextlib
import os
import secrets

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, storages

FOLDER = "claims"


class PrivateFileSystemStorage(FileSystemStorage):
    """FileSystemStorage at PRIVATE_MEDIA_ROOT (read when used, so a test may move it), with no
    URL: `url()` raises, nothing here is ever a public address."""

    @property
    def base_location(self):
        return settings.PRIVATE_MEDIA_ROOT

    @property
    def location(self):
        return os.path.abspath(self.base_location)

    @property
    def base_url(self):
        return None


def _storage():
    return storages["private"]


def save(content: bytes, extension: str) -> str:
    """Write the bytes under a random name; returns the name relative to the storage."""
    name = f"{FOLDER}/{secrets.token_urlsafe(24)}.{extension}"
    # 192 random bits never clash; if they did, the storage picks another name, never overwrites.
    return _storage().save(name, ContentFile(content))


def open_photo(name: str):
    """The stored photo, opened for reading (the caller closes it); FileNotFoundError for a name
    outside the storage or no longer there."""
    try:
        return _storage().open(name, "rb")
    except (SuspiciousFileOperation, ValueError):
        raise FileNotFoundError(name) from None


def delete(name: str) -> None:
    with contextlib.suppress(FileNotFoundError, SuspiciousFileOperation):
        _storage().delete(name)
