"""Fixed-window rate limits, shared by every door that takes writes or paid-for work.

Redis-backed when REDIS_URL is set (so limits hold across server processes); in-memory
otherwise, which is right for the single-process demo."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class Limit:
    """At most `count` hits per `seconds` for one key."""

    count: int
    seconds: int


class RateLimited(Exception):
    def __init__(self, retry_after: int):
        super().__init__(f"rate limit exceeded; retry after {retry_after} s")
        self.retry_after = retry_after


class _MemoryCounter:
    def __init__(self):
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[int, int]] = {}

    def hit(self, key: str, window: int, now: float) -> int:
        with self._lock:
            start, count = self._windows.get(key, (window, 0))
            count = count + 1 if start == window else 1
            self._windows[key] = (window, count)
            if len(self._windows) > 100_000:  # bound memory under floods of distinct keys
                self._windows = {k: v for k, v in self._windows.items() if v[0] == window}
            return count

    def clear(self):
        with self._lock:
            self._windows.clear()


class _RedisCounter:
    def __init__(self, url: str):
        import redis

        self._client = redis.Redis.from_url(url, socket_timeout=0.5)

    def hit(self, key: str, window: int, now: float) -> int:
        pipe = self._client.pipeline()
        pipe.incr(key)
        pipe.expire(key, 3600, nx=True)
        count, _ = pipe.execute()
        return int(count)

    def clear(self):
        for key in self._client.scan_iter("civility:rl:*"):
            self._client.delete(key)


_counter = None
_counter_lock = threading.Lock()


def _get_counter():
    global _counter
    with _counter_lock:
        if _counter is None:
            url = getattr(settings, "REDIS_URL", "")
            _counter = _RedisCounter(url) if url else _MemoryCounter()
        return _counter


def check(scope: str, key: str, limit: Limit) -> None:
    """Count one hit for (scope, key); raise RateLimited once the window is full."""
    now = time.time()
    window = int(now // limit.seconds)
    count = _get_counter().hit(f"civility:rl:{scope}:{key}:{window}", window, now)
    if count > limit.count:
        retry_after = max(1, math.ceil((window + 1) * limit.seconds - now))
        raise RateLimited(retry_after)


def reset() -> None:
    """Forget all counts (tests)."""
    _get_counter().clear()
