"""Celery task: one attempt at an outgoing mail (notifications.py); a failure of the mail
server is retried with exponential backoff (the delay is also written to the row, so the
sweeper can tell a lost message)."""

from civility.web.workers import app

from . import notifications


@app.task(name=notifications.SEND_TASK, bind=True, max_retries=None)
def send_mail(self, mail_id: int) -> None:
    delay = notifications.attempt(mail_id)
    if delay is not None:
        raise self.retry(countdown=delay)
