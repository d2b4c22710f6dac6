import json

from django.contrib.staticfiles import finders


def test_manifest(client, db):
    response = client.get("/app/manifest.webmanifest")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    body = json.loads(response.content)
    assert body["start_url"] == "/app/" and body["display"] == "standalone"
    assert body["theme_color"] and body["name"]
    sizes = {(icon["sizes"], icon.get("purpose", "any")) for icon in body["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes
    for icon in body["icons"]:
        with open(finders.find(icon["src"].removeprefix("/static/")), "rb") as png:
            head = png.read(24)
        assert head[:8] == b"\x89PNG\r\n\x1a\n"  # a real PNG, its size in the IHDR chunk
        width, height = int.from_bytes(head[16:20]), int.from_bytes(head[20:24])
        assert f"{width}x{height}" == icon["sizes"]


def test_service_worker(client, db):
    response = client.get("/app/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == "/app/"
    assert "no-cache" in response["Cache-Control"]
    source = response.content.decode()
    assert '"/app/qr/"' in source and "/*SHELL*/" not in source
    assert "app.css" in source


def test_shell_pages_have_no_inline_script(client, ana):
    from lealtad.app.testing import sign_in

    sign_in(client, ana)
    for path in ("/app/", "/app/signin/", "/app/offline/", "/app/account/"):
        html = client.get(path, follow=True).content.decode()
        assert "<script>" not in html and "onclick" not in html
        assert 'rel="manifest"' in html


def test_head_answers_like_get(client, db):
    for path in ("/app/sw.js", "/app/manifest.webmanifest"):
        assert client.head(path).status_code == 200, path
    assert client.post("/app/sw.js").status_code == 405
