"""I4 SSRF: a webhook goes only to public addresses — checked when the endpoint is saved, and
again at send time on the very address the connection then uses (no second DNS lookup), unless
WEBHOOK_ALLOW_PRIVATE_NETWORKS."""

import shutil
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.utils import translation

from lealtad.core import testing
from lealtad.core.errors import NotFound, ValidationFailed
from lealtad.webhooks import delivery, targets
from lealtad.webhooks.actions import create_endpoint, get_endpoint, update_endpoint
from lealtad.webhooks.models import Delivery, Endpoint
from lealtad.webhooks.targets import WebhookUrlNotAllowed
from lealtad.webhooks.tests.helpers import emit_accrual
from lealtad.webhooks.tests.receiver import receiver  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db
PUBLIC = "https://93.184.215.14/hooks"  # a literal public address: no DNS needed

REFUSED = [
    "https://127.0.0.1/hooks",
    "https://127.8.9.10/hooks",
    "https://localhost/hooks",
    "https://10.1.2.3/hooks",
    "https://172.16.0.1/hooks",
    "https://192.168.1.20:8443/hooks",
    "https://169.254.169.254/latest/meta-data/",  # the cloud metadata service
    "https://100.64.0.1/hooks",  # shared address space (CGNAT)
    "https://0.0.0.0/hooks",
    "https://224.0.0.1/hooks",  # multicast
    "https://240.0.0.1/hooks",  # reserved
    "https://[::1]/hooks",
    "https://[fc00::1]/hooks",  # unique local
    "https://[fd12:3456::1]/hooks",
    "https://[fe80::1]/hooks",  # link-local
    "https://[::ffff:127.0.0.1]/hooks",  # loopback in IPv4-mapped form
    "https://[::ffff:169.254.169.254]/hooks",
    "https://[2002:a00:1::]/hooks",  # 6to4 of 10.0.0.1
    "https://[::]/hooks",
    "https://[ff02::1]/hooks",
]


@pytest.fixture
def shop():
    return testing.make_merchant().merchant


@pytest.mark.parametrize("url", REFUSED)
def test_a_private_target_is_refused_at_creation(shop, url, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    with pytest.raises(WebhookUrlNotAllowed) as refused:
        create_endpoint(shop, url=url, events=["accrual.posted"])
    assert (refused.value.code, refused.value.status) == ("webhook_url_not_allowed", 422)
    assert "direcciones públicas" in str(refused.value.detail)  # Spanish, the default
    assert not Endpoint.objects.exists()


@pytest.mark.parametrize(
    "url",
    ["http://93.184.215.14/hooks", "ftp://93.184.215.14/x", "93.184.215.14/hooks", "https:///x"],
)
def test_only_https_urls_with_a_host_are_accepted(shop, url, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    with pytest.raises(WebhookUrlNotAllowed):
        create_endpoint(shop, url=url, events=["accrual.posted"])
    assert not Endpoint.objects.exists()


def test_credentials_in_the_url_are_refused(shop):
    with pytest.raises(WebhookUrlNotAllowed):
        create_endpoint(shop, url="https://u:p@93.184.215.14/x", events=["accrual.posted"])


def test_the_refusal_is_in_the_users_language(shop, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    with translation.override("es"), pytest.raises(WebhookUrlNotAllowed) as refused:
        create_endpoint(shop, url="https://10.0.0.1/x", events=["accrual.posted"])
    assert "solo se envían a direcciones públicas" in str(refused.value.detail)
    with translation.override("pt-br"), pytest.raises(WebhookUrlNotAllowed) as refused:
        create_endpoint(shop, url="http://93.184.215.14/x", events=["accrual.posted"])
    assert str(refused.value.detail) == "A URL deve começar com https://."


def test_a_public_https_target_is_created_with_a_secret(shop, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    endpoint, secret = create_endpoint(
        shop, url=f"  {PUBLIC} ", events=["accrual.posted", "accrual.posted"], description="ERP"
    )
    assert endpoint.url == PUBLIC and endpoint.events == ["accrual.posted"]
    assert secret == endpoint.secret and secret.startswith("whsec_")
    assert 24 <= len(__import__("base64").b64decode(secret[6:])) <= 32
    assert endpoint.active and endpoint.disabled_reason == ""


@pytest.mark.parametrize("events", [[], ["accrual.posted", "points.stolen"], "accrual.posted"])
def test_unknown_or_missing_events_are_a_validation_error(shop, events):
    with pytest.raises(ValidationFailed) as refused:
        create_endpoint(shop, url=PUBLIC, events=events)
    assert refused.value.errors[0]["field"] == "events"
    assert not Endpoint.objects.exists()


def test_an_update_checks_the_url_again(shop, settings):
    endpoint, _ = create_endpoint(shop, url=PUBLIC, events=["accrual.posted"])
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    with pytest.raises(WebhookUrlNotAllowed):
        update_endpoint(shop, endpoint.pk, url="https://169.254.169.254/")
    endpoint.refresh_from_db()
    assert endpoint.url == PUBLIC
    update_endpoint(shop, endpoint.pk, events=["redemption.created"], description="POS")
    endpoint.refresh_from_db()
    assert (endpoint.events, endpoint.description) == (["redemption.created"], "POS")


def test_another_merchants_endpoint_is_not_found(shop):
    endpoint, _ = create_endpoint(shop, url=PUBLIC, events=["accrual.posted"])
    other = testing.make_merchant().merchant
    for bad in (endpoint.pk, "not-a-uuid"):
        with pytest.raises(NotFound):
            get_endpoint(other, bad)
    with pytest.raises(NotFound):
        update_endpoint(other, endpoint.pk, description="mine now")
    assert get_endpoint(shop, str(endpoint.pk)) == endpoint


@pytest.mark.django_db(transaction=True)
def test_a_name_resolving_to_loopback_passes_creation_when_allowed_then_is_refused_at_send(
    receiver,  # noqa: F811
    settings,
):
    shop = testing.make_merchant().merchant
    url = f"https://localhost:{receiver.port}/hooks"
    _endpoint, secret = create_endpoint(shop, url=url, events=["accrual.posted"])  # allowed
    receiver.secrets = [secret]
    emit_accrual(shop)
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False  # the server restarted without it
    row = Delivery.objects.get()
    assert delivery.attempt(row.pk) == "pending"
    row.refresh_from_db()
    assert row.last_error.startswith("refused: localhost está en una red privada")
    assert "127.0.0.1" in row.last_error and row.last_status_code is None
    assert receiver.requests == []  # no connection was made at all


def test_the_connection_goes_to_the_checked_address_without_a_second_lookup(receiver):  # noqa: F811
    """A name that does not resolve at all still reaches the address checked before: the
    connection never asks DNS again, so a rebinding host cannot swap the address."""
    target = targets.Target("http", "hooks.invalid", receiver.port, "/x", "127.0.0.1")
    connection = delivery._PinnedHTTPConnection(target, 2)
    connection.request("POST", "/x", body=b"{}", headers={"Content-Type": "application/json"})
    assert connection.getresponse().status == 401  # it arrived (unsigned, so refused)
    connection.close()
    assert len(receiver.requests) == 1


@pytest.fixture
def tls_server(tmp_path):
    if not shutil.which("openssl"):
        pytest.skip("needs the openssl command to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=hooks.test"),
            *("-addext", "subjectAltName=DNS:hooks.test"),
        ],
        check=True,
        capture_output=True,
    )

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(204)
            self.end_headers()

    server = HTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], cert
    server.shutdown()
    server.server_close()


def test_tls_to_the_pinned_address_still_checks_the_certificate_name(tls_server):
    port, cert = tls_server
    client = ssl.create_default_context(cafile=str(cert))
    good = targets.Target("https", "hooks.test", port, "/", "127.0.0.1")
    connection = delivery._PinnedHTTPSConnection(good, 2, context=client)
    connection.request("POST", "/", body=b"{}")
    assert connection.getresponse().status == 204
    connection.close()
    wrong = targets.Target("https", "other.test", port, "/", "127.0.0.1")
    connection = delivery._PinnedHTTPSConnection(wrong, 2, context=client)
    with pytest.raises(ssl.SSLCertVerificationError):
        connection.request("POST", "/", body=b"{}")
    connection.close()
