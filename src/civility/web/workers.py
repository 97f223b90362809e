"""The Celery application: assessment batches and webhook deliveries run in `civility worker`
processes, with Redis (REDIS_URL) as the broker. Configuration is Django's settings named
CELERY_* (settings.py).

This module imports no app code (the layering contract in pyproject.toml checks it): the
tasks are discovered in each installed app's `tasks.py`, and the sweeper calls the `sweep()`
method of each installed app's AppConfig that has one (comments: stale waiting comments;
webhooks: overdue deliveries). Apps send tasks by name (`app.send_task`)."""

from __future__ import annotations

import logging
import os
import threading

from celery import Celery
from celery.signals import worker_ready, worker_shutting_down

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civility.web.settings")

app = Celery("civility")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()  # every installed app's tasks.py

ASSESS_QUEUE = "civility.assess"
WEBHOOK_QUEUE = "civility.webhooks"
QUEUES = (ASSESS_QUEUE, WEBHOOK_QUEUE)
LEARN_QUEUE = "civility.learn"  # periodic learning: only the `--beat` worker consumes it

log = logging.getLogger(__name__)
_stop = threading.Event()


def broker_configured() -> bool:
    from django.conf import settings

    return bool(settings.CELERY_BROKER_URL)


def send_each(task: str, ids, what: str) -> bool:
    """With a broker: send `task` by name once per id and return True; a message that cannot
    be queued (Redis down) is logged, and the app's sweeper sends it once the broker is back.
    Without a broker: False, and the caller does the work in its own process."""
    if not broker_configured():
        return False
    for pk in ids:
        try:
            app.send_task(task, args=[pk], retry=False)
        except Exception as exc:
            log.error("could not queue %s %s: %s", what, pk, exc)
    return True


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

    period = sweep_every()
    while not _stop.is_set():
        try:
            if cache.add("civility:sweep-lock", os.getpid(), timeout=max(1, int(period * 0.9))):
                sweep_apps()
        except Exception:  # the next period tries again; a worker must not die of it
            log.exception("sweeper failed")
        finally:
            close_old_connections()
        _stop.wait(period)


def sweepers() -> list:
    """The installed apps whose AppConfig has a `sweep()`: it sends again what a lost message
    left behind and returns how many messages it sent."""
    from django.apps import apps

    return [config for config in apps.get_app_configs() if callable(getattr(config, "sweep", None))]


def sweep_apps() -> dict[str, int]:
    """One sweep of every app that has one; the messages each sent again, by app label. One
    app's failure does not stop the others' sweeps."""
    sent: dict[str, int] = {}
    for config in sweepers():
        try:
            sent[config.label] = config.sweep()
        except Exception:
            log.exception("sweeper of %s failed", config.label)
    if any(sent.values()):
        log.warning(
            "sweeper requeued: %s", ", ".join(f"{label} {n}" for label, n in sent.items() if n)
        )
    return sent


@worker_ready.connect
def _start_sweeper(**_kwargs) -> None:
    threading.Thread(target=_sweeper, name="civility-sweeper", daemon=True).start()


@worker_shutting_down.connect
def _stop_sweeper(**_kwargs) -> None:
    _stop.set()
