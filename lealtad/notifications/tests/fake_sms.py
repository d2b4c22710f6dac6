"""A fake Twilio: a real HTTP server on 127.0.0.1 (port 0, a thread) that speaks the Messages
API's shape, records every request, and can be told to fail (an HTTP status) or to hang.

    from lealtad.notifications.tests.fake_sms import fake_twilio  # noqa: F401 (a fixture)

    def test_x(fake_twilio):          # SMS_URL points at it for the test
        ...
        run_worker()
        assert fake_twilio.last_code("+573001112233") == "1234"
"""

import base64
import email.utils
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

SID, TOKEN, SENDER = "AC0123456789abcdef0123456789abcdef", "secret-token", "+15005550006"


@dataclass
class Received:
    path: str
    auth: tuple[str, str] | None
    content_type: str
    form: dict
    at: float  # time.time() when it arrived


@dataclass
class FakeTwilio:
    server: ThreadingHTTPServer
    requests: list[Received] = field(default_factory=list)
    fail_with: int | None = None  # answer this HTTP status (and a Twilio error body)
    hang_seconds: float = 0  # sleep this long before answering (a timeout for the client)
    sending: threading.Event | None = None  # set while a message is being taken (a crash run)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def url(self, timeout=2) -> str:
        return (
            f"twilio://{SID}:{TOKEN}@127.0.0.1:{self.port}"
            f"?from=%2B{SENDER[1:]}&scheme=http&timeout={timeout}"
        )

    @property
    def lookups(self) -> list[str]:
        """The numbers it was asked about (`GET …/Messages.json?To=`)."""
        return [r.form["_lookup"] for r in self.requests if "_lookup" in r.form]

    @property
    def messages(self) -> list[dict]:
        """The forms of the messages it accepted (answered 201)."""
        return [r.form for r in self.requests if r.form.get("_accepted")]

    def bodies_to(self, to: str) -> list[str]:
        return [m["Body"] for m in self.messages if m.get("To") == to]

    def last_code(self, to: str, digits: str = "4,6") -> str:
        return re.findall(rf"\b(\d{{{digits}}})\b", self.bodies_to(to)[-1])[-1]

    def wait_for(self, count: int, timeout: float = 10) -> bool:
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.messages) >= count, timeout)


def start(port: int = 0, requests: list | None = None) -> FakeTwilio:
    """A fake on `port` (0: any free one). `requests`: a list to record into, kept across a
    stop and a start again on the same port (a provider outage)."""
    fake: FakeTwilio

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode()
            form = {k: v[-1] for k, v in parse_qs(raw, keep_blank_values=True).items()}
            auth = None
            header = self.headers.get("Authorization", "")
            if header.startswith("Basic "):
                user, _sep, password = base64.b64decode(header[6:]).decode().partition(":")
                auth = (user, password)
            got = Received(self.path, auth, self.headers.get("Content-Type", ""), form, time.time())
            if fake.sending is not None:
                fake.sending.set()
            if fake.hang_seconds:
                time.sleep(fake.hang_seconds)
            path_ok = self.path == f"/2010-04-01/Accounts/{SID}/Messages.json"
            if fake.fail_with or auth != (SID, TOKEN) or not path_ok:
                status = fake.fail_with or (401 if path_ok else 404)
                answer = {"code": 20003 if status == 401 else 21211, "message": "fake refusal"}
                answer["status"] = status
            else:
                status = 201
                created = email.utils.format_datetime(datetime.now(UTC))
                form.update(_accepted=True, _sid=f"SM{uuid.uuid4().hex}", _created=created)
                answer = {"sid": form["_sid"], "status": "queued", **form}
            with fake.arrived:
                fake.requests.append(got)
                fake.arrived.notify_all()
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            """The Messages list (`?To=…`), newest first, as `sms.find_sent` reads it."""
            path, _sep, query = self.path.partition("?")
            to = parse_qs(query).get("To", [""])[-1]
            header = self.headers.get("Authorization", "")
            user, _sep, password = base64.b64decode(header[6:] or "").decode().partition(":")
            got = Received(self.path, (user, password), "", {"_lookup": to}, time.time())
            with fake.arrived:
                fake.requests.append(got)
            path_ok = path == f"/2010-04-01/Accounts/{SID}/Messages.json"
            if not path_ok or (user, password) != (SID, TOKEN):
                status, answer = 404, {"code": 20404, "message": "not found"}
            else:
                status = fake.fail_with or 200
                found = [m for m in fake.messages if m.get("To") == to]
                answer = {
                    "messages": [
                        {
                            "sid": m["_sid"],
                            "to": m["To"],
                            "body": m["Body"],
                            "date_created": m["_created"],
                            "status": "sent",
                        }
                        for m in reversed(found)
                    ][:50]
                }
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    ThreadingHTTPServer.allow_reuse_address = True
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    fake = FakeTwilio(server) if requests is None else FakeTwilio(server, requests=requests)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return fake


@pytest.fixture
def fake_twilio(settings):
    fake = start()
    settings.SMS_URL = fake.url()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()
