"""Rate limits shared by every door that takes writes or paid-for work (posting, assessing,
Perspective calls, signing in), held in one place for all server processes.

A limit "count per seconds" is a token bucket: a burst of `count`, refilled at one every
seconds/count (GCRA: one stored number per key, its "theoretical arrival time"). Unlike the
fixed windows used before, no window boundary lets a second full burst through: 10 per 60 s
never admits more than 10 in a moment, nor more than 10 + 1 per 6 s after.

The buckets live in Redis when REDIS_URL is set, otherwise in the site's own database (the
`ratelimit_bucket` table), so every worker process, and every host on the same database,
counts against the same limit. Each check is one atomic statement.

When Redis errors or times out (short timeouts, no retries), the check counts in the database
buckets instead, and this process leaves Redis alone for a few seconds (`civility.web.degraded`):
a limit is still enforced during an outage, only against a fresh bucket."""

from __future__ import annotations

import math
import random
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import connection


@dataclass(frozen=True)
class Limit:
    """At most `count` hits per `seconds` for one key."""

    count: int
    seconds: int

    @property
    def interval(self) -> float:
        return self.seconds / max(1, self.count)


class RateLimited(Exception):
    def __init__(self, retry_after: int):
        super().__init__(f"rate limit exceeded; retry after {retry_after} s")
        self.retry_after = retry_after


class _DatabaseStore:
    """Buckets in the site's database: one upsert that only moves the bucket forward while
    the limit allows, so concurrent processes cannot both take the last token."""

    def _table(self) -> str:
        from .models import Bucket

        return connection.ops.quote_name(Bucket._meta.db_table)

    def hit(self, key: str, limit: Limit, now: float) -> float | None:
        table = self._table()
        later = "GREATEST" if connection.vendor == "postgresql" else "MAX"
        # Rows whose time has passed mean "full bucket": sweep them now and then.
        if random.random() < 0.01:  # noqa: S311 - a sweep schedule, not a secret
            with connection.cursor() as cursor:
                cursor.execute(f"DELETE FROM {table} WHERE tat < %s", [now])  # noqa: S608
        sql = (
            f'INSERT INTO {table} ("key", tat) VALUES (%s, %s) '  # noqa: S608 - our table name
            f'ON CONFLICT ("key") DO UPDATE SET tat = {later}({table}.tat, %s) + %s '
            f"WHERE {later}({table}.tat, %s) + %s - %s <= %s RETURNING tat"
        )
        interval = limit.interval
        params = [key, now + interval, now, interval, now, interval, now, limit.seconds]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            if cursor.fetchone() is not None:
                return None
            return self.peek(key, now)

    def peek(self, key: str, now: float) -> float:
        with connection.cursor() as cursor:
            sql = f'SELECT tat FROM {self._table()} WHERE "key" = %s'  # noqa: S608 - our table
            cursor.execute(sql, [key])
            row = cursor.fetchone()
        return now if row is None else max(float(row[0]), now)

    def clear(self) -> None:
        from .models import Bucket

        Bucket.objects.all().delete()


# The same algorithm as one Redis script: atomic, and the key expires once the bucket is full.
# Several buckets in one call (one round trip for a post's per-IP and per-author limits), in
# order: the first refusal stops it, as separate checks one after another would.
_REDIS_HIT = """
local now = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  local interval, period = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local tat = tonumber(redis.call('GET', key) or '0')
  local base = math.max(tat, now)
  if base + interval - now > period then return {i, tostring(base)} end
  redis.call('SET', key, tostring(base + interval), 'PX', math.ceil((base + interval - now) * 1000))
end
return {0, ''}
"""


class _RedisStore:
    def __init__(self, url: str):
        import redis

        from civility.web.degraded import client_options

        self.url = url
        self._client = redis.Redis.from_url(url, **client_options())
        self._hit = self._client.register_script(_REDIS_HIT)

    def hit(self, key: str, limit: Limit, now: float) -> float | None:
        return self.hit_all([(key, limit)], now)[1]

    def hit_all(self, hits: list[tuple[str, Limit]], now: float) -> tuple[int, float | None]:
        args = [repr(now)]
        for _key, limit in hits:
            args += [repr(limit.interval), limit.seconds]
        refused, tat = self._hit(keys=[key for key, _ in hits], args=args)
        return (int(refused) - 1, float(tat)) if int(refused) else (-1, None)

    def peek(self, key: str, now: float) -> float:
        value = self._client.get(key)
        return now if value is None else max(float(value), now)

    def clear(self) -> None:
        for key in self._client.scan_iter("civility:rl:*"):
            self._client.delete(key)


_store = None
_store_lock = threading.Lock()
_database = _DatabaseStore()


def _get_store():
    global _store
    with _store_lock:
        if _store is None:
            url = getattr(settings, "REDIS_URL", "")
            _store = _RedisStore(url) if url else _database
        return _store


def _with_fallback(what: str, on_redis, on_database):
    """`on_redis(store)` while Redis answers, else `on_database()` (degraded mode)."""
    from civility.web import degraded

    store = _get_store()
    if not isinstance(store, _RedisStore):
        return on_database()
    if degraded.usable(store.url):
        try:
            result = on_redis(store)
        except Exception as exc:
            if not degraded.is_outage(exc):
                raise
            degraded.failed(store.url, what, exc)
        else:
            degraded.succeeded(store.url)
            return result
    return on_database()


def _key(scope: str, key: str) -> str:
    return f"civility:rl:{scope}:{key}"[:200]


def _retry_after(tat: float, limit: Limit, now: float) -> int:
    # The next hit fits once tat + interval - now <= seconds.
    return max(1, math.ceil(tat + limit.interval - limit.seconds - now))


def check(scope: str, key: str, limit: Limit) -> None:
    """Count one hit for (scope, key); raise RateLimited when the bucket is empty."""
    check_all([(scope, key, limit)])


def check_all(hits: list[tuple[str, str, Limit]]) -> None:
    """`check` for each (scope, key, limit) in order, stopping at the first refusal; with Redis
    in one round trip."""
    now = time.time()
    keyed = [(_key(scope, key), limit) for scope, key, limit in hits]

    def in_database() -> tuple[int, float | None]:
        for index, (key, limit) in enumerate(keyed):
            tat = _database.hit(key, limit, now)
            if tat is not None:
                return index, tat
        return -1, None

    refused, tat = _with_fallback(
        "rate limit", lambda store: store.hit_all(keyed, now), in_database
    )
    if tat is not None:
        raise RateLimited(_retry_after(tat, keyed[refused][1], now))


def peek(scope: str, key: str, limit: Limit) -> None:
    """Raise RateLimited if a hit now would be refused, without counting one."""
    now = time.time()
    key = _key(scope, key)
    tat = _with_fallback(
        "rate limit", lambda store: store.peek(key, now), lambda: _database.peek(key, now)
    )
    if tat + limit.interval - now > limit.seconds:
        raise RateLimited(_retry_after(tat, limit, now))


def reset() -> None:
    """Forget all counts (tests)."""
    _with_fallback("rate limit reset", lambda store: store.clear(), lambda: None)
