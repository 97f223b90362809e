"""Rate limits are token buckets shared by every process (database, or Redis when set), and
sign-in is throttled per account and per IP."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client

from civility.web import ratelimit

pytestmark = pytest.mark.django_db

TEN_PER_MINUTE = ratelimit.Limit(10, 60)


class Clock:
    def __init__(self, monkeypatch, start: float = 1_000_000.0):
        self.now = start
        monkeypatch.setattr(ratelimit.time, "time", lambda: self.now)


def allowed(scope: str, key: str, limit: ratelimit.Limit, hits: int) -> int:
    count = 0
    for _ in range(hits):
        try:
            ratelimit.check(scope, key, limit)
            count += 1
        except ratelimit.RateLimited:
            pass
    return count


@pytest.fixture(params=["database", "redis"])
def store(request, monkeypatch, settings):
    """Each test runs on both stores; Redis on this run's own database (the `redis_url`
    fixture: without Redis it skips, and `make test` fails on that skip)."""
    if request.param == "redis":
        store = ratelimit._RedisStore(request.getfixturevalue("redis_url"))
        store.clear()
        request.addfinalizer(store.clear)
    else:
        store = ratelimit._DatabaseStore()
    monkeypatch.setattr(ratelimit, "_store", store)
    return store


def test_a_burst_gets_exactly_the_limit(store, monkeypatch):
    Clock(monkeypatch)
    assert allowed("t", "burst", TEN_PER_MINUTE, 15) == 10


def test_no_second_burst_across_a_window_boundary(store, monkeypatch):
    # Fixed windows let 10 through just before a minute ends and 10 more just after it.
    clock = Clock(monkeypatch, start=1_000_019.9)  # 0.1 s before a 60 s window boundary
    assert allowed("t", "edge", TEN_PER_MINUTE, 10) == 10
    clock.now += 0.2
    assert allowed("t", "edge", TEN_PER_MINUTE, 10) == 0


def test_the_bucket_refills_one_hit_per_interval(store, monkeypatch):
    clock = Clock(monkeypatch)
    assert allowed("t", "refill", TEN_PER_MINUTE, 10) == 10
    with pytest.raises(ratelimit.RateLimited) as refused:
        ratelimit.check("t", "refill", TEN_PER_MINUTE)
    assert refused.value.retry_after == 6  # one hit every 60/10 s
    clock.now += 6
    assert allowed("t", "refill", TEN_PER_MINUTE, 3) == 1
    clock.now += 60
    assert allowed("t", "refill", TEN_PER_MINUTE, 15) == 10


def test_keys_and_scopes_are_separate(store, monkeypatch):
    Clock(monkeypatch)
    assert allowed("t", "a", TEN_PER_MINUTE, 12) == 10
    assert allowed("t", "b", TEN_PER_MINUTE, 12) == 10
    assert allowed("other", "a", TEN_PER_MINUTE, 12) == 10


def test_several_buckets_in_one_call_stop_at_the_first_refusal(store, monkeypatch):
    """check_all (a post's per-IP and per-author limits, one Redis round trip) counts like
    separate checks in order: a refusal leaves the buckets after it untouched."""
    Clock(monkeypatch)
    two = ratelimit.Limit(2, 60)
    ratelimit.check_all([("ip", "x", two), ("author", "a", two)])
    ratelimit.check_all([("ip", "x", two), ("author", "a", two)])
    with pytest.raises(ratelimit.RateLimited) as refused:
        ratelimit.check_all([("ip", "x", two), ("author", "b", two)])
    assert refused.value.retry_after == 30
    # "b" was never counted: the IP's refusal came first.
    assert allowed("author", "b", two, 5) == 2
    # The author's own refusal comes after the IP's hit was counted, as in two checks.
    with pytest.raises(ratelimit.RateLimited):
        ratelimit.check_all([("ip", "y", two), ("author", "a", two)])
    assert allowed("ip", "y", two, 5) == 1


def test_peek_counts_nothing(store, monkeypatch):
    Clock(monkeypatch)
    for _ in range(20):
        ratelimit.peek("t", "peek", TEN_PER_MINUTE)
    assert allowed("t", "peek", TEN_PER_MINUTE, 12) == 10
    with pytest.raises(ratelimit.RateLimited):
        ratelimit.peek("t", "peek", TEN_PER_MINUTE)


# --- across processes ----------------------------------------------------------------------

HIT_SCRIPT = """
import sys, django
django.setup()
from civility.web import ratelimit
limit = ratelimit.Limit(5, 3600)
count = 0
for _ in range(int(sys.argv[1])):
    try:
        ratelimit.check("cross", "one-key", limit)
        count += 1
    except ratelimit.RateLimited:
        pass
print(count)
"""


@pytest.fixture
def separate_database(tmp_path):
    """A DATABASE_URL other processes can share, with the rate-limit table: a SQLite file, or
    a new database on the PostgreSQL server the tests use."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "civility.web.settings", "REDIS_URL": ""}
    env["CIVILITY_DATA_DIR"] = str(tmp_path)
    if connection.vendor == "postgresql":
        import psycopg

        name = f"civility_rl_{uuid.uuid4().hex[:8]}"
        server = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
        with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        env["DATABASE_URL"] = f"{server}/{name}"
    else:
        env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    civility = str(Path(sys.executable).with_name("civility"))
    subprocess.run([civility, "migrate", "ratelimit", "-v0"], env=env, check=True)
    yield env
    if connection.vendor == "postgresql":
        with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def hits_in_a_new_process(env: dict, hits: int) -> int:
    done = subprocess.run(
        [sys.executable, "-c", HIT_SCRIPT, str(hits)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return int(done.stdout.strip())


@pytest.mark.slow
def test_processes_share_one_limit_without_redis(separate_database):
    # Two server processes (here: two interpreters) must count against the same 5 per hour.
    assert hits_in_a_new_process(separate_database, 3) == 3
    assert hits_in_a_new_process(separate_database, 3) == 2
    assert hits_in_a_new_process(separate_database, 3) == 0


# --- posting, through the site -------------------------------------------------------------


def test_fifteen_quick_posts_against_ten_per_minute_get_ten_through(
    client, article, fake_engine, settings, monkeypatch
):
    settings.CIVILITY_POST_LIMIT_PER_AUTHOR = (100, 60)
    clock = Clock(monkeypatch, start=1_000_019.5)  # straddle where a fixed window would reset
    statuses = []
    for i in range(15):
        clock.now += 0.05
        response = client.post(
            f"/api/v1/articles/{article.slug}/comments",
            {"author": f"Reader {i}", "text": f"Point number {i}."},
            content_type="application/json",
        )
        statuses.append(response.status_code)
    assert statuses.count(201) == 10
    assert statuses[10:] == [429] * 5


# --- sign-in throttling --------------------------------------------------------------------


@pytest.fixture
def login_limits(settings):
    settings.CIVILITY_LOGIN_LIMIT_PER_ACCOUNT = (3, 900)
    settings.CIVILITY_LOGIN_LIMIT_PER_IP = (6, 900)


def sign_in(username: str, password: str, ip: str = "10.1.1.1", path="/accounts/login/"):
    return Client(REMOTE_ADDR=ip).post(path, {"username": username, "password": password})


def test_an_account_is_throttled_after_its_failures_even_with_the_right_password(
    moderator_user, login_limits
):
    statuses = [sign_in("mod", "wrong").status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    refused = sign_in("mod", "a-long-test-password", ip="10.9.9.9")  # from anywhere
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "Too many failed sign-ins" in refused.content.decode()
    assert "_auth_user_id" not in refused.client.session


def test_an_address_is_throttled_across_accounts(moderator_user, login_limits):
    for i in range(6):
        assert sign_in(f"guess-{i}", "wrong").status_code == 200
    assert sign_in("mod", "a-long-test-password").status_code == 429
    # Another address may still sign in to the account.
    assert sign_in("mod", "a-long-test-password", ip="10.2.2.2").status_code == 302


def test_successful_sign_ins_cost_nothing(moderator_user, login_limits):
    for _ in range(5):
        assert sign_in("mod", "a-long-test-password").status_code == 302


def test_the_admin_sign_in_is_throttled_too(db, login_limits):
    User.objects.create_superuser("boss", "b@example.org", "a-long-test-password")
    for _ in range(3):
        sign_in("boss", "wrong", path="/admin/login/")
    response = sign_in("boss", "a-long-test-password", path="/admin/login/")
    assert "Too many failed sign-ins" in response.content.decode()
    assert response.status_code != 302
