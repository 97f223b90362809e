"""The ASGI entry point `civility serve` runs (gunicorn's asyncio workers): an in-process
buffering front for the Django WSGI application.

Django's views run one at a time per worker thread, so a client that sends (or reads) slowly
must never hold one. Here the event loop reads each request body first, in full, and only then
hands the request to Django, in a thread; the answer is written back by the event loop too. A
stalled client costs a waiting coroutine, not a worker. The front also enforces what Django
alone cannot:

- at most `DATA_UPLOAD_MAX_MEMORY_SIZE` bytes are read, declared or not (chunked bodies
  included); past that Django is given the request without its body and with the size it
  reached, so `BodySizeLimitMiddleware` answers the usual 413 in the endpoint's error shape;
- the whole body must arrive within `CIVILITY_BODY_TIMEOUT` seconds (default 15), else the
  client gets a 408 and the connection closes;
- a chunked body reaches Django with a Content-Length, so it is read like any other.

Django runs as the WSGI application it is everywhere else (one thread hop per request): its
own ASGI handler measured at half the throughput, for thread hops on every signal and call.

A view may keep its connection open as a stream of Server-Sent Events (the moderation queue's
live updates): it answers its first batch as usual and leaves a streamer in
`environ["civility.stream"]`, which the front then polls every `interval` seconds in a thread
of its own pool, writing what it returns, until the client leaves, `max_seconds` pass or the
worker is told to stop (the stream ends within `interval`, so a graceful stop does not wait
for it). Only the poll holds a thread; a waiting stream holds none."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from concurrent.futures import ThreadPoolExecutor

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civility.web.settings")
log = logging.getLogger(__name__)

TIMEOUT_BODY = (
    b'{"error": "the request body did not arrive in time", "field": "body"}'  # 408 answer
)


class BufferedBodyApp:
    """Read the request body on the event loop (bounded in size and time), then call `app`
    (an ASGI application)."""

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


# Whether this worker still serves (gunicorn's worker sets it; see follow_worker).
_serving = [lambda: True]


def follow_worker(worker) -> None:
    """gunicorn's post_worker_init hook: open streams end once the worker is told to stop."""
    _serving[0] = lambda: worker.alive


class WsgiInThreads:
    """An ASGI application running a WSGI one in a thread pool, the request body already read
    (BufferedBodyApp comes first). One hop to a thread and back per request."""

    def __init__(self, wsgi_app, threads: int = 1, stream_threads: int = 2):
        self.wsgi_app = wsgi_app
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="django")
        # Streams poll here, so they never wait behind (or hold up) ordinary requests.
        self.stream_executor = ThreadPoolExecutor(
            max_workers=stream_threads, thread_name_prefix="stream"
        )

    async def __call__(self, scope, receive, send):
        message = await receive()
        environ = wsgi_environ(scope, message.get("body", b""))
        environ["civility.streams"] = True  # a view may hand over a streamer (see above)
        loop = asyncio.get_running_loop()
        status, headers, body = await loop.run_in_executor(self.executor, self.run, environ)
        streamer = environ.get("civility.stream")
        if streamer is not None and status == 200:
            return await self.stream(streamer, receive, send, headers, body)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def stream(self, streamer, receive, send, headers, first: bytes) -> None:
        """Send `first`, then whatever `streamer.poll()` returns, until the client leaves,
        the stream's time is up or the worker stops. A comment line keeps proxies from
        closing a quiet stream."""
        loop = asyncio.get_running_loop()
        open_ended = [(n, v) for n, v in headers if n != b"content-length"]  # sent chunked
        await send({"type": "http.response.start", "status": 200, "headers": open_ended})
        await send({"type": "http.response.body", "body": first, "more_body": True})
        gone = asyncio.ensure_future(_disconnected(receive))
        ends = loop.time() + streamer.max_seconds
        quiet = 0.0
        try:
            while loop.time() < ends and _serving[0]():
                done, _ = await asyncio.wait({gone}, timeout=streamer.interval)
                if done:
                    return
                try:
                    chunk = await loop.run_in_executor(self.stream_executor, streamer.poll)
                except Exception:  # the database, say: end it, the browser reconnects
                    log.exception("stream poll failed; closing the stream")
                    break
                quiet = 0.0 if chunk else quiet + streamer.interval
                if not chunk and quiet >= streamer.keepalive_seconds:
                    chunk, quiet = b": still here\n\n", 0.0
                if chunk:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        except OSError:
            return  # the client went away while we wrote
        finally:
            gone.cancel()
            await loop.run_in_executor(self.stream_executor, streamer.close)

    def run(self, environ) -> tuple[int, list, bytes]:
        started = []

        def start_response(status, headers, exc_info=None):
            started[:] = [status, headers]

        chunks = self.wsgi_app(environ, start_response)
        try:
            body = b"".join(chunks)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()  # Django's request_finished (connections, caches) fires here
        status, headers = started
        encoded = [(n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in headers]
        return int(status.split(" ", 1)[0]), encoded, body


async def _disconnected(receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def wsgi_environ(scope, body: bytes) -> dict:
    """The WSGI environ for an ASGI HTTP scope (PEP 3333: paths as latin-1 of their bytes)."""
    import io

    root = scope.get("root_path", "")
    path = scope["path"]
    if root and path.startswith(root):
        path = path[len(root) :]
    server = scope.get("server") or ("localhost", 80)
    environ = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": root.encode("utf-8").decode("latin-1"),
        "PATH_INFO": path.encode("utf-8").decode("latin-1"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1] if server[1] is not None else 80),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    if scope.get("client"):
        environ["REMOTE_ADDR"] = scope["client"][0]
    for raw_name, raw_value in scope.get("headers", ()):
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        key = name if name in ("CONTENT_LENGTH", "CONTENT_TYPE") else f"HTTP_{name}"
        value = raw_value.decode("latin-1")
        if key in environ:
            value = environ[key] + ("; " if key == "HTTP_COOKIE" else ",") + value
        environ[key] = value
    return environ


def build_application(threads: int = 1):
    from django.conf import settings
    from django.core.wsgi import get_wsgi_application

    return BufferedBodyApp(
        WsgiInThreads(get_wsgi_application(), threads),
        max_bytes=settings.DATA_UPLOAD_MAX_MEMORY_SIZE,
        timeout=float(os.environ.get("CIVILITY_BODY_TIMEOUT", "15")),
    )


application = build_application(int(os.environ.get("CIVILITY_THREADS", "1")))
