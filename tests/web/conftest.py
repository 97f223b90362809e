"""Shared fixtures for the web tests: a fake engine, articles, moderators, clean rate limits.

The fake engine decides by marker words so web logic is tested without trained models;
tests marked `real_engine` use the shipped engine."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.management.commands import flush as flush_command
from django.db import connections

from civility.web import appendonly, degraded, ratelimit
from civility.web.comments import services, triggers
from civility.web.comments.cache import forget_article

CATEGORIES = ("profanity", "vulgarity", "threat", "personal_attack", "abuse", "promotion")


def pytest_configure(config):
    config.addinivalue_line("markers", "real_engine: needs the shipped engine models")


@dataclass(frozen=True)
class FakeSpan:
    start: int
    end: int
    category: str

    def to_dict(self):
        return {"start": self.start, "end": self.end, "category": self.category}


@dataclass
class FakeAssessment:
    decision: str
    score: float
    categories: dict
    language: str
    reasons: list
    reason_codes: list
    spans: list = field(default_factory=list)
    abuse_kinds: dict = field(default_factory=dict)
    relevance: float | None = 0.5
    model_version: str = "fake-1+policy-test"

    def to_dict(self):
        return {
            "decision": self.decision,
            "score": self.score,
            "categories": self.categories,
            "abuse_kinds": self.abuse_kinds,
            "relevance": self.relevance,
            "spans": [s.to_dict() for s in self.spans],
            "language": self.language,
            "reasons": self.reasons,
            "model_version": self.model_version,
        }


class FakePolicy:
    version = "test"


class FakeModerator:
    """'idiot' -> reject (personal attack, with a span); 'hmm' -> review; 'EXPLODE' raises."""

    policy = FakePolicy()

    model_version = "fake-1+policy-test"

    def __init__(self):
        self.calls = []
        self.batches = []

    def assess_many(self, items):
        items = list(items)
        self.batches.append(len(items))
        return [self.assess(text, article, lang) for text, article, lang in items]

    def assess(self, text, article=None, lang=None):
        self.calls.append((text, article, lang))
        if "EXPLODE" in text:
            raise RuntimeError("engine failure for the test")
        categories = dict.fromkeys(CATEGORIES, 0.01)
        language = lang or ("ar" if any("\u0600" <= ch <= "\u06ff" for ch in text) else "en")
        position = text.find("idiot")
        if position >= 0:
            categories["personal_attack"] = 0.97
            span = FakeSpan(position, position + 5, "personal_attack")
            return FakeAssessment(
                "reject",
                0.97,
                categories,
                language,
                ["Personal attack"],
                ["personal_attack"],
                [span],
            )
        if "hmm" in text:
            categories["promotion"] = 0.5
            return FakeAssessment("review", 0.5, categories, language, ["Promotion"], ["promotion"])
        return FakeAssessment("approve", 0.01, categories, language, [], [])


@pytest.fixture(autouse=True)
def _fresh_rate_limits_and_cache(settings):
    # Rolled-back tests reuse primary keys, so cached comment lists must not outlive a test.
    # Rate-limit buckets live in the database (rolled back with each test) unless Redis is set.
    degraded.reset()  # an outage seen by one test must not skip Redis in the next
    if settings.REDIS_URL:
        ratelimit.reset()
    cache.clear()
    forget_article()
    yield
    degraded.reset()
    if settings.REDIS_URL:
        ratelimit.reset()
    cache.clear()
    forget_article()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True, scope="session")
def _flush_may_clear_the_trail():
    """Flushing the test database (transactional tests, live servers) is the one time the
    append-only trails (decisions, sanctions, appeals) may be erased: lift the SQLite
    triggers around it.
    PostgreSQL's flush uses TRUNCATE, which row triggers do not see."""
    original = flush_command.Command.handle

    def handle(self, **options):
        connection = connections[options.get("database", "default")]
        if connection.vendor != "sqlite":
            return original(self, **options)
        modules = (triggers, *appendonly.trail_triggers())
        with connection.cursor() as cursor:
            for sql in (s for m in modules for s in m.drop_statements("sqlite")):
                cursor.execute(sql)
        try:
            return original(self, **options)
        finally:
            with connection.cursor() as cursor:
                for sql in (s for m in modules for s in m.create_statements("sqlite")):
                    cursor.execute(sql)

    flush_command.Command.handle = handle
    yield
    flush_command.Command.handle = original


@pytest.fixture
def fake_engine(monkeypatch):
    moderator = FakeModerator()
    monkeypatch.setattr(services, "engine_moderator", lambda: moderator)
    return moderator


@pytest.fixture
def real_engine():
    """The shipped engine; a failure to load it fails the test."""
    return services.engine_moderator()


@pytest.fixture
def article(db):
    from civility.web.articles.models import Article

    return Article.objects.create(
        slug="security-talks",
        title="Iraq and the US resume security talks",
        body="Delegations met in Baghdad to discuss the future of the coalition.",
    )


@pytest.fixture
def moderator_user(db):
    user = User.objects.create_user("mod", "mod@example.org", "a-long-test-password")
    user.groups.add(services.moderators_group())
    return User.objects.get(pk=user.pk)  # fresh instance: no stale permission cache


@pytest.fixture
def make_moderator(db):
    """make_moderator("layla", "Layla Hassan"): another moderator, with a display name."""

    def make(name: str, full_name: str = "") -> User:
        first, _, last = full_name.partition(" ")
        user = User.objects.create_user(
            name, f"{name}@example.org", "a-long-test-password", first_name=first, last_name=last
        )
        user.groups.add(services.moderators_group())
        return User.objects.get(pk=user.pk)  # fresh instance: no stale permission cache

    return make


@pytest.fixture
def layla(make_moderator):
    """A moderator with a display name (what other moderators see)."""
    return make_moderator("layla", "Layla Hassan")


@pytest.fixture
def sam(make_moderator):
    """A moderator without one (known by the user name)."""
    return make_moderator("sam")


@pytest.fixture
def reader_user(db):
    return User.objects.create_user("reader", "reader@example.org", "a-long-test-password")


@pytest.fixture
def post(article, fake_engine):
    """Post a comment through the service with the fake engine."""

    def _post(
        text="A fair point about the talks.", author="Ann", email="", parent=None, ip="10.0.0.1"
    ):
        return services.submit_comment(article, author, email, text, parent=parent, ip=ip)

    return _post


# -- Redis and Celery (docs/workers.md) ------------------------------------------------------

# The Redis server the tests use (databases 1-15 of it); .ci/run checks the same one.
REDIS_HOST = os.environ.get("CIVILITY_TEST_REDIS", "redis://127.0.0.1:6379")
ASSESS_QUEUE_KEY = "civility.assess"


@pytest.fixture(scope="session")
def redis_url():
    """A Redis database of its own for this test run (1-15 by process id), emptied before and
    after. Without Redis the test skips, which `make test` turns into a failure
    (CIVILITY_REQUIRE_SERVICES=1, tests/conftest.py); .ci/run starts Redis and checks it."""
    import redis

    try:
        redis.Redis.from_url(f"{REDIS_HOST}/0", socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis at {REDIS_HOST} ({exc}); start redis-server to run this")
    # Claim an empty database that no other test run holds and no client is connected to
    # (test runs on one machine may overlap, and a worker listening to a database would take
    # this run's messages).
    in_use = {int(c.get("db", 0)) for c in redis.Redis.from_url(f"{REDIS_HOST}/0").client_list()}
    start = os.getpid() % 15
    for step in range(15):
        number = 1 + (start + step) % 15
        url = f"{REDIS_HOST}/{number}"
        client = redis.Redis.from_url(url)
        if (
            number not in in_use
            and client.dbsize() == 0
            and client.set("civility:test-run", os.getpid(), nx=True, ex=3 * 3600)
        ):
            break
    else:
        pytest.fail("every Redis database 1-15 is in use; flush an unused one")
    fresh_redis(url)
    yield url
    client.flushdb()  # the claim goes with it


def fresh_redis(url: str) -> None:
    """Empty this run's Redis database, keeping the run's claim on it."""
    import redis

    client = redis.Redis.from_url(url)
    client.flushdb()
    client.set("civility:test-run", os.getpid(), ex=3 * 3600)


@pytest.fixture
def broker(redis_url, settings):
    """Assessment in workers, with this run's Redis as the broker: what a post publishes can be
    read from the queue (a Redis list named after it)."""
    import redis

    from civility.web.workers import app

    settings.CIVILITY_ASSESSMENT = "worker"
    settings.CELERY_BROKER_URL = redis_url
    settings.CIVILITY_ENQUEUE_LINGER = 0  # each post's message at once (one test lingers)
    previous = app.conf.broker_url
    point_celery_at(redis_url)
    client = redis.Redis.from_url(redis_url)
    client.delete(ASSESS_QUEUE_KEY)
    yield client
    client.delete(ASSESS_QUEUE_KEY)
    point_celery_at(previous)


def point_celery_at(url):
    """Make this process's Celery app publish to `url` from now on."""
    from civility.web.workers import app

    app.conf.broker_url = url
    app._pool = None
    app.amqp._producer_pool = None
