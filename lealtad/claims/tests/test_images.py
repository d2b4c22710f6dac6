"""A7: what is stored of an uploaded invoice photo — checked by its content, a bomb refused,
turned upright, metadata gone, dimensions capped, re-encoded."""

import io

import pytest
from PIL import Image

from lealtad.claims import images
from lealtad.claims import testing as pictures
from lealtad.claims.errors import ImageTooLarge, InvalidImage


def opened(picture: images.Picture) -> Image.Image:
    image = Image.open(io.BytesIO(picture.content))
    image.load()
    return image


@pytest.mark.parametrize("kind", ["JPEG", "PNG", "WEBP", "HEIF"])
def test_every_allowed_format_is_re_encoded_as_webp(kind):
    picture = images.process(pictures.photo(kind))
    image = opened(picture)
    assert image.format == "WEBP" and picture.content_type == "image/webp"
    assert image.size == (300, 100) == (picture.width, picture.height)


def test_exif_gps_and_icc_are_stripped():
    source = pictures.photo("JPEG")
    original = Image.open(io.BytesIO(source))
    assert original.getexif().get_ifd(0x8825)  # the test photo does carry GPS
    image = opened(images.process(source))
    assert not image.getexif()
    assert "exif" not in image.info and "icc_profile" not in image.info and "xmp" not in image.info
    assert b"PhoneMaker" not in images.process(source).content


def test_the_exif_orientation_is_applied_then_dropped():
    # Orientation 6: the camera was turned; the picture is stored upright, as people see it.
    image = opened(images.process(pictures.photo("JPEG", size=(300, 100), orientation=6)))
    assert image.size == (100, 300)
    assert not image.getexif()


def test_the_longest_side_is_capped():
    picture = images.process(pictures.photo("PNG", size=(4000, 1000), gps=False))
    assert (picture.width, picture.height) == (2000, 500)


def test_a_decompression_bomb_is_refused_without_decoding_it():
    with pytest.raises(InvalidImage) as refused:
        images.process(pictures.png_bomb())
    assert refused.value.code == "invalid_image"
    assert "megapíxeles" in str(refused.value.detail)


def test_a_picture_just_over_the_pixel_limit_is_refused_too():
    # Above MAX_PIXELS but below twice it Pillow only warns; that is a refusal here as well.
    with pytest.raises(InvalidImage):
        images.process(pictures.png_bomb(8000, 7000))


def test_a_text_file_named_jpg_is_not_a_picture():
    with pytest.raises(InvalidImage) as refused:
        images.process(pictures.text_file())
    assert refused.value.code == "invalid_image"
    assert refused.value.errors[0]["field"] == "photo"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"GIF89a" + b"\0" * 100,  # a real format, but not one we take
        pictures.photo("JPEG")[:200],  # truncated
        b"\x89PNG\r\n\x1a\n" + b"\xff" * 50,
    ],
)
def test_other_bytes_are_refused_cleanly(data):
    with pytest.raises(InvalidImage):
        images.process(data)


def test_a_gif_is_refused_even_if_valid():
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, format="GIF")
    with pytest.raises(InvalidImage):
        images.process(out.getvalue())


def test_nine_megabytes_are_too_large():
    with pytest.raises(ImageTooLarge) as refused:
        images.process(pictures.nine_megabytes())
    assert refused.value.code == "image_too_large"


def test_an_upload_over_the_limit_is_not_read_past_it():
    class Upload(io.BytesIO):
        size = 9 * 1024 * 1024

    with pytest.raises(ImageTooLarge):
        images.read_upload(Upload(pictures.nine_megabytes()))


def test_transparency_is_flattened_on_white():
    out = io.BytesIO()
    Image.new("RGBA", (20, 20), (0, 0, 0, 0)).save(out, format="PNG")
    image = opened(images.process(out.getvalue()))
    assert image.mode == "RGB"
    assert image.getpixel((10, 10))[0] > 240
