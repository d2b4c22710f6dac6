"""Pictures for the claims' tests, built in memory with Pillow (no fixture files)."""

import io
import struct
import zlib

from PIL import ExifTags, Image


def photo(kind="JPEG", size=(300, 100), orientation=None, gps=True, color=(230, 230, 220)) -> bytes:
    """A small invoice "photo"; JPEG ones carry GPS EXIF (and an orientation when given)."""
    image = Image.new("RGB", size, color)
    for x in range(0, size[0], 10):  # some ink, so that it is not one flat colour
        for y in range(size[1] // 3, size[1] // 3 + 4):
            image.putpixel((x, y), (20, 20, 20))
    out = io.BytesIO()
    extra = {}
    if kind in ("JPEG", "WEBP", "PNG"):
        exif = Image.Exif()
        exif[ExifTags.Base.Make] = "PhoneMaker"
        if orientation:
            exif[ExifTags.Base.Orientation] = orientation
        if gps:
            info = exif.get_ifd(ExifTags.IFD.GPSInfo)
            info[ExifTags.GPS.GPSLatitudeRef] = "N"
            info[ExifTags.GPS.GPSLatitude] = (4.0, 36.0, 35.0)
            info[ExifTags.GPS.GPSLongitudeRef] = "W"
            info[ExifTags.GPS.GPSLongitude] = (74.0, 4.0, 12.0)
        extra["exif"] = exif
    if kind == "HEIF":
        import pillow_heif

        pillow_heif.register_heif_opener()
    image.save(out, format=kind, **extra)
    return out.getvalue()


def png_bomb(width=100_000, height=100_000) -> bytes:
    """A tiny PNG whose header claims `width` × `height` pixels (10 gigapixels by default)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def text_file() -> bytes:
    return b"Factura F-1001\nTotal: 25000\nthis is not a picture\n" * 10


def nine_megabytes() -> bytes:
    """A real JPEG start padded past the 8 MB limit."""
    return photo("JPEG") + b"\0" * (9 * 1024 * 1024)
