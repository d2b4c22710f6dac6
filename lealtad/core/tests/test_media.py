"""Issue 17: with SERVE_MEDIA on (DEBUG off) every node serves MEDIA_ROOT at /media/ through the
storage API, safely for any name."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from lealtad.claims.testing import photo


@pytest.fixture
def media(settings, tmp_path):
    settings.DEBUG = False
    settings.SERVE_MEDIA = True
    settings.MEDIA_ROOT = tmp_path / "media"
    (tmp_path / "secret.txt").write_text("outside MEDIA_ROOT")
    png = photo("PNG")
    name = default_storage.save("rewards/taza.png", ContentFile(png))
    return name, png


def test_a_picture_is_served_with_its_type_nosniff_and_a_cache_header(client, media):
    name, png = media
    response = client.get(f"/media/{name}")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == png
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == "inline"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "public, max-age=3600"
    assert "sandbox" in response["Content-Security-Policy"]
    assert response["Last-Modified"]
    assert client.head(f"/media/{name}").status_code == 200
    assert client.post(f"/media/{name}").status_code == 405


def test_a_file_that_is_no_picture_is_an_attachment(client, media):
    default_storage.save("rewards/page.html", ContentFile(b"<script>alert(1)</script>"))
    response = client.get("/media/rewards/page.html")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment")


@pytest.mark.parametrize(
    "path",
    [
        "/media/../secret.txt",
        "/media/%2e%2e/secret.txt",
        "/media/rewards/../../secret.txt",
        "/media//etc/passwd",
        "/media/%2Fetc%2Fpasswd",
        "/media/rewards/",
        "/media/rewards",
        "/media/rewards/taza.png%00.txt",
        "/media/rewards%5C..%5C..%5Csecret.txt",
        "/media/rewards/nada.png",
        "/media/" + "a" * 5000,
    ],
)
def test_no_name_leaves_media_root_or_fails(client, media, path):
    assert client.get(path).status_code == 404


def test_off_nothing_is_served(client, media, settings):
    settings.SERVE_MEDIA = False
    assert client.get(f"/media/{media[0]}").status_code == 404


def test_serve_media_follows_debug_by_default(monkeypatch):
    import importlib

    import lealtad.settings as lealtad_settings

    try:
        for debug, expected in (("false", False), ("true", True)):
            monkeypatch.setenv("DEBUG", debug)
            monkeypatch.setenv("SECRET_KEY", "x" * 60)
            monkeypatch.delenv("SERVE_MEDIA", raising=False)
            assert importlib.reload(lealtad_settings).SERVE_MEDIA is expected
        monkeypatch.setenv("SERVE_MEDIA", "true")
        monkeypatch.setenv("DEBUG", "false")
        assert importlib.reload(lealtad_settings).SERVE_MEDIA is True
    finally:
        monkeypatch.undo()
        importlib.reload(lealtad_settings)
