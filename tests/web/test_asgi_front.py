"""The ASGI front of `civility serve` in-process: the WSGI environ it builds, and that a body is
read once, bounded, before Django runs (the live-server tests cover the sockets)."""

from __future__ import annotations

import asyncio
import json

import pytest

from civility.web.asgi import BufferedBodyApp, WsgiInThreads, wsgi_environ


def scope(path="/", headers=(), method="GET", query=b""):
    return {
        "type": "http",
        "method": method,
        "path": path,
        "root_path": "",
        "query_string": query,
        "headers": [(n.encode(), v.encode()) for n, v in headers],
        "client": ("203.0.113.7", 5000),
        "server": ("comments.example", 443),
        "scheme": "https",
        "http_version": "1.1",
    }


def test_environ_follows_pep_3333():
    environ = wsgi_environ(
        scope(
            "/articles/é/",
            [("content-type", "application/json"), ("cookie", "a=1"), ("cookie", "b=2")],
            query=b"x=%C3%A9",
        ),
        b"{}",
    )
    assert environ["PATH_INFO"] == "/articles/é/".encode().decode("latin-1")
    assert environ["QUERY_STRING"] == "x=%C3%A9"
    assert environ["CONTENT_TYPE"] == "application/json"
    assert environ["HTTP_COOKIE"] == "a=1; b=2"
    assert environ["REMOTE_ADDR"] == "203.0.113.7"
    assert environ["wsgi.url_scheme"] == "https"
    assert environ["wsgi.input"].read() == b"{}"


class Recorder:
    def __init__(self):
        self.scope = self.body = None

    async def __call__(self, scope, receive, send):
        self.scope = scope
        self.body = (await receive())["body"]
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def run(app, scope, messages):
    sent = []
    incoming = list(messages)

    async def receive():
        if incoming:
            return incoming.pop(0)
        await asyncio.sleep(3600)

    async def send(message):
        sent.append(message)

    asyncio.run(asyncio.wait_for(app(scope, receive, send), 5))
    return sent


def lengths(recorder):
    return [v for n, v in recorder.scope["headers"] if n == b"content-length"]


def test_a_chunked_body_reaches_the_app_whole_with_its_length():
    inner = Recorder()
    parts = [{"type": "http.request", "body": b"ab", "more_body": True}] * 3
    run(
        BufferedBodyApp(inner, 100, 5),
        scope(method="POST", headers=[("transfer-encoding", "chunked")]),
        [*parts, {"type": "http.request", "body": b"c", "more_body": False}],
    )
    assert inner.body == b"abababc"
    assert lengths(inner) == [b"7"]
    assert all(n != b"transfer-encoding" for n, _ in inner.scope["headers"])


def test_past_the_limit_the_app_gets_no_body_and_the_size_reached():
    inner = Recorder()
    parts = [{"type": "http.request", "body": b"x" * 60, "more_body": True}] * 3
    run(BufferedBodyApp(inner, 100, 5), scope(method="POST"), parts + [{"type": "http.request"}])
    assert inner.body == b""
    assert lengths(inner) == [b"180"]


def test_a_body_that_stops_arriving_is_answered_408():
    inner = Recorder()
    sent = run(
        BufferedBodyApp(inner, 100, 0.2),
        scope(method="POST", headers=[("content-length", "50")]),
        [{"type": "http.request", "body": b"x", "more_body": True}],
    )
    assert inner.scope is None
    assert sent[0]["status"] == 408
    assert json.loads(sent[1]["body"])["field"] == "body"


def test_the_wsgi_app_runs_in_a_thread_and_its_iterable_is_closed():
    closed = []

    class Body(list):
        def close(self):
            closed.append(True)

    def wsgi_app(environ, start_response):
        start_response("201 Created", [("Content-Type", "text/plain")])
        return Body([environ["wsgi.input"].read(), b"!"])

    sent = run(
        WsgiInThreads(wsgi_app),
        scope(method="POST"),
        [{"type": "http.request", "body": b"hi", "more_body": False}],
    )
    assert sent[0] == {
        "type": "http.response.start",
        "status": 201,
        "headers": [(b"content-type", b"text/plain")],
    }
    assert sent[1]["body"] == b"hi!"
    assert closed == [True]


@pytest.mark.django_db(transaction=True)  # Django answers from another thread
def test_the_site_answers_through_the_front(article):
    from civility.web.asgi import build_application

    app = build_application()
    path = f"/api/v1/articles/{article.slug}/comments"
    sent = run(app, scope(path, [("host", "testserver")]), [{"type": "http.request"}])
    assert sent[0]["status"] == 200
    assert json.loads(sent[1]["body"])["article"] == article.slug
