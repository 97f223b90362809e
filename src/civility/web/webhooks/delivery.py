"""Sending one webhook delivery: signing, the address check against SSRF, a bounded HTTP POST,
retries with exponential backoff, and the log (docs/workers.md).

Every request carries
    X-Civility-Event: comment.approved
    X-Civility-Delivery: <uuid, the same on every attempt>
    X-Civility-Timestamp: <unix seconds of this attempt>
    X-Civility-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>." + body, keyed by the secret>
so a receiver checks the signature and refuses timestamps older than a few minutes (`verify`).

The host is resolved here and every address it resolves to must be public (not loopback,
private, link-local, shared, multicast or reserved) unless its network is listed in
CIVILITY_WEBHOOK_ALLOWED_NETWORKS; the connection then goes to the address that was checked,
so a DNS answer cannot change between the check and the connection. Redirects are not
followed. The whole exchange is bounded by CIVILITY_WEBHOOK_TIMEOUT seconds."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import logging
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import close_old_connections, transaction
from django.utils import timezone

from .models import Delivery

log = logging.getLogger(__name__)

USER_AGENT = "Civility-Webhooks/1"
MAX_BACKOFF = 3600.0
REPLAY_TOLERANCE = 300


class UnsafeURL(ValueError):
    """A webhook URL that must not be called (scheme, host, or a refused address)."""


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def verify(
    secret: str,
    body: bytes,
    timestamp: str,
    signature: str,
    tolerance: int = REPLAY_TOLERANCE,
    now: float | None = None,
) -> bool:
    """What a receiver does: the signature matches and the timestamp is recent."""
    try:
        sent = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs((time.time() if now is None else now) - sent) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, sent, body), signature or "")


def _allowed_networks():
    return [
        ipaddress.ip_network(n, strict=False) for n in settings.CIVILITY_WEBHOOK_ALLOWED_NETWORKS
    ]


def address_allowed(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is loopback too
    if any(ip in network for network in _allowed_networks()):
        return True
    return ip.is_global and not ip.is_multicast


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[str, ...]


def check_url(url: str) -> Target:
    """The URL's parts and the addresses it may be reached at; UnsafeURL otherwise."""
    if not isinstance(url, str) or len(url) > 500:
        raise UnsafeURL("the URL must be text of at most 500 characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeURL(f"not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https"):
        raise UnsafeURL("the URL must start with https:// or http://")
    if not parts.hostname:
        raise UnsafeURL("the URL has no host")
    if parts.username or parts.password:
        raise UnsafeURL("the URL must not carry a user name or password")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise UnsafeURL("the URL contains spaces or control characters")
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeURL(f"the host {parts.hostname!r} cannot be resolved ({exc})") from None
    addresses = tuple(dict.fromkeys(info[4][0] for info in infos))
    refused = [a for a in addresses if not address_allowed(a)]
    if refused or not addresses:
        raise UnsafeURL(
            f"the host {parts.hostname!r} resolves to {', '.join(refused) or 'nothing'}: "
            "loopback, private, link-local and reserved addresses are refused"
        )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, parts.hostname, port, path, addresses)


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to the checked address, whatever the host name resolves to now."""

    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self):
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self.address = address

    def connect(self):
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST to a checked URL; the HTTP status. Raises UnsafeURL, OSError or HTTPException;
    TimeoutError when the whole exchange takes longer than `timeout`."""
    target = check_url(url)
    last_error: Exception | None = None
    deadline = time.monotonic() + timeout
    for address in target.addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        kind = _PinnedHTTPS if target.scheme == "https" else _PinnedHTTP
        connection = kind(target.host, target.port, address, remaining)
        # A receiver that trickles its answer byte by byte would outlast every per-read
        # timeout; the watchdog closes the socket at the deadline.
        watchdog = threading.Timer(remaining, _abort, args=(connection,))
        watchdog.start()
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
            watchdog.cancel()
            connection.close()
    if time.monotonic() >= deadline:
        raise TimeoutError(f"no answer within {timeout:g} s")
    raise last_error or OSError("no address to connect to")


def _abort(connection) -> None:
    sock = connection.sock
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


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
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Civility-Event": delivery.event,
        "X-Civility-Delivery": str(delivery.delivery_id),
        "X-Civility-Timestamp": str(stamp),
        "X-Civility-Signature": sign(webhook.secret, stamp, body),
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


# -- sending: Celery when there is a broker, else a thread in this process ---------------------


def dispatch(delivery_ids: list[int]) -> None:
    """Send these deliveries (after the commit that stored them)."""
    from civility.web.workers import broker_configured

    if broker_configured():
        from .tasks import deliver

        for delivery_id in delivery_ids:
            try:
                deliver.apply_async(args=[delivery_id], retry=False)
            except Exception as exc:  # the sweeper sends it when the broker is back
                log.error("could not queue webhook delivery %s: %s", delivery_id, exc)
        return
    for delivery_id in delivery_ids:
        threading.Thread(
            target=_deliver_in_process, args=(delivery_id,), daemon=True, name="civility-webhook"
        ).start()


def _deliver_in_process(delivery_id: int) -> None:
    """Without a broker (the demo): attempts and backoff in a thread of this process. A
    delivery still pending when the process stops stays pending in the log."""
    try:
        while (delay := attempt(delivery_id)) is not None:
            time.sleep(delay)
    except Exception:
        log.exception("webhook delivery %s failed", delivery_id)
    finally:
        close_old_connections()


def sweep() -> int:
    """Send again pending deliveries whose next attempt is long overdue (their message was
    lost with a worker or the broker); the number sent."""
    overdue = timezone.now() - timedelta(seconds=settings.CIVILITY_SWEEP_AFTER)
    ids = list(
        Delivery.objects.filter(status=Delivery.PENDING, next_attempt__lt=overdue).values_list(
            "pk", flat=True
        )[:1000]
    )
    if ids:
        transaction.on_commit(lambda: dispatch(ids))
    return len(ids)
