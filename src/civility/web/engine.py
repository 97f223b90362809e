"""The one engine instance a web process shares; loaded once, on first use."""

from __future__ import annotations

import importlib
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
                factory = getattr(settings, "CIVILITY_ENGINE", "")
                if factory:  # "module:callable", e.g. a scripted engine for the worker tests
                    module, _, name = factory.partition(":")
                    _moderator = getattr(importlib.import_module(module), name)()
                else:
                    _moderator = Moderator.default(getattr(settings, "CIVILITY_POLICY", None))
    return _moderator
