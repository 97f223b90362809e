"""Degraded mode in one process (civility.web.degraded): with REDIS_URL pointing at a port
where nothing listens, or at a server that accepts connections and never answers, every door
that posts a comment stores it with its waiting row and answers as usual, the reader pages are
built from the database, rate limits count in the database buckets, and the outage is logged
once a minute. A real Redis killed and restarted under real processes is in
test_redis_outage_live.py."""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
import time

import pytest

from civility.web import degraded, ratelimit
from civility.web.comments import services
from civility.web.comments.models import AwaitingAssessment, Comment
from civility.web.ratelimit.models import Bucket

from .conftest import point_celery_at

pytestmark = pytest.mark.django_db
SITE = "http://testserver"
FORM_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class HungRedis:
    """A TCP server that accepts every connection and never answers: a Redis stopped with
    SIGSTOP, a stalled network path."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        self.stopped = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        self.sock.settimeout(0.2)
        while not self.stopped.is_set():
            try:
                connection, _ = self.sock.accept()
            except OSError:
                continue
            self.held.append(connection)  # read nothing, answer nothing

    def close(self):
        self.stopped.set()
        for connection in self.held:
            connection.close()
        self.sock.close()


def use_redis(url: str, settings, monkeypatch) -> str:
    """This process as a site with REDIS_URL=url: cache, rate limits and broker on it, the
    engine in the workers, each post's message published in the request (linger 0, the case
    where a broker could hold a request up)."""
    from civility.web.workers import app

    settings.REDIS_URL = url
    settings.CACHES = {
        "default": {"BACKEND": "civility.web.degraded.FallbackRedisCache", "LOCATION": url}
    }
    settings.CIVILITY_ASSESSMENT = "worker"
    settings.CELERY_BROKER_URL = url
    settings.CIVILITY_ENQUEUE_LINGER = 0
    monkeypatch.setattr(ratelimit, "_store", None)
    previous = app.conf.broker_url
    point_celery_at(url)
    return previous


@pytest.fixture
def redis_unreachable(settings, monkeypatch):
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    previous = use_redis(url, settings, monkeypatch)
    yield url
    point_celery_at(previous)


@pytest.fixture
def redis_hung(settings, monkeypatch):
    server = HungRedis()
    previous = use_redis(f"redis://127.0.0.1:{server.port}/0", settings, monkeypatch)
    yield server
    point_celery_at(previous)
    server.close()


def post_api(client, slug, text, author="Ann"):
    return client.post(
        f"/api/v1/articles/{slug}/comments",
        data=json.dumps({"author": author, "text": text}),
        content_type="application/json",
    )


def post_form(client, slug, text, author="Ben"):
    return client.post(f"/articles/{slug}/comments/", {"author": author, "text": text})


def post_embed(client, slug, text, author="Cem"):
    page = client.get(f"/embed/{slug}/")
    assert page.status_code == 200
    token = FORM_TOKEN.search(page.content.decode()).group(1)
    return client.post(
        f"/embed/{slug}/comments/",
        {"author": author, "text": text, "form_token": token},
        HTTP_ORIGIN=SITE,
    )


def test_every_door_stores_the_comment_and_holds_it_with_redis_unreachable(
    client,
    article,
    fake_engine,
    moderator_user,
    redis_unreachable,
    django_capture_on_commit_callbacks,
):
    # One comment published before: the pages must show it, built from the database.
    earlier = Comment.objects.create(article=article, author_name="Dara", body="Published before.")
    services.record_decision(earlier, "approve", [], moderator_user)

    with django_capture_on_commit_callbacks(execute=True):
        api = post_api(client, article.slug, "Posted through the API while Redis is down.")
        form = post_form(client, article.slug, "Posted through the form while Redis is down.")
        embed = post_embed(client, article.slug, "Posted through the embed while Redis is down.")

    assert api.status_code == 201, api.content
    assert api.json()["status"] == "pending" and api.json()["being_assessed"] is True
    assert form.status_code == 302 and "/comments/status/" in form["Location"]
    assert embed.status_code == 302 and "/comments/status/" in embed["Location"]
    posted = Comment.objects.exclude(pk=earlier.pk)
    assert sorted(posted.values_list("author_name", flat=True)) == ["Ann", "Ben", "Cem"]
    # Each waits for the workers (the sweeper sends their messages once Redis is back).
    assert set(AwaitingAssessment.objects.values_list("comment_id", flat=True)) == set(
        posted.values_list("pk", flat=True)
    )
    assert fake_engine.calls == []

    # The reader sees "held for moderation" as usual, on the page the form leads to.
    status = client.get(form["Location"])
    assert status.status_code == 200
    assert "Being assessed" in status.content.decode()
    # The pages, from the database.
    for url in (f"/articles/{article.slug}/", f"/embed/{article.slug}/"):
        page = client.get(url)
        assert page.status_code == 200, url
        assert "Published before." in page.content.decode()
        assert "while Redis is down" not in page.content.decode()  # pending: not public
    listing = client.get(f"/api/v1/articles/{article.slug}/comments")
    assert listing.status_code == 200
    assert [c["text"] for c in listing.json()["comments"]] == ["Published before."]
    # Signing in counts failures in the same buckets: a wrong password is a form error.
    login = client.post("/accounts/login/", {"username": "mod", "password": "wrong"})
    assert login.status_code == 200


def test_rate_limits_count_in_the_database_buckets_while_redis_is_unreachable(
    client, article, fake_engine, settings, redis_unreachable
):
    settings.CIVILITY_POST_LIMIT_PER_AUTHOR = (3, 60)
    answers = [post_api(client, article.slug, f"Remark number {n}.").status_code for n in range(5)]
    assert answers == [201, 201, 201, 429, 429]  # limited, not waved through, not a 500
    assert Bucket.objects.filter(key__startswith="civility:rl:post-author:").count() == 1
    assert Comment.objects.count() == 3


def test_the_outage_is_logged_once_a_minute_not_once_a_request(
    client, article, fake_engine, settings, redis_unreachable, caplog, monkeypatch
):
    settings.CIVILITY_REDIS_RETRY_AFTER = 0  # every request tries Redis again and fails
    settings.CIVILITY_POST_LIMIT_PER_AUTHOR = (100, 60)
    caplog.set_level(logging.WARNING)

    def outage_warnings():
        return [r for r in caplog.records if r.name == "civility.web.degraded"]

    for n in range(6):
        assert post_api(client, article.slug, f"Remark {n}.").status_code == 201
        assert client.get(f"/articles/{article.slug}/").status_code == 200
    warnings = outage_warnings()
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "degraded mode" in warnings[0].getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]

    later = time.monotonic() + degraded.WARN_EVERY + 1
    monkeypatch.setattr(degraded.time, "monotonic", lambda: later)
    assert post_api(client, article.slug, "A minute later.").status_code == 201
    warnings = outage_warnings()
    assert len(warnings) == 2
    assert "more failure(s) since the last warning" in warnings[1].getMessage()


def test_a_hung_redis_costs_a_post_one_short_timeout_not_seconds_each(
    client, article, fake_engine, redis_hung, django_capture_on_commit_callbacks
):
    """Before the short timeouts a hung Redis held each post about 5 s and then answered 500."""
    durations = []
    for n in range(5):
        started = time.monotonic()
        with django_capture_on_commit_callbacks(execute=True):
            response = post_api(client, article.slug, f"Posted to a hung Redis, {n}.")
        durations.append(time.monotonic() - started)
        assert response.status_code == 201, response.content
        page_started = time.monotonic()
        assert client.get(f"/articles/{article.slug}/").status_code == 200
        durations.append(time.monotonic() - page_started)
    assert Comment.objects.count() == AwaitingAssessment.objects.count() == 5
    # The first call pays one timeout (0.5 s); the rest skip Redis for a while. Generous
    # bounds for a loaded machine, far below the 5 s per post it took.
    assert max(durations) < 3, durations
    assert sum(durations) < 5, durations
