"""Periodic learning (opt-in): `CIVILITY_LEARN_EVERY_HOURS` schedules it on Celery beat."""

from __future__ import annotations

import logging

from celery import shared_task

log = logging.getLogger(__name__)


# The most recent decisions a periodic run learns from: features cost 20-60 ms a comment, so
# an unbounded history would make each run longer than the last.
PERIODIC_LIMIT = 20_000


@shared_task(name="civility.learn")
def learn_periodically(auto_promote: bool = False) -> dict:
    from .services import NotEnoughDecisions, run_learning

    try:
        outcome = run_learning(auto_promote=auto_promote, limit=PERIODIC_LIMIT)
    except NotEnoughDecisions as exc:  # nothing to do this time; any other error is raised
        log.info("periodic learning skipped: %s", exc)
        return {"learnt": False, "reason": str(exc)}
    return {
        "learnt": True,
        "version": outcome.report.version,
        "promoted": outcome.promoted,
        "reason": outcome.reason,
        "worse": outcome.report.worse,
    }
