"""The Celery application: assessment batches and webhook deliveries run in `civility worker`
processes, with Redis (REDIS_URL) as the broker. Configuration is Django's settings named
CELERY_* (settings.py); tasks live in comments/tasks.py and webhooks/tasks.py."""

from __future__ import annotations

import logging
import os
import threading

from celery import Celery
from celery.signals import worker_ready, worker_shutting_down

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civility.web.settings")

app = Celery("civility")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["civility.web.comments", "civility.web.webhooks", "civility.web.learning"])

ASSESS_QUEUE = "civility.assess"
WEBHOOK_QUEUE = "civility.webhooks"
QUEUES = (ASSESS_QUEUE, WEBHOOK_QUEUE)
LEARN_QUEUE = "civility.learn"  # periodic learning: only the `--beat` worker consumes it

log = logging.getLogger(__name__)
_stop = threading.Event()


def broker_configured() -> bool:
    from django.conf import settings

    return bool(settings.CELERY_BROKER_URL)


def queued_messages(queue: str) -> int:
    """Messages waiting in a queue of the broker (not those a worker holds)."""
    from amqp.exceptions import ChannelError

    with app.connection_for_read() as connection:
        try:
            return connection.default_channel.queue_declare(queue, passive=True).message_count
        except ChannelError:  # no such queue yet: nothing was ever sent to it, or all taken
            return 0


def sweep_every() -> float:
    from django.conf import settings

    return max(1.0, settings.CIVILITY_SWEEP_AFTER / 2)


def _sweeper() -> None:
    """Every worker runs the sweeper: at start, then every CIVILITY_SWEEP_AFTER / 2 seconds.
    A lock in the cache (Redis) lets one worker of the cluster sweep per period."""
    from django.core.cache import cache
    from django.db import close_old_connections

    from civility.web.comments import assessing
    from civility.web.webhooks import delivery

    period = sweep_every()
    while not _stop.is_set():
        try:
            if cache.add("civility:sweep-lock", os.getpid(), timeout=max(1, int(period * 0.9))):
                requeued = assessing.sweep()
                resent = delivery.sweep()
                if requeued or resent:
                    log.warning(
                        "sweeper: %d assessment message(s) and %d webhook delivery(ies) requeued",
                        requeued,
                        resent,
                    )
        except Exception:  # the next period tries again; a worker must not die of it
            log.exception("sweeper failed")
        finally:
            close_old_connections()
        _stop.wait(period)


@worker_ready.connect
def _start_sweeper(**_kwargs) -> None:
    threading.Thread(target=_sweeper, name="civility-sweeper", daemon=True).start()


@worker_shutting_down.connect
def _stop_sweeper(**_kwargs) -> None:
    _stop.set()
