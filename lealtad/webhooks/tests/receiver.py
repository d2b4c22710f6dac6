"""A webhook receiver for tests: a real HTTP server on 127.0.0.1 (a thread) that verifies every
request with `standardwebhooks.Webhook(secret).verify(body, headers)` — the library a merchant's
receiver would use — and records it. It can be told to answer a status (500, 410), to hang until
released, or to be down (its port closed) and up again on the same port.

    from lealtad.webhooks.tests.receiver import receiver  # noqa: F401 (a fixture)

    def test_x(receiver):        # private targets allowed for the test
        endpoint, secret = create_endpoint(merchant, url=receiver.url, events=[...])
        receiver.secrets = [secret]
"""

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from standardwebhooks import Webhook, WebhookVerificationError


@dataclass
class Got:
    id: str
    timestamp: str
    signature: str
    user_agent: str
    content_type: str
    body: bytes
    verified: bool  # by one of the receiver's secrets
    error: str  # why it did not verify
    at: float  # time.time() when it arrived
    status: int = 0  # what the receiver answered

    @property
    def payload(self) -> dict:
        return json.loads(self.body)

    @property
    def type(self) -> str:
        return self.payload["type"]


@dataclass
class Receiver:
    port: int = 0
    secrets: list[str] = field(default_factory=list)
    answer: int = 200  # the status answered to a request that verifies
    hang: bool = False  # keep every request waiting until `release()` (or 60 s)
    requests: list[Got] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)
    released: threading.Event = field(default_factory=threading.Event)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/lealtad"

    @property
    def delivered(self) -> list[Got]:
        """The requests that verified and were answered 2xx."""
        return [g for g in self.requests if g.verified and 200 <= g.status < 300]

    def wait_for(self, count: int, timeout: float = 15) -> bool:
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.requests) >= count, timeout)

    def release(self) -> None:
        self.released.set()

    def start(self) -> "Receiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                verified, error = False, "no secret"
                for secret in receiver.secrets:
                    try:
                        Webhook(secret).verify(raw, headers)
                    except WebhookVerificationError as exc:
                        error = str(exc)
                    else:
                        verified, error = True, ""
                        break
                got = Got(
                    headers.get("webhook-id", ""),
                    headers.get("webhook-timestamp", ""),
                    headers.get("webhook-signature", ""),
                    headers.get("user-agent", ""),
                    headers.get("content-type", ""),
                    raw,
                    verified,
                    error,
                    time.time(),
                )
                status = got.status = receiver.answer if verified else 401
                with receiver.arrived:
                    receiver.requests.append(got)
                    receiver.arrived.notify_all()
                if receiver.hang:
                    receiver.released.wait(60)
                data = b'{"ok": true}' if 200 <= status < 300 else b'{"error": "refused"}'
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the sender hung up (it timed out, or was killed)
                    pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Down: the port closed, a connection is refused (`start()` brings it back)."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    settings.WEBHOOK_TIMEOUT_SECONDS = 2
    settings.WEBHOOK_RETRY_SCHEDULE = [1, 1, 1]
    found = Receiver().start()
    yield found
    found.release()
    found.stop()
