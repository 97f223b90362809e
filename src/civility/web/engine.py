"""The one engine instance a web process shares; loaded once, on first use."""

from __future__ import annotations

import threading

from django.conf import settings

from civility.engine import Moderator

_moderator: Moderator | None = None
_lock = threading.Lock()


def get_moderator() -> Moderator:
    global _moderator
    if _moderator is None:
        with _lock:
            if _moderator is None:
                _moderator = Moderator.default(getattr(settings, "CIVILITY_POLICY", None))
    return _moderator
