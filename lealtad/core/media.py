"""The uploaded public files (MEDIA_ROOT: prize and coin-promotion pictures) at /media/, served
by the application itself when SERVE_MEDIA is on (by default with DEBUG): behind HAProxy, which
cannot serve files, every node answers /media/ from the shared MEDIA_ROOT (docs/deployment.md,
"Several nodes").

Read through Django's storage API (`default_storage`), so the file is wherever the default
storage keeps it; with an object store (django-storages) the pictures' URLs point at the store
and SERVE_MEDIA stays off. Safe for what anyone may upload: the name is looked up inside the
storage only (`..`, absolute paths, NUL and control characters: 404), only GET and HEAD, the
content type comes from the name and only the picture types are shown inline (anything else is
an attachment), with `nosniff` and a sandboxing CSP, so an upload never runs as a page of this
site.
"""

import contextlib
import mimetypes

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from django.utils.http import http_date
from django.views.decorators.http import require_safe

from lealtad.core import inputs

INLINE_TYPES = {"image/png", "image/jpeg", "image/webp", "image/gif"}
CACHE_SECONDS = 3600  # a picture's name is new for every upload: an hour is safe and kind


@require_safe
def media(request, name: str):
    if not settings.SERVE_MEDIA:
        raise Http404
    if not name or name.endswith("/") or inputs.has_control(name) or "\\" in name:
        raise Http404
    parts = name.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise Http404
    try:
        handle = default_storage.open(name, "rb")
    except (SuspiciousFileOperation, OSError, ValueError):
        raise Http404 from None
    content_type, encoding = mimetypes.guess_type(parts[-1])
    if encoding or content_type not in INLINE_TYPES:
        content_type, inline = "application/octet-stream", False
    else:
        inline = True
    response = FileResponse(
        handle, content_type=content_type, as_attachment=not inline, filename=parts[-1]
    )
    if inline:
        response["Content-Disposition"] = "inline"
    response["Cache-Control"] = f"public, max-age={CACHE_SECONDS}"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    with contextlib.suppress(NotImplementedError, OSError):
        response["Last-Modified"] = http_date(default_storage.get_modified_time(name).timestamp())
    return response
