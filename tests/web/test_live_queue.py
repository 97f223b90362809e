"""The live queue: the cursor over comments, assessments and decisions (holes included), the
event stream and its short-poll form, the cards a page fetches after an event, soft claims,
and the ASGI front keeping a stream open (and closing it when the worker stops)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from datetime import timedelta

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connections
from django.test import Client
from django.utils import timezone

from civility.web import asgi
from civility.web.comments import services
from civility.web.comments.models import Comment
from civility.web.moderation import live
from civility.web.moderation.models import Claim

LIVE = "/moderation/live/"
CARDS = "/moderation/cards/"


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def events(body: str) -> list[tuple[str, str | None, dict]]:
    """(event name, id, data) of each event in a text/event-stream body."""
    found = []
    for block in body.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in fields:
            found.append((fields["event"], fields.get("id"), json.loads(fields["data"])))
    return found


# --- the cursor ----------------------------------------------------------------------------


def test_cursor_text_round_trips_and_refuses_anything_else():
    cursor = live.Cursor(live.Position(12, (9, 10)), live.Position(0), live.Position(7))
    assert str(cursor) == "12:9,10_0_7"
    assert live.parse(str(cursor)) == cursor
    assert live.parse(None) is None
    past_bigint = f"{2**63}_0_0"
    for bad in ("", "1_2", "a_b_c", "1_2_3_4", "1:_2_3", "1_2_3\nevent: x", "-1_2", past_bigint):
        assert live.parse(bad) is None


def test_position_remembers_skipped_ids_until_they_come_or_fall_far_behind():
    start = live.Position(10)
    after = start.after([11, 14])
    assert after == live.Position(14, (12, 13))
    assert after.after([13]) == live.Position(14, (12,))
    # A hole HOLE_WINDOW ids behind the high mark is given up (a rolled-back insert).
    far = after.after([14 + live.HOLE_WINDOW])
    assert 12 not in far.holes and 13 not in far.holes
    # A jump never lists more than the window's worth of holes.
    assert len(live.Position(0).after([10**9]).holes) <= live.MAX_HOLES


@pytest.mark.django_db
def test_changes_name_posted_assessed_and_decided_comments(post, sam):
    before = live.head()
    pending = post("hmm, a question")
    changed, cursor = live.changes(before)
    assert changed == [pending.pk]
    assert live.changes(cursor)[0] == []
    services.record_decision(pending, "approve", [], sam, seen=None)
    changed, cursor = live.changes(cursor)
    assert changed == [pending.pk]
    automatic = post("you idiot")  # posted, assessed and decided at once
    assert live.changes(cursor)[0] == [automatic.pk]


@pytest.mark.django_db
def test_a_row_committed_late_with_a_lower_id_is_still_seen(article):
    """On PostgreSQL an id is given at insert and the row may commit after one with a higher
    id: the cursor keeps the skipped id as a hole and asks for it again."""
    before = live.head()
    base = before.comments.high
    late = Comment(pk=base + 1, article=article, author_name="Late", body="hmm, slow commit")
    early = Comment.objects.create(
        pk=base + 2, article=article, author_name="Early", body="hmm, fast commit"
    )
    changed, cursor = live.changes(before)
    assert changed == [early.pk]
    assert cursor.comments.holes == (base + 1,)
    late.save()
    changed, cursor = live.changes(cursor)
    assert changed == [late.pk]
    assert cursor.comments.holes == ()


# --- the stream and the poll ---------------------------------------------------------------


@pytest.mark.django_db
def test_event_stream_from_the_page_cursor_then_from_the_last_event_id(post, sam):
    client = signed_in(sam)
    page = client.get("/moderation/").content.decode()
    since = page.split('data-since="', 1)[1].split('"', 1)[0]
    first = post("hmm, new after the page")
    response = client.get(LIVE, {"since": since})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/event-stream")
    assert response["Cache-Control"] == "no-store"
    body = response.content.decode()
    assert body.startswith("retry: 1000\n\n")  # the browser asks again after a second
    (queue_event, cursor, data), (claims_event, _, claims) = events(body)
    assert (queue_event, data) == ("queue", {"comments": [first.pk]})
    assert (claims_event, claims) == ("claims", {"claims": {}})
    second = post("hmm, and another")
    # A reconnecting browser sends Last-Event-ID, which wins over the page's ?since=.
    again = client.get(LIVE, {"since": since}, HTTP_LAST_EVENT_ID=cursor)
    assert events(again.content.decode())[0][2] == {"comments": [second.pk]}
    polled = client.get(LIVE, {"since": cursor, "format": "json"}).json()
    assert polled["comments"] == [second.pk]
    assert live.parse(polled["cursor"]) is not None


@pytest.mark.django_db
def test_live_endpoints_refuse_anyone_but_moderators(post, reader_user):
    comment = post("hmm")
    anonymous = Client()
    reader = signed_in(reader_user)
    for client in (anonymous, reader):
        assert client.get(LIVE).status_code == 403
        assert client.get(CARDS, {"ids": comment.pk}).status_code == 403
        assert client.post(f"/moderation/comments/{comment.pk}/claim/").status_code == 403
    assert not Claim.objects.exists()


@pytest.mark.django_db
def test_cards_show_what_still_matches_and_say_who_decided_the_rest(post, layla, sam):
    decided, waiting = post("hmm, decided elsewhere"), post("hmm, still waiting")
    services.record_decision(decided, "reject", ["promotion"], layla, seen=None)
    answer = signed_in(sam).get(CARDS, {"ids": f"{decided.pk},{waiting.pk}"}).json()
    assert [card["id"] for card in answer["cards"]] == [waiting.pk]
    assert f'id="comment-{waiting.pk}"' in answer["cards"][0]["html"]
    assert answer["cards"][0]["decision"] is None
    assert answer["gone"] == [
        {
            "id": decided.pk,
            "decision": decided.decisions.get().pk,
            "notice": f"Comment {decided.pk} was rejected by Layla Hassan.",
        }
    ]
    assert answer["count"] == "1 comment"
    # Under the "rejected" filter the same decision is a card, not a departure.
    rejected = signed_in(sam).get(CARDS, {"ids": decided.pk, "status": "rejected"}).json()
    assert [card["id"] for card in rejected["cards"]] == [decided.pk]
    assert rejected["cards"][0]["decision"] == decided.decisions.get().pk


@pytest.mark.django_db
def test_cards_are_ordered_as_the_queue_orders_them(post, sam):
    calm, attack, doubtful = post("A calm remark."), post("you idiot"), post("hmm, unsure")
    ids = f"{calm.pk},{attack.pk},{doubtful.pk}"
    client = signed_in(sam)
    risk = client.get(CARDS, {"ids": ids, "status": "all", "order": "risk"}).json()["cards"]
    by_key = [card["id"] for card in sorted(risk, key=lambda card: card["order"])]
    assert by_key == [attack.pk, doubtful.pk, calm.pk]
    oldest = client.get(CARDS, {"ids": ids, "status": "all"}).json()["cards"]
    assert [card["id"] for card in sorted(oldest, key=lambda c: c["order"])] == [
        calm.pk,
        attack.pk,
        doubtful.pk,
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("ids", ["", "x", "1,,2,a", "0", str(2**64), ",".join(["1"] * 101)])
def test_cards_refuse_bad_ids(sam, ids):
    answer = signed_in(sam).get(CARDS, {"ids": ids})
    assert answer.status_code == 400
    assert answer.json()["field"] == "ids"


# --- soft claims ---------------------------------------------------------------------------


def claims_seen_by(client) -> dict:
    return client.get(LIVE, {"format": "json"}).json()["claims"]


@pytest.mark.django_db
def test_a_claim_is_shown_to_the_others_moves_with_the_reader_and_expires(post, layla, sam):
    first, second = post("hmm one"), post("hmm two")
    layla_client, sam_client = signed_in(layla), signed_in(sam)
    answer = layla_client.post(f"/moderation/comments/{first.pk}/claim/")
    assert answer.json() == {"comment": first.pk, "seconds": 120}
    assert claims_seen_by(sam_client) == {str(first.pk): ["Layla Hassan"]}
    assert claims_seen_by(layla_client) == {}  # her own claim is not shown to her
    # One claim per moderator: reading the next comment releases the first.
    layla_client.post(f"/moderation/comments/{second.pk}/claim/")
    assert claims_seen_by(sam_client) == {str(second.pk): ["Layla Hassan"]}
    sam_client.post(f"/moderation/comments/{second.pk}/claim/")
    assert claims_seen_by(layla_client) == {str(second.pk): ["sam"]}
    # Two minutes without renewal and it is gone.
    Claim.objects.filter(user=layla).update(expires=timezone.now() - timedelta(seconds=1))
    assert claims_seen_by(sam_client) == {}
    assert layla_client.post(f"/moderation/comments/{first.pk}/claim/").status_code == 200
    assert layla_client.post("/moderation/claim/release/", {"comment": first.pk}).status_code == 204
    assert claims_seen_by(sam_client) == {}


@pytest.mark.django_db
def test_claims_expire_two_minutes_after_the_last_renewal(post, layla, sam, monkeypatch):
    comment = post("hmm")
    signed_in(layla).post(f"/moderation/comments/{comment.pk}/claim/")
    start = timezone.now()
    monkeypatch.setattr(live.timezone, "now", lambda: start + timedelta(seconds=119))
    assert live.claims_by_others(sam.pk) == {str(comment.pk): ["Layla Hassan"]}
    monkeypatch.setattr(live.timezone, "now", lambda: start + timedelta(seconds=121))
    assert live.claims_by_others(sam.pk) == {}


@pytest.mark.django_db
def test_claims_need_csrf_and_an_existing_comment(post, layla):
    comment = post("hmm")
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(layla)
    assert strict.post(f"/moderation/comments/{comment.pk}/claim/").status_code == 403
    client = signed_in(layla)
    assert client.post("/moderation/comments/999999/claim/").status_code == 404
    assert client.get(f"/moderation/comments/{comment.pk}/claim/").status_code == 405
    assert not Claim.objects.exists()
    client.post(f"/moderation/comments/{comment.pk}/claim/")
    refused = client.post("/moderation/claim/release/", {"comment": "²"})
    assert refused.status_code == 400 and refused.json()["field"] == "comment"
    assert Claim.objects.filter(user=layla).exists()
    assert client.post("/moderation/claim/release/").status_code == 204  # any claim of hers
    assert not Claim.objects.exists()


# --- the ASGI front keeps the stream open --------------------------------------------------


def http_scope(path, query=b"", cookie=""):
    headers = [(b"host", b"testserver")]
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    return {
        "type": "http",
        "method": "GET",
        "path": path,
        "root_path": "",
        "query_string": query,
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
        "scheme": "http",
        "http_version": "1.1",
    }


class Connection:
    """The client side of one ASGI request: what was sent, and a way to leave."""

    def __init__(self):
        self.sent = []
        self.left = asyncio.Event()
        self.requested = False

    async def receive(self):
        if not self.requested:
            self.requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self.left.wait()
        return {"type": "http.disconnect"}

    async def send(self, message):
        self.sent.append(message)

    def body(self) -> str:
        return b"".join(m.get("body", b"") for m in self.sent if "body" in m).decode()

    async def until(self, text: str, timeout: float, times: int = 1) -> float:
        started = time.monotonic()
        while self.body().count(text) < times:
            assert time.monotonic() - started < timeout, f"{text!r} not streamed: {self.body()}"
            await asyncio.sleep(0.05)
        return time.monotonic() - started


@pytest.mark.django_db(transaction=True)
def test_the_asgi_front_streams_new_comments_and_decisions_as_they_happen(
    article, fake_engine, layla, sam
):
    sam_user, layla_user = sam, layla
    client = signed_in(sam_user)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    app = asgi.WsgiInThreads(WSGIHandler())
    since = str(live.head()).encode()
    connection = Connection()

    async def scenario():
        task = asyncio.ensure_future(
            app(http_scope(LIVE, b"since=" + since, cookie), connection.receive, connection.send)
        )
        await connection.until("event: claims", timeout=20)
        start = connection.sent[0]
        assert start["status"] == 200
        assert (b"content-type", b"text/event-stream; charset=utf-8") in start["headers"]
        comment = await asyncio.to_thread(
            closing, lambda: services.submit_comment(article, "Reader", "", "hmm, posted now")
        )
        # Still open: the new comment arrives on the same response.
        await connection.until(f'"comments": [{comment.pk}]', timeout=20)
        await asyncio.to_thread(
            closing, lambda: services.record_decision(comment, "approve", [], layla_user, seen=None)
        )
        await connection.until(f'"comments": [{comment.pk}]', timeout=20, times=2)
        connection.left.set()
        await asyncio.wait_for(task, 10)

    try:
        asyncio.run(scenario())
    finally:  # the threads' database connections, or PostgreSQL keeps the test database busy
        for pool in (app.executor, app.stream_executor):
            close_in_every_thread(pool)


def closing(work):
    """Run `work` (in a thread of its own), then close that thread's database connections."""
    try:
        return work()
    finally:
        connections.close_all()


def close_in_every_thread(pool) -> None:
    barrier = threading.Barrier(pool._max_workers)

    def close():
        barrier.wait(timeout=10)  # every thread of the pool at once, so each closes its own
        connections.close_all()

    for future in [pool.submit(close) for _ in range(pool._max_workers)]:
        future.result()
    pool.shutdown()


class CountingStreamer:
    interval = 0.05
    max_seconds = 60.0
    keepalive_seconds = 0.2

    def __init__(self, fail_after: int | None = None):
        self.polls = 0
        self.closed = False
        self.fail_after = fail_after

    def poll(self) -> bytes:
        self.polls += 1
        if self.fail_after is not None and self.polls > self.fail_after:
            raise RuntimeError("the database went away")
        return b"event: tick\ndata: {}\n\n" if self.polls == 2 else b""

    def close(self) -> None:
        self.closed = True


def streaming_app(streamer):
    def wsgi(environ, start_response):
        assert environ["civility.streams"] is True
        environ["civility.stream"] = streamer
        start_response("200 OK", [("Content-Type", "text/event-stream")])
        return [b"retry: 1000\n\n"]

    return asgi.WsgiInThreads(wsgi)


def run_stream(streamer, stop_after: float | None = None) -> tuple[Connection, float]:
    connection = Connection()
    app = streaming_app(streamer)

    async def scenario():
        task = asyncio.ensure_future(app(http_scope(LIVE), connection.receive, connection.send))
        if stop_after is not None:
            await asyncio.sleep(stop_after)
            asgi._serving[0] = lambda: False
        started = time.monotonic()
        await asyncio.wait_for(task, 10)
        return time.monotonic() - started

    try:
        return connection, asyncio.run(scenario())
    finally:
        asgi._serving[0] = lambda: True


def test_a_stream_ends_promptly_when_the_worker_stops():
    streamer = CountingStreamer()
    connection, after_stop = run_stream(streamer, stop_after=0.5)
    assert after_stop < 2.0  # one interval (0.05 s), with a wide margin for a loaded machine
    assert connection.sent[-1] == {"type": "http.response.body", "body": b""}
    assert "event: tick" in connection.body()
    assert ": still here" in connection.body()  # the keep-alive comment while quiet
    assert streamer.closed


def test_a_stream_ends_after_its_time_and_when_a_poll_fails():
    timed = CountingStreamer()
    timed.max_seconds = 0.3
    connection, _ = run_stream(timed)
    assert connection.sent[-1] == {"type": "http.response.body", "body": b""}
    assert timed.closed
    failing = CountingStreamer(fail_after=3)
    connection, _ = run_stream(failing)
    assert failing.polls == 4
    assert connection.sent[-1] == {"type": "http.response.body", "body": b""}
    assert failing.closed


def test_a_plain_response_is_not_streamed():
    def wsgi(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"hello"]

    connection = Connection()
    asyncio.run(asgi.WsgiInThreads(wsgi)(http_scope("/"), connection.receive, connection.send))
    assert connection.sent[-1] == {"type": "http.response.body", "body": b"hello"}
