"""The engine a web process (or worker) shares: the shipped tiers, loaded once, with the model
version active in the data directory's store on top (and a shadow version beside it).

`civility model promote` or `rollback` in any process rewrites the store's state file
atomically; every process notices on its next `get_moderator()` (a stat, at most once a
second) and switches without a restart. The shipped tiers are never reloaded for that.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time

from django.conf import settings

from civility.engine import Moderator

log = logging.getLogger(__name__)

_base: Moderator | None = None
_current: Moderator | None = None
_signature: object = "unread"
_checked_at = 0.0
_lock = threading.Lock()
RECHECK_SECONDS = 1.0


def model_store():
    """This site's model store (`<CIVILITY_DATA_DIR>/models`, shared by the service, the
    workers and the CLI). It lives here, below the learning app, so that this module never
    imports the app (learning.services imports this module)."""
    from civility.engine.learning import ModelStore

    return ModelStore(settings.DATA_DIR)


def base_moderator() -> Moderator:
    """The shipped engine under the newsroom's policy, without any learnt version."""
    global _base
    if _base is None:
        with _lock:
            if _base is None:
                factory = getattr(settings, "CIVILITY_ENGINE", "")
                if factory:  # "module:callable", e.g. a scripted engine for the worker tests
                    module, _, name = factory.partition(":")
                    _base = getattr(importlib.import_module(module), name)()
                else:
                    _base = Moderator.default(getattr(settings, "CIVILITY_POLICY", None))
    return _base


def get_moderator() -> Moderator:
    global _current, _signature, _checked_at
    base = base_moderator()
    if not hasattr(base, "with_adapter"):  # a scripted engine: no learnt versions
        return base
    now = time.monotonic()
    if _current is not None and now - _checked_at < RECHECK_SECONDS:
        return _current
    store = model_store()
    with _lock:
        _checked_at = now
        try:
            signature = store.signature()
            if _current is not None and signature == _signature:
                return _current
            active, shadow = store.engines(base)
        except Exception as exc:  # an unreadable store must not stop moderation
            log.error("model store unreadable, keeping the engine in use: %s", exc)
            if _current is None:
                _current = base
            return _current
        _current = active.with_shadow(shadow) if shadow is not None else active
        _signature = signature
        log.info("engine: %s", _current.model_version)
    return _current


def reset() -> None:
    """Forget the learnt version in use (tests; the next call re-reads the store)."""
    global _current, _signature
    with _lock:
        _current, _signature = None, "unread"
