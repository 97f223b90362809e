"""Putting comments in the assessment queue: a comment's waiting row, stored with it (in the
post's transaction), and after the commit the Celery message that asks a worker to assess it
(assessing.py is the worker's side; docs/workers.md).

The lifecycle (services.py) calls this module; it calls nothing above it, so that the lifecycle
and the workers' side never import each other in a circle."""

from __future__ import annotations

import logging
import os
import threading
import time

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from .models import AwaitingAssessment, Comment

log = logging.getLogger(__name__)
ASSESS_TASK = "civility.assess"  # the Celery task of tasks.py


def table() -> str:
    """The waiting rows' table, quoted for SQL."""
    return connection.ops.quote_name(AwaitingAssessment._meta.db_table)


def in_workers() -> bool:
    """True when assessment runs in Celery workers rather than in the request."""
    return settings.CIVILITY_ASSESSMENT == "worker"


def enqueue(comment_ids: list[int]) -> bool:
    """Send one message asking a worker to assess these comments (and others waiting). False
    when the broker cannot be reached: the rows wait for the sweeper. While the broker is down
    (degraded mode) nothing is tried for a few seconds and the outage is logged once a minute,
    not once a post."""
    from civility.web import degraded
    from civility.web.workers import app

    url = app.conf.broker_url or ""
    if not degraded.usable(url):
        return False
    try:
        # No publishing retries: with the broker down, a post must not wait for it.
        # By name: tasks.py imports this module, not the reverse.
        app.send_task(ASSESS_TASK, args=[list(comment_ids)], retry=False)
    except Exception as exc:
        if degraded.is_outage(exc):
            degraded.failed(url, "queueing assessments; the sweeper will", exc)
        else:
            log.error(
                "could not queue the assessment of comment(s) %s (%s: %s); the sweeper will",
                comment_ids[:10],
                type(exc).__name__,
                exc,
            )
        return False
    degraded.succeeded(url)
    return True


class _Publisher:
    """Messages for posted comments, gathered for CIVILITY_ENQUEUE_LINGER seconds in a thread of
    the web process and sent one per CIVILITY_ASSESS_BATCH comments: under load, one publish
    serves many posts instead of each post paying for its own (the profile showed publishing
    cost more server CPU than the rest of the post's work in the request). A process that dies
    within the linger loses only messages: the comments' rows are committed, and the sweeper
    sends their messages after CIVILITY_SWEEP_AFTER seconds."""

    def __init__(self):
        self.lock = threading.Lock()
        self.ready = threading.Condition(self.lock)
        self.ids: list[int] = []
        self.pid = None

    def add(self, ids: list[int]) -> None:
        with self.lock:
            if self.pid != os.getpid():  # first use in this (possibly forked) process
                self.pid, self.ids = os.getpid(), []
                threading.Thread(target=self._run, daemon=True, name="civility-enqueue").start()
            self.ids.extend(ids)
            self.ready.notify()

    def _run(self) -> None:
        while True:
            with self.lock:
                while not self.ids:
                    self.ready.wait()
            time.sleep(settings.CIVILITY_ENQUEUE_LINGER)  # let more posts join this message
            with self.lock:
                ids, self.ids = self.ids, []
            size = settings.CIVILITY_ASSESS_BATCH
            for start in range(0, len(ids), size):
                try:
                    enqueue(ids[start : start + size])
                except Exception:  # this thread must outlive anything; the sweeper catches up
                    log.exception("could not queue comments %s", ids[start : start + 3])


_publisher = _Publisher()


def enqueue_soon(comment_ids: list[int]) -> None:
    """Send the message for these comments within CIVILITY_ENQUEUE_LINGER seconds, with those
    of other posts of this process (or at once when the linger is 0)."""
    if settings.CIVILITY_ENQUEUE_LINGER <= 0:
        enqueue(comment_ids)
    else:
        _publisher.add(comment_ids)


def queue_comments(
    comments: list[Comment],
    lang_hints: dict[int, str] | None = None,
    fresh: bool = False,
    soon: bool = False,
) -> int:
    """Queue stored comments for (re)assessment: rows for those not already waiting and, after
    commit, one message per CIVILITY_ASSESS_BATCH of them. The number newly queued. `fresh`:
    the comments were saved in this transaction (none can be waiting yet); `soon`: a post's,
    sent with others' (`enqueue_soon`)."""
    lang_hints = lang_hints or {}
    rows = [
        AwaitingAssessment(
            comment_id=c.pk, article_id=c.article_id, lang_hint=lang_hints.get(c.pk, "")
        )
        for c in comments
    ]
    if not fresh:
        waiting = set(
            AwaitingAssessment.objects.filter(comment_id__in=[c.pk for c in comments]).values_list(
                "comment_id", flat=True
            )
        )
        rows = [row for row in rows if row.comment_id not in waiting]
    AwaitingAssessment.objects.bulk_create(rows, ignore_conflicts=not fresh)
    ids = [row.comment_id for row in rows]
    if soon:
        transaction.on_commit(lambda: enqueue_soon(ids))
        return len(ids)
    size = settings.CIVILITY_ASSESS_BATCH
    for start in range(0, len(ids), size):
        chunk = ids[start : start + size]
        transaction.on_commit(lambda chunk=chunk: enqueue(chunk))
    return len(ids)


def insert_and_queue(comment: Comment, lang_hint: str = "") -> None:
    """PostgreSQL: store a new comment and its waiting row in one statement (a data-modifying
    WITH), so a post costs one round trip and one implicit commit instead of four round trips
    (begin, two inserts, commit): the profile of posting on PostgreSQL showed them as a quarter
    of the request. The same two rows as `comment.save()` plus `queue_comments(fresh=True)`."""
    if comment.created is None:
        comment.created = timezone.now()
    comment_table = connection.ops.quote_name(Comment._meta.db_table)
    columns = [
        "article_id",
        "parent_id",
        "author_name",
        "author_email",
        "body",
        "language",
        "created",
        "ip_hash",
        "status_token",
    ]
    values = [getattr(comment, name) for name in columns]
    sql = (
        f"WITH posted AS (INSERT INTO {comment_table} ({', '.join(columns)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(columns))}) RETURNING id, article_id) "
        f"INSERT INTO {table()} (comment_id, article_id, lang_hint, queued, claim, claimed_until) "
        "SELECT id, article_id, %s, %s, '', 0 FROM posted RETURNING comment_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*values, lang_hint, comment.created])
        comment.pk = cursor.fetchone()[0]
    comment._state.adding, comment._state.db = False, connection.alias
    comment._loaded_body = comment.body
    ids = [comment.pk]
    transaction.on_commit(lambda: enqueue_soon(ids))
