"""Issue 16, limits: every upload field of the product refuses, with a message by the field (not a
500, not a memory blow-up): a decompression bomb (a tiny PNG claiming 50000×50000 pixels), a
file that is no picture whatever its name says, a picture of a format not taken (GIF named .png),
a corrupt one, and one over the size limit. The fields: the prize's picture and the coin
promotion's picture (console); the claim's invoice photo is the same table in
lealtad/claims/tests/test_app.py (screen) and test_api.py (API, 422 `invalid_image` /
`image_too_large`), with its own 50-megapixel and 8 MB limits."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from lealtad.claims import testing as pictures
from lealtad.coins.models import CoinPromotion
from lealtad.coins.tests.promo_helpers import acceptor, client_for
from lealtad.program.models import Reward

pytestmark = pytest.mark.django_db


def _gif() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (20, 20), (200, 10, 10)).save(out, format="GIF")
    return out.getvalue()


BAD = [
    ("bomb.png", pictures.png_bomb(50_000, 50_000), "megapíxeles"),
    ("virus.png", pictures.text_file(), "PNG, JPEG o WebP"),
    ("animado.png", _gif(), "PNG, JPEG o WebP"),
    ("roto.png", pictures.photo("PNG")[:60], "PNG, JPEG o WebP"),
    ("grande.jpg", pictures.photo("JPEG") + b"\0" * (2 * 1024 * 1024), "2 MB"),
]
FIELDS = {
    "/console/prizes/new/": ({"name": "Malo", "points_cost": "5"}, Reward),
    "/console/coin-promotions/new/": (
        {
            "name": "Malo",
            "coins_price": "450",
            "starts_at": "2026-01-01T09:00",
            "ends_at": "2036-01-01T09:00",
        },
        CoinPromotion,
    ),
}


@pytest.mark.parametrize("url", list(FIELDS))
def test_every_console_picture_refuses_bombs_non_pictures_and_big_files(url, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.LANGUAGE_CODE = "es"
    shop = acceptor()
    console = client_for(shop.admin)
    form, model = FIELDS[url]
    for name, content, words in BAD:
        response = console.post(url, {**form, "picture": SimpleUploadedFile(name, content)})
        assert response.status_code == 200, (name, response.status_code)
        page = response.content.decode()
        assert words in page, (name, words)
        assert 'id="picture-error"' in page or "errorlist" in page, name
    assert not model.objects.filter(name="Malo").exists()
    assert not any(tmp_path.rglob("*.*"))  # nothing was stored
    good = console.post(
        url, {**form, "picture": SimpleUploadedFile("x.bin", pictures.photo("JPEG"))}
    )
    assert good.status_code == 302
    stored = model.objects.get(name="Malo").picture.name
    assert stored.endswith(".jpg")  # named by its content, not by the name sent


def test_upload_memory_settings_are_sane():
    from django.conf import settings

    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE <= 10 * 1024 * 1024
    assert settings.FILE_UPLOAD_MAX_MEMORY_SIZE <= 10 * 1024 * 1024
    assert settings.DATA_UPLOAD_MAX_NUMBER_FIELDS <= 10_000
