"""Degraded mode when Redis fails (docs/workers.md, "When Redis fails").

Redis carries three things for the web processes: the rate-limit buckets, the page cache and
the Celery broker. None of them may cost a reader's comment. While Redis errors or times out:

- rate limits count in the database buckets (`ratelimit`), as a site without Redis does;
- the page cache answers as an empty cache, so pages are built from the database
  (`FallbackRedisCache`);
- a posted comment keeps its waiting row and no message is sent; the sweeper of the workers
  sends one once Redis is back.

Every call to Redis has short connect and read timeouts (CIVILITY_REDIS_TIMEOUT) and no
retries. After a failure this process leaves that Redis alone for CIVILITY_REDIS_RETRY_AFTER
seconds (then one call tries again), so a hung Redis costs one request a timeout now and then
instead of every request. The outage is logged as a warning at most once a minute per process,
with the number of failures in between, and its end once."""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache

log = logging.getLogger(__name__)

WARN_EVERY = 60.0  # seconds between two warnings about the same outage (per process)


def redis_timeout() -> float:
    return float(getattr(settings, "CIVILITY_REDIS_TIMEOUT", 0.5))


def retry_after() -> float:
    return float(getattr(settings, "CIVILITY_REDIS_RETRY_AFTER", 5.0))


def client_options() -> dict:
    """Keyword arguments for redis-py clients and pools: short timeouts, no retries."""
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    timeout = redis_timeout()
    return {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "retry": Retry(NoBackoff(), 0),
    }


def is_outage(exc: BaseException) -> bool:
    """Whether this exception means the Redis server (or the broker on it) is unreachable."""
    import redis
    from kombu.exceptions import OperationalError

    return isinstance(exc, redis.RedisError | OSError | OperationalError)


class _Outage:
    """This process's view of one Redis: usable or not, and when the outage was last logged."""

    def __init__(self):
        self.lock = threading.Lock()
        self.skip_until = 0.0  # monotonic; until then calls go straight to the fallback
        self.since: float | None = None  # wall-clock start of the outage
        self.last_warning = float("-inf")
        self.unlogged = 0


_outages: dict[str, _Outage] = {}
_outages_lock = threading.Lock()


def _outage(url: str) -> _Outage:
    with _outages_lock:
        return _outages.setdefault(url or "", _Outage())


def _safe(url: str) -> str:
    """The URL without its password, for the log."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.hostname}:{parts.port or 6379}{parts.path}"
    except ValueError:
        return "Redis"


def usable(url: str) -> bool:
    """False while this process leaves the Redis at `url` alone after a failure."""
    return time.monotonic() >= _outage(url).skip_until


def failed(url: str, what: str, exc: BaseException) -> None:
    """A call to the Redis at `url` failed: use the fallback for a while; warn at most once
    a minute."""
    outage = _outage(url)
    now = time.monotonic()
    with outage.lock:
        outage.skip_until = now + retry_after()
        if outage.since is None:
            outage.since = time.time()
        if now - outage.last_warning < WARN_EVERY:
            outage.unlogged += 1
            return
        unlogged, outage.unlogged, outage.last_warning = outage.unlogged, 0, now
    log.warning(
        "Redis at %s failed (%s: %s, %s)%s; degraded mode: rate limits in the database, pages "
        "from the database, new comments wait for the sweeper; next warning in %d s at the "
        "earliest",
        _safe(url),
        type(exc).__name__,
        str(exc)[:200],
        what,
        f"; {unlogged} more failure(s) since the last warning" if unlogged else "",
        WARN_EVERY,
    )


def succeeded(url: str) -> None:
    """A call to the Redis at `url` worked: log the end of an outage, once."""
    outage = _outages.get(url or "")
    if outage is None or outage.since is None:
        return
    with outage.lock:
        since, outage.since = outage.since, None
        outage.unlogged, outage.last_warning = 0, float("-inf")
    if since is not None:
        log.warning(
            "Redis at %s answers again after %.0f s of outage", _safe(url), time.time() - since
        )


def reset() -> None:
    """Forget every outage (tests)."""
    with _outages_lock:
        _outages.clear()


class FallbackRedisCache(RedisCache):
    """Django's Redis cache that behaves as an empty cache while Redis fails: reads miss,
    writes are dropped, `add` takes no lock. Every key of this site carries the version of what
    it caches (comments_version), so a write dropped during an outage never leaves a stale
    entry behind. Short timeouts, no retries (`client_options`)."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._options = {**client_options(), **self._options}
        self._url = server if isinstance(server, str) else ",".join(server)

    def _guarded(self, what: str, call, fallback):
        if not usable(self._url):
            return fallback
        try:
            value = call()
        except Exception as exc:
            if not is_outage(exc):
                raise
            failed(self._url, f"cache {what}", exc)
            return fallback
        succeeded(self._url)
        return value

    def get(self, key, default=None, version=None):
        return self._guarded("get", lambda: RedisCache.get(self, key, default, version), default)

    def get_many(self, keys, version=None):
        return self._guarded("get", lambda: RedisCache.get_many(self, keys, version), {})

    def has_key(self, key, version=None):
        return self._guarded("get", lambda: RedisCache.has_key(self, key, version), False)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guarded(
            "add", lambda: RedisCache.add(self, key, value, timeout, version), False
        )

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        self._guarded("set", lambda: RedisCache.set(self, key, value, timeout, version), None)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        failed_keys = list(data)
        return self._guarded(
            "set", lambda: RedisCache.set_many(self, data, timeout, version), failed_keys
        )

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guarded("touch", lambda: RedisCache.touch(self, key, timeout, version), False)

    def delete(self, key, version=None):
        return self._guarded("delete", lambda: RedisCache.delete(self, key, version), False)

    def delete_many(self, keys, version=None):
        self._guarded("delete", lambda: RedisCache.delete_many(self, keys, version), None)

    def clear(self):
        return self._guarded("clear", lambda: RedisCache.clear(self), False)
