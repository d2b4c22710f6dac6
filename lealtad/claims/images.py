"""A7: the invoice photo, checked and made harmless before it is stored.

The format is decided by the file's content (Pillow's own detection, limited to JPEG, PNG, WebP
and HEIC/HEIF), never by its name or declared type. The picture is decoded under a pixel limit
(a decompression bomb is refused, not decoded), turned upright by its EXIF orientation, shrunk
to at most MAX_SIDE pixels on its longest side and encoded again as WebP from the pixels alone:
no EXIF (GPS, camera, date), no XMP, no ICC profile, nothing of the original file survives.
"""

import io
import warnings
from dataclasses import dataclass

from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from lealtad.claims.errors import ImageTooLarge, InvalidImage

try:  # HEIC, the iPhone's camera format (pillow-heif, a pyproject dependency)
    from pillow_heif import register_heif_opener

    register_heif_opener()
    HEIF = True
except ImportError:  # pragma: no cover - installed with the project
    HEIF = False

MAX_BYTES = 8 * 1024 * 1024
MAX_SIDE = 2000
# 50 megapixels: a 48 MP phone camera passes; a bomb (a small file claiming huge dimensions) does
# not get decoded. Pillow itself warns above this and raises above twice it; both are refused.
MAX_PIXELS = 50_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
FORMATS = ("JPEG", "PNG", "WEBP", *(("HEIF",) if HEIF else ()))
QUALITY = 82


@dataclass(frozen=True)
class Picture:
    content: bytes
    width: int
    height: int
    content_type: str = "image/webp"
    extension: str = "webp"


def _refuse():
    allowed = "JPEG, PNG, WebP, HEIC" if HEIF else "JPEG, PNG, WebP"
    return InvalidImage(
        _("The file is not a picture. Send a photo of the invoice (%(formats)s).")
        % {"formats": allowed}
    )


def _bomb():
    return InvalidImage(
        _("The picture has too many pixels (at most %(mp)d megapixels).")
        % {"mp": MAX_PIXELS // 1_000_000}
    )


def read_upload(upload) -> bytes:
    """The uploaded file's bytes, refusing more than MAX_BYTES without reading past them."""
    too_large = ImageTooLarge(
        _("The picture is larger than %(mb)d MB.") % {"mb": MAX_BYTES // (1024 * 1024)}
    )
    if upload is None:
        raise InvalidImage(_("Attach a photo of the invoice."))
    if getattr(upload, "size", 0) and upload.size > MAX_BYTES:
        raise too_large
    upload.seek(0)
    data = upload.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise too_large
    if not data:
        raise InvalidImage(_("Attach a photo of the invoice."))
    return data


def process(data: bytes) -> Picture:
    """The picture to store, or InvalidImage / ImageTooLarge saying why not."""
    if len(data) > MAX_BYTES:
        raise ImageTooLarge(
            _("The picture is larger than %(mb)d MB.") % {"mb": MAX_BYTES // (1024 * 1024)}
        )
    with warnings.catch_warnings():
        # Between MAX_PIXELS and twice it Pillow only warns: make that a refusal too.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=FORMATS) as image:
                width, height = image.size
                if width < 1 or height < 1 or width * height > MAX_PIXELS:
                    raise _bomb()
                image.load()
                upright = ImageOps.exif_transpose(image)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _bomb() from None
        except InvalidImage:
            raise
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
            raise _refuse() from None
        except Exception:  # a corrupt file may fail anywhere in a decoder: still not a picture
            raise _refuse() from None
    return _encode(upright)


def _encode(image: Image.Image) -> Picture:
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        # An invoice has no transparency: flatten it on white, as it would be printed.
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        image = flat
    elif image.mode != "RGB":
        image = image.convert("RGB")
    image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    # Only the pixels go out: a fresh image carries no info (EXIF, XMP, ICC, comments).
    clean = Image.frombytes("RGB", image.size, image.tobytes())
    out = io.BytesIO()
    clean.save(out, format="WEBP", quality=QUALITY, method=4)
    return Picture(content=out.getvalue(), width=clean.width, height=clean.height)
