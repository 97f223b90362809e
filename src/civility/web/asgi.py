"""The ASGI entry point `civility serve` runs (gunicorn's asyncio worker).

Django's sync views run one at a time per worker thread, so a client that sends its body
slowly must never hold one. Here the event loop reads each request body first, in full, and
only then hands the request to Django: a stalled client costs a waiting coroutine, not a
worker. The reader also enforces what Django alone cannot under ASGI:

- at most `DATA_UPLOAD_MAX_MEMORY_SIZE` bytes are read, declared or not (chunked bodies
  included); past that Django is given the request without its body and with the size it
  reached, so `BodySizeLimitMiddleware` answers the usual 413 in the endpoint's error shape;
- the whole body must arrive within `CIVILITY_BODY_TIMEOUT` seconds (default 15), else the
  client gets a 408 and the connection closes;
- a chunked body reaches Django with a Content-Length, so it is read like any other."""

from __future__ import annotations

import asyncio
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civility.web.settings")

TIMEOUT_BODY = (
    b'{"error": "the request body did not arrive in time", "field": "body"}'  # 408 answer
)


class BufferedBodyApp:
    """Read the request body on the event loop (bounded in size and time), then call `app`."""

    def __init__(self, app, max_bytes: int, timeout: float):
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = _declared_length(scope)
        if declared is not None and declared > self.max_bytes:
            # Django answers the 413 from the header alone; the body is never read.
            return await self.app(scope, _replay(b"", receive), send)
        try:
            body, size = await asyncio.wait_for(self._read(receive), self.timeout)
        except TimeoutError:
            await _send_timeout(send)
            return None
        if body is None:  # the client went away while sending
            return None
        if size != declared:
            scope = {**scope, "headers": _with_length(scope["headers"], size)}
        return await self.app(scope, _replay(body, receive), send)

    async def _read(self, receive) -> tuple[bytes | None, int]:
        """(body, bytes received); body is b"" once the limit is passed, None on disconnect."""
        parts, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None, size
            chunk = message.get("body", b"")
            size += len(chunk)
            if size <= self.max_bytes:
                parts.append(chunk)
            else:
                parts.clear()  # keep counting, stop keeping: Django refuses it from the size
            if not message.get("more_body", False):
                return (b"".join(parts) if size <= self.max_bytes else b""), size


def _declared_length(scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _with_length(headers, size: int) -> list:
    kept = [
        (n, v) for n, v in headers if n.lower() not in (b"content-length", b"transfer-encoding")
    ]
    return [*kept, (b"content-length", str(size).encode())]


def _replay(body: bytes, receive):
    """A receive() that gives the buffered body once, then waits on the real connection
    (Django listens there for the client going away)."""
    sent = False

    async def replay():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _send_timeout(send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 408,
            "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": TIMEOUT_BODY})


def build_application():
    from django.conf import settings

    django_app = get_asgi_application()
    return BufferedBodyApp(
        django_app,
        max_bytes=settings.DATA_UPLOAD_MAX_MEMORY_SIZE,
        timeout=float(os.environ.get("CIVILITY_BODY_TIMEOUT", "15")),
    )


application = build_application()
