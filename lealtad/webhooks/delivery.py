"""I4: sending one delivery — signed (Standard Webhooks, the `standardwebhooks` package), to the
checked address (targets.py), retried with growing, jittered delays for about three days.

At least once: a delivery is sent until its receiver answers 2xx, and every attempt carries the
event's `webhook-id`, so a receiver drops what it has seen. One worker sends a delivery at a
time: it takes a lease on the row (`leased_until`) in a short transaction, sends outside any
transaction (a slow receiver holds no lock and no connection's transaction open), and records
the answer. A worker killed mid-send leaves its task RUNNING forever and the lease runs out:
`resend_stuck`, every minute (engine.PERIODIC), gives such a delivery a new task.
"""

import http.client
import logging
import random
import socket
import ssl
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from standardwebhooks import Webhook

from lealtad.webhooks import targets
from lealtad.webhooks.events import body
from lealtad.webhooks.models import Delivery, DisabledReason, Endpoint

log = logging.getLogger("lealtad.webhooks")
USER_AGENT = "Lealtad-Webhooks/1"
# 5 s, 1 min, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 20 h: 11 attempts over about 3 days.
RETRY_SCHEDULE = [5, 60, 300, 1800, 7200, 18000, 36000, 50400, 72000, 72000]
JITTER = 0.2  # each delay ±20 %: receivers back from an outage are not hit all at once
TASK_PATH = "lealtad.webhooks.tasks.deliver"
EVENT_TASK_PATH = "lealtad.webhooks.tasks.deliver_event"  # an event's first attempts
MAX_PARALLEL = 8  # an event's first attempts sent at once, at most


def timeout() -> float:
    return float(getattr(settings, "WEBHOOK_TIMEOUT_SECONDS", 10))


def lease() -> timedelta:
    """How long a worker may hold a delivery: connecting and answering, each within the
    timeout, plus a margin. Past it, the delivery is another worker's to take."""
    return timedelta(seconds=2 * timeout() + 5)


def schedule() -> list[int]:
    return list(getattr(settings, "WEBHOOK_RETRY_SCHEDULE", None) or RETRY_SCHEDULE)


def retry_delay(attempts: int) -> timedelta | None:
    """The wait after the `attempts`-th failed attempt, jittered; None once the schedule is
    spent (the delivery has failed)."""
    steps = schedule()
    if attempts > len(steps):
        return None
    seconds = steps[attempts - 1]
    return timedelta(seconds=seconds * random.uniform(1 - JITTER, 1 + JITTER))


def enqueue(delivery_id: int, run_after=None) -> None:
    """The delivery's task, written in the caller's transaction (the database backend)."""
    from lealtad.webhooks.tasks import deliver

    task = deliver.using(run_after=run_after) if run_after else deliver
    task.enqueue(delivery_id)


def start_event(event_id: str, now=None) -> str:
    """The `deliver_event` task's work: the first attempts of the event's pending deliveries,
    claimed together and sent at once (a slow receiver delays no other: each has its own
    thread, and the task lasts as long as the slowest, within the time-out). Returns each
    delivery's outcome, e.g. "delivered delivered"; "none" when none was left to send."""
    now = now or timezone.now()
    rows, _reason = _claim(Q(event_id=event_id, attempts=0), now)
    if not rows:
        return "none"
    return " ".join(_send_all(rows, now))


def signature(endpoint: Endpoint, msg_id: str, at: datetime, text: str, now=None) -> str:
    """`webhook-signature`: v1 with the secret, and with the previous one too for 24 h after
    a rotation, space-separated (the spec's form for several signatures)."""
    now = now or timezone.now()
    signatures = [Webhook(endpoint.secret).sign(msg_id, at, text)]
    if (
        endpoint.previous_secret
        and endpoint.previous_secret_until
        and (endpoint.previous_secret_until > now)
    ):
        signatures.append(Webhook(endpoint.previous_secret).sign(msg_id, at, text))
    return " ".join(signatures)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the address already checked, not to whatever the name resolves to now."""

    def __init__(self, target: targets.Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """The same over TLS: the certificate is checked against the host name (SNI too)."""

    def __init__(self, target: targets.Target, timeout: float, context=None):
        super().__init__(
            target.host, target.port, timeout=timeout, context=context or _tls_context()
        )
        self._address = target.address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def _tls_context():
    return ssl.create_default_context()


def post(url: str, headers: dict, data: bytes) -> tuple[int, str]:
    """POST `data` to `url`, to an address checked now; returns (status, the start of the
    answer). No redirect is followed (a 3xx is a failure like any non-2xx). Raises
    WebhookUrlNotAllowed for a refused address, OSError on a connection failure or time-out."""
    target = targets.resolve(targets.parse(url))
    cls = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    conn = cls(target, timeout())
    try:
        conn.request("POST", target.path, body=data, headers=headers)
        response = conn.getresponse()
        answer = response.read(2000).decode("utf-8", "replace")
        return response.status, answer
    finally:
        conn.close()


def attempt(delivery_id: int, now=None) -> str:
    """The `deliver` task's work: one attempt of a pending, due delivery nobody else holds.
    Returns what became of it ("delivered", "pending", "failed", "cancelled", or why nothing
    was done: "done", "held", "not due")."""
    now = now or timezone.now()
    rows, reason = _claim(Q(pk=delivery_id), now)
    if not rows:
        return reason
    return _send(rows[0], now)


def _claim(which: Q, now) -> tuple[list[Delivery], str]:
    """Lease the pending deliveries `which` that are due and held by nobody, in one short
    transaction (four round trips however many): their attempt is counted now, so a worker
    killed while sending leaves a counted attempt and a lease that runs out. A delivery whose
    endpoint was disabled is cancelled instead. Returns the claimed rows, with their endpoint
    and event, and for a single delivery why it was not claimed."""
    reason = "done"  # delivered, given up, cancelled, deleted, or being claimed
    with transaction.atomic():
        rows = Delivery.objects.select_related("endpoint", "event").filter(
            which, status=Delivery.Status.PENDING
        )
        if connection.features.has_select_for_update_skip_locked:
            rows = rows.select_for_update(skip_locked=True, of=("self",))
        claimed, cancelled = [], []
        for row in rows.order_by("pk"):
            if row.leased_until and row.leased_until > now:
                reason = "held"  # another worker sends it now
            elif row.next_attempt_at and row.next_attempt_at > now:
                reason = "not due"  # its own retry task is waiting for that time
            elif not row.endpoint.active:
                cancelled.append(row)
            else:
                claimed.append(row)
        if cancelled:
            Delivery.objects.filter(pk__in=[row.pk for row in cancelled]).update(
                status=Delivery.Status.CANCELLED, next_attempt_at=None
            )
            reason = Delivery.Status.CANCELLED
        if claimed:
            Delivery.objects.filter(pk__in=[row.pk for row in claimed]).update(
                leased_until=now + lease(), attempts=F("attempts") + 1, last_attempt_at=now
            )
            for row in claimed:  # the rows are locked: nobody else counted an attempt since
                row.leased_until, row.attempts, row.last_attempt_at = (
                    now + lease(),
                    row.attempts + 1,
                    now,
                )
    return claimed, reason


def _send_all(rows: list[Delivery], now) -> list[str]:
    """Send the claimed deliveries at once, one thread each for the HTTP alone (no database
    work in the threads), then record each answer here."""
    if len(rows) == 1:
        return [_send(rows[0], now)]
    with ThreadPoolExecutor(max_workers=min(len(rows), MAX_PARALLEL)) as pool:
        answers = list(pool.map(lambda row: _post_one(row, now), rows))
    return [
        _record(row, max(now, at), *answer) for row, (answer, at) in zip(rows, answers, strict=True)
    ]


def _send(row: Delivery, now) -> str:
    (status, answer, error), at = _post_one(row, now)
    # The answer's time, not the claim's: a 10 s time-out must not eat a 5 s retry delay.
    return _record(row, max(now, at), status, answer, error)


def _post_one(row: Delivery, now) -> tuple[tuple, datetime]:
    """One signed POST of the delivery's event: ((status, answer, error), when it ended)."""
    endpoint, event = row.endpoint, row.event
    text = body(event.payload)
    at = datetime.now(UTC).replace(microsecond=0)  # fresh each attempt, as the signature
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": event.pk,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature(endpoint, event.pk, at, text, now),
    }
    status, answer, error = None, "", ""
    try:
        status, answer = post(endpoint.url, headers, text.encode())
    except targets.WebhookUrlNotAllowed as exc:
        error = f"refused: {exc}"
    except (OSError, http.client.HTTPException) as exc:  # refused, reset, time-out, TLS
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return (status, answer, error), timezone.now()


def _record(row: Delivery, now, status, answer: str, error: str) -> str:
    from lealtad.webhooks.actions import disable_endpoint

    endpoint = row.endpoint
    row.last_status_code, row.last_response = status, answer[:500]
    row.last_error = (error or ("" if status and 200 <= status < 300 else f"HTTP {status}"))[:300]
    row.leased_until = None
    fields = ["status", "last_status_code", "last_response", "last_error", "leased_until"]
    fields += ["next_attempt_at", "delivered_at"]
    if status is not None and 200 <= status < 300:
        # The common case in one statement: still pending (its endpoint was not deleted or
        # disabled while it was being sent) → delivered.
        delivered = Delivery.objects.filter(pk=row.pk, status=Delivery.Status.PENDING).update(
            status=Delivery.Status.DELIVERED,
            delivered_at=now,
            next_attempt_at=None,
            last_status_code=status,
            last_response=row.last_response,
            last_error=row.last_error,
            leased_until=None,
        )
        if not delivered:
            return "done"
        if endpoint.failing_since is not None:
            Endpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=False).update(
                failing_since=None
            )
        row.status, row.delivered_at, row.next_attempt_at = Delivery.Status.DELIVERED, now, None
        return row.status
    with transaction.atomic():
        current = Delivery.objects.select_for_update().filter(pk=row.pk)
        if not current.filter(status=Delivery.Status.PENDING).exists():
            return "done"  # its endpoint was deleted or disabled while it was being sent
        if status == 410:  # the receiver says: never again
            row.status, row.next_attempt_at = Delivery.Status.FAILED, None
            row.save(update_fields=fields)
            if disable_endpoint(endpoint, DisabledReason.GONE, now):
                log.warning("webhook endpoint %s answered 410 Gone: disabled", endpoint.pk)
            return row.status
        delay = retry_delay(row.attempts)
        if delay is None:
            row.status, row.next_attempt_at = Delivery.Status.FAILED, None
        else:
            row.next_attempt_at = now + delay
        row.save(update_fields=fields)
        if delay is not None:
            enqueue(row.pk, run_after=row.next_attempt_at)
        Endpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(
            failing_since=now
        )
        endpoint.refresh_from_db(fields=["failing_since", "active"])
        hours = getattr(settings, "WEBHOOK_DISABLE_AFTER_HOURS", 72)
        if endpoint.active and endpoint.failing_since <= now - timedelta(hours=hours):
            if disable_endpoint(endpoint, DisabledReason.FAILING, now):
                tell_admins(endpoint, hours)
            row.refresh_from_db(fields=["status"])
    log.log(
        logging.ERROR if row.status == Delivery.Status.FAILED else logging.WARNING,
        "webhook delivery %s (%s) to %s: attempt %d failed (%s); %s",
        row.pk,
        row.event_id,
        endpoint.url,
        row.attempts,
        row.last_error,
        f"next at {row.next_attempt_at.isoformat()}" if row.next_attempt_at else row.status,
    )
    return row.status


def tell_admins(endpoint: Endpoint, hours: int) -> int:
    """E-mail the merchant's admins (through the outbox, in the merchant's language) that the
    endpoint was disabled for failing; returns how many were written."""
    from django.utils import translation
    from django.utils.translation import gettext as _

    from lealtad.network.models import Role, User
    from lealtad.notifications.actions import language_for
    from lealtad.notifications.models import Event as MailEvent
    from lealtad.notifications.models import OutgoingEmail

    merchant = endpoint.merchant
    addresses = list(
        User.objects.filter(merchant=merchant, role=Role.MERCHANT_ADMIN, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
        .distinct()
    )
    if not addresses and merchant.email:
        addresses = [merchant.email]
    with translation.override(language_for(merchant)):
        subject = _("Webhook disabled: %(url)s") % {"url": endpoint.url[:120]}
        text = _(
            "The webhook endpoint %(url)s of %(merchant)s failed every delivery for "
            "%(hours)s hours, so we stopped sending to it. Its deliveries list the events it "
            "missed.\n\nWhen the receiver works again, enable the endpoint in the console and "
            "send again the deliveries you need."
        ) % {"url": endpoint.url, "merchant": merchant.name, "hours": hours}
    now = timezone.now()
    for address in addresses:
        OutgoingEmail.objects.create(  # its send task: notifications.apps._enqueue_new_row
            merchant=merchant,
            event=MailEvent.WEBHOOK,
            to=address,
            subject=subject[:200],
            body=text + "\n",
            created_at=now,
        )
    return len(addresses)


def resend_stuck(now=None, batch: int = 500) -> int:
    """A new task for each pending delivery that was due a lease ago, is held by nobody and
    has no task waiting: its task died with a killed worker (django-tasks-db leaves it RUNNING).
    It goes again with the same `webhook-id`. A duplicate task is harmless: `attempt` sends a
    delivery only when it is due and nobody holds it."""
    from django_tasks_db.models import DBTaskResult

    now = now or timezone.now()
    stale = now - lease()
    rows = list(
        Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=stale)
        .filter(Q(leased_until__isnull=True) | Q(leased_until__lte=now))
        .order_by("next_attempt_at")
        .values_list("pk", "event_id", "attempts")[:batch]
    )
    if not rows:
        return 0
    ready = DBTaskResult.objects.ready()
    waiting = set(
        ready.filter(
            task_path=TASK_PATH, args_kwargs__args__0__in=[row[0] for row in rows]
        ).values_list("args_kwargs__args__0", flat=True)
    )
    # A first attempt may still wait in its event's task (deliver_event), which sends it.
    events = set(
        ready.filter(
            task_path=EVENT_TASK_PATH,
            args_kwargs__args__0__in=[event for _pk, event, attempts in rows if not attempts],
        ).values_list("args_kwargs__args__0", flat=True)
    )
    lost = [
        pk
        for pk, event, attempts in rows
        if pk not in waiting and not (attempts == 0 and event in events)
    ]
    with transaction.atomic():
        for pk in lost:
            enqueue(pk)
    if lost:
        log.warning("%d webhook deliveries had lost their task (a worker died?): again", len(lost))
    return len(lost)
