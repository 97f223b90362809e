"""Sending one webhook delivery: signing, the address check against SSRF, a bounded HTTP POST,
retries with exponential backoff, and the log (docs/workers.md).

Every request carries
    X-Civility-Event: comment.approved
    X-Civility-Delivery: <uuid, the same on every attempt>
    X-Civility-Timestamp: <unix seconds of this attempt>
    X-Civility-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<delivery id>." + body,
                          keyed by the secret>
so a receiver checks the signature, refuses timestamps older than a few minutes and ignores a
delivery id it has seen (`verify` does the first two). The id is signed, so a captured delivery
cannot be replayed under a fresh id.

The host is resolved here and every address it resolves to must be public (not loopback,
private, link-local, shared, multicast or reserved, nor an IPv6 form that embeds such an IPv4
address) unless its network is listed in CIVILITY_WEBHOOK_ALLOWED_NETWORKS; the connection then
goes to the address that was checked, so a DNS answer cannot change between the check and the
connection. Redirects are not followed. The whole exchange is bounded by
CIVILITY_WEBHOOK_TIMEOUT seconds.

Without a broker, deliveries run in a fixed pool of CIVILITY_WEBHOOK_THREADS threads per
process (`_Pool`): a retry waits on the pool's schedule, not in a sleeping thread."""

from __future__ import annotations

import hashlib
import heapq
import hmac
import http.client
import logging
import os
import socket
import ssl
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connections, transaction
from django.utils import timezone

from .models import Delivery
from .safety import UnsafeURL, check_url

log = logging.getLogger(__name__)

USER_AGENT = "Civility-Webhooks/1"
MAX_BACKOFF = 3600.0
REPLAY_TOLERANCE = 300
DELIVER_TASK = "civility.deliver_webhook"  # the Celery task of tasks.py


def sign(secret: str, timestamp: int, delivery_id: str, body: bytes) -> str:
    """The X-Civility-Signature of one attempt: HMAC-SHA256 over
    "<timestamp>.<delivery id>." followed by the body."""
    message = f"{timestamp}.{delivery_id}.".encode() + body
    return f"sha256={hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()}"


def verify(
    secret: str,
    body: bytes,
    timestamp: str,
    delivery_id: str,
    signature: str,
    tolerance: int = REPLAY_TOLERANCE,
    now: float | None = None,
) -> bool:
    """What a receiver does with the headers: the signature matches the timestamp, the
    delivery id and the body, and the timestamp is recent. (It then ignores an id it has
    already processed.)"""
    try:
        sent = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs((time.time() if now is None else now) - sent) > tolerance:
        return False
    if not isinstance(delivery_id, str) or not delivery_id or "." in delivery_id:
        return False  # a dot could move bytes between the id and the body
    return hmac.compare_digest(sign(secret, sent, delivery_id, body), signature or "")


class _Deadline:
    """A socket whose every read and write ends by `deadline` (time.monotonic()): before each
    call its timeout is set to the time left, so a receiver that trickles its answer byte by
    byte is cut off at the deadline, and no watchdog thread is needed."""

    deadline = float("inf")

    def _time_left(self) -> None:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the delivery's time is up")
        self.settimeout(left)

    def recv(self, *args, **kwargs):
        self._time_left()
        return super().recv(*args, **kwargs)

    def recv_into(self, *args, **kwargs):
        self._time_left()
        return super().recv_into(*args, **kwargs)

    def send(self, *args, **kwargs):
        self._time_left()
        return super().send(*args, **kwargs)

    def sendall(self, *args, **kwargs):
        self._time_left()  # sendall's timeout bounds the whole call
        return super().sendall(*args, **kwargs)


class _DeadlineSocket(_Deadline, socket.socket):
    pass


class _DeadlineTLSSocket(_Deadline, ssl.SSLSocket):
    pass


def _connect(address: str, port: int, deadline: float) -> _DeadlineSocket:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = _DeadlineSocket(family, socket.SOCK_STREAM)
    sock.deadline = deadline
    try:
        sock._time_left()
        sock.connect((address, port))
    except BaseException:
        sock.close()
        raise
    return sock


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to the checked address, whatever the host name resolves to now, and ends
    every read and write by `deadline`."""

    def __init__(self, host, port, address, deadline):
        super().__init__(host, port)
        self.address, self.deadline = address, deadline

    def connect(self):
        self.sock = _connect(self.address, self.port, self.deadline)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host, port, address, deadline):
        context = ssl.create_default_context()
        context.sslsocket_class = _DeadlineTLSSocket
        super().__init__(host, port, context=context)
        self.address, self.deadline = address, deadline

    def connect(self):
        sock = _connect(self.address, self.port, self.deadline)
        sock.settimeout(max(0.001, self.deadline - time.monotonic()))  # the handshake's bound
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)
        self.sock.deadline = self.deadline


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST to a checked URL; the HTTP status. Raises UnsafeURL, OSError or HTTPException;
    TimeoutError when the whole exchange takes longer than `timeout`."""
    target = check_url(url)
    last_error: Exception | None = None
    deadline = time.monotonic() + timeout
    for address in target.addresses:
        if time.monotonic() >= deadline:
            break
        kind = _PinnedHTTPS if target.scheme == "https" else _PinnedHTTP
        connection = kind(target.host, target.port, address, deadline)
        try:
            connection.request("POST", target.path, body=body, headers=headers)
            response = connection.getresponse()
            response.read(1024)  # a little of the answer; never more
            return response.status
        except (OSError, http.client.HTTPException) as exc:
            last_error = exc
            if isinstance(exc, ConnectionRefusedError):
                continue  # the next address may answer
            break
        finally:
            connection.close()
    if time.monotonic() >= deadline:
        raise TimeoutError(f"no answer within {timeout:g} s")
    raise last_error or OSError("no address to connect to")


def backoff(attempts: int) -> float:
    """Seconds before attempt number attempts + 1: base, 2 x base, 4 x base, … (at most 1 h)."""
    return min(MAX_BACKOFF, settings.CIVILITY_WEBHOOK_RETRY_BASE * 2 ** max(0, attempts - 1))


def attempt(delivery_id: int) -> float | None:
    """Make one attempt if the delivery is pending and due; the seconds until the next attempt
    when it failed and may be retried, else None (delivered, given up, or not ours now)."""
    now = timezone.now()
    timeout = settings.CIVILITY_WEBHOOK_TIMEOUT
    # Take the delivery for the length of one attempt, so a duplicate message does not send
    # it twice at once (the receiver still dedupes on X-Civility-Delivery: at least once).
    taken = Delivery.objects.filter(
        pk=delivery_id, status=Delivery.PENDING, next_attempt__lte=now + timedelta(seconds=1)
    ).update(next_attempt=now + timedelta(seconds=timeout * 2 + 5))
    if not taken:
        return None
    delivery = Delivery.objects.select_related("webhook").get(pk=delivery_id)
    webhook = delivery.webhook
    if not webhook.active:
        _finish(delivery, Delivery.FAILED, None, "the webhook was deactivated")
        return None
    body = delivery.payload.encode()
    stamp = int(time.time())
    delivery_id = str(delivery.delivery_id)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Civility-Event": delivery.event,
        "X-Civility-Delivery": delivery_id,
        "X-Civility-Timestamp": str(stamp),
        "X-Civility-Signature": sign(webhook.secret, stamp, delivery_id, body),
    }
    started = time.monotonic()
    status, error = None, ""
    try:
        status = post(webhook.url, body, headers, timeout)
        if not 200 <= status < 300:
            error = f"HTTP {status}"
    except UnsafeURL as exc:
        error = f"refused: {exc}"
    except (OSError, http.client.HTTPException) as exc:
        error = f"{type(exc).__name__}: {exc}"[:300]
    elapsed_ms = round((time.monotonic() - started) * 1000)
    delivery.attempts += 1
    delivery.log = [
        *delivery.log,
        {"at": timezone.now().isoformat(), "status": status, "error": error, "ms": elapsed_ms},
    ][-20:]
    if not error:
        _finish(delivery, Delivery.DELIVERED, status, "")
        return None
    if delivery.attempts >= settings.CIVILITY_WEBHOOK_MAX_ATTEMPTS:
        _finish(delivery, Delivery.FAILED, status, error)
        return None
    delay = backoff(delivery.attempts)
    delivery.next_attempt = timezone.now() + timedelta(seconds=delay)
    delivery.last_response, delivery.last_error = status, error[:500]
    delivery.save(update_fields=["attempts", "log", "next_attempt", "last_response", "last_error"])
    return delay


def _finish(delivery: Delivery, status: str, response: int | None, error: str) -> None:
    delivery.status = status
    delivery.last_response, delivery.last_error = response, error[:500]
    if status == Delivery.DELIVERED:
        delivery.delivered = timezone.now()
    delivery.save(
        update_fields=["status", "attempts", "log", "last_response", "last_error", "delivered"]
    )


# -- sending: Celery when there is a broker, else a fixed pool of threads in this process ------


def dispatch(delivery_ids: list[int]) -> None:
    """Send these deliveries (after the commit that stored them)."""
    from civility.web.workers import send_each

    # By name (tasks.py imports this module, not the reverse).
    if send_each(DELIVER_TASK, delivery_ids, "webhook delivery"):
        return
    for delivery_id in delivery_ids:
        _pool.submit(delivery_id)


SWEEP = -1  # what _Pool._next returns when the sweep is due (never a delivery's pk)


class _Pool:
    """Deliveries without a broker (the demo, a small site): CIVILITY_WEBHOOK_THREADS threads
    take due deliveries from one schedule, a heap of (due time, delivery id). A failed attempt
    goes back on the schedule for its retry, so a backlog of any length holds that many threads
    and one heap entry per delivery, at most `limit` of them.

    What the schedule does not hold (over the limit, or left pending by a process that
    stopped) stays pending in the database: when the pool starts and then every
    CIVILITY_SWEEP_AFTER / 2 seconds, one thread puts overdue pending deliveries back on the
    schedule. `attempt` takes a delivery before sending it, so two processes that both
    schedule it send it once."""

    def __init__(self, limit: int = 10_000):
        self.limit = limit
        self._owner = -1  # the pid that started the threads: a forked child starts its own
        self._lock = threading.Lock()

    def _start(self) -> None:
        """The threads, started on first use (so in a server's workers, not its master)."""
        self._ready = threading.Condition()
        self._due: list[tuple[float, int]] = []
        self._scheduled: set[int] = set()
        self._next_sweep = time.monotonic()  # at once: deliveries an earlier process left
        self._stopping = False
        self._threads = [
            threading.Thread(target=self._work, daemon=True, name=f"civility-webhook-{n + 1}")
            for n in range(max(1, settings.CIVILITY_WEBHOOK_THREADS))
        ]
        for thread in self._threads:
            thread.start()
        self._owner = os.getpid()

    def submit(self, delivery_id: int, delay: float = 0.0) -> bool:
        """Schedule an attempt in `delay` seconds; False when it is scheduled already or the
        schedule is full (the delivery then waits in the database for the sweep)."""
        with self._lock:
            if self._owner != os.getpid():
                self._start()
        return self._schedule(delivery_id, delay)

    def _schedule(self, delivery_id: int, delay: float) -> bool:
        with self._ready:
            if self._stopping or delivery_id in self._scheduled:
                return False
            if len(self._due) >= self.limit:
                log.warning("webhook schedule full: delivery %s waits for the sweep", delivery_id)
                return False
            heapq.heappush(self._due, (time.monotonic() + delay, delivery_id))
            self._scheduled.add(delivery_id)
            self._ready.notify()
        return True

    def stop(self, timeout: float = 10.0) -> None:
        """End the threads once their current attempt is done (tests; a later submit starts
        new ones). Scheduled deliveries stay pending in the database."""
        with self._lock:
            if self._owner != os.getpid():
                return
            with self._ready:
                self._stopping = True
                self._ready.notify_all()
            for thread in self._threads:
                thread.join(timeout)
            self._owner = -1

    def _next(self) -> int | None:
        """Wait for the earliest due delivery and take it: its id, SWEEP when the sweep is
        due, None when the pool stops."""
        from civility.web.workers import sweep_every

        with self._ready:
            while not self._stopping:
                now = time.monotonic()
                if now >= self._next_sweep:
                    self._next_sweep = now + sweep_every()
                    return SWEEP
                wait = self._next_sweep - now
                if self._due:
                    due, delivery_id = self._due[0]
                    if due <= now:
                        heapq.heappop(self._due)
                        self._scheduled.discard(delivery_id)
                        return delivery_id
                    wait = min(wait, due - now)
                self._ready.wait(wait)
        return None

    def _work(self) -> None:
        while (delivery_id := self._next()) is not None:
            try:
                if delivery_id == SWEEP:
                    for overdue in _overdue(self.limit - len(self._due)):
                        self._schedule(overdue, 0.0)
                elif (delay := attempt(delivery_id)) is not None:
                    self._schedule(delivery_id, delay)
            except Exception:  # the thread must outlive any one delivery or sweep
                what = "the sweep" if delivery_id == SWEEP else f"delivery {delivery_id}"
                log.exception("webhooks: %s failed", what)
            finally:
                close_old_connections()
        connections.close_all()  # this thread's, as it ends


_pool = _Pool()


def _overdue(limit: int) -> list[int]:
    """Pending deliveries whose next attempt is CIVILITY_SWEEP_AFTER seconds overdue."""
    if limit <= 0:
        return []
    overdue = timezone.now() - timedelta(seconds=settings.CIVILITY_SWEEP_AFTER)
    return list(
        Delivery.objects.filter(status=Delivery.PENDING, next_attempt__lt=overdue)
        .order_by("next_attempt")
        .values_list("pk", flat=True)[:limit]
    )


def sweep() -> int:
    """Send again pending deliveries whose next attempt is long overdue (their message was
    lost with a worker or the broker); the number sent."""
    ids = _overdue(1000)
    if ids:
        transaction.on_commit(lambda: dispatch(ids))
    return len(ids)
