"""Celery tasks of the assessment workers (see assessing.py for the protocol)."""

from civility.web.workers import app

from . import assessing


@app.task(name=assessing.ASSESS_TASK)
def assess(comment_ids: list[int]) -> int:
    """Assess these comments, filling the batch with others waiting; the number stored."""
    return assessing.assess_batch(prefer=comment_ids)
