"""Celery task: one webhook delivery attempt; a failure is retried with exponential backoff
(the delay is also written to the delivery, so the sweeper can tell a lost message)."""

from civility.web.workers import app

from . import delivery


@app.task(name=delivery.DELIVER_TASK, bind=True, max_retries=None)
def deliver(self, delivery_id: int) -> None:
    delay = delivery.attempt(delivery_id)
    if delay is not None:
        raise self.retry(countdown=delay)
