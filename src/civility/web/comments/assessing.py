"""Assessment off the request path: how the workers take waiting comments, run the engine on
them in batches and store the outcome exactly once (docs/workers.md).

- A post stores the comment and an `AwaitingAssessment` row together (one statement on
  PostgreSQL, one transaction elsewhere); after the commit its id goes to the process's
  publisher, which sends one Celery message naming up to a batch of comments, gathered over
  CIVILITY_ENQUEUE_LINGER seconds (`enqueue_soon`, `enqueue`).
- A message makes a worker `assess_batch`: it claims up to CIVILITY_ASSESS_BATCH waiting
  comments (the message's own first, then the others round-robin across articles, oldest
  first within each, so one flooded article cannot starve the rest), runs
  `Moderator.assess_many` on them outside any transaction, then, in one transaction, deletes
  the rows it still holds the claim on and stores each one's Assessment and automatic decision.
  A comment already assessed under the engine's current model version is not assessed again.
- A claim expires after CIVILITY_ASSESS_LEASE seconds, so the batch of a worker killed mid-run
  is claimed again; the killed worker stored nothing, and a worker whose claim was taken over
  stores nothing either (its delete finds no row), so each comment is stored once. While the
  engine runs, a thread renews the lease every third of it (for at most
  CIVILITY_ASSESS_COMMENT_BUDGET seconds per comment), so a slow batch keeps its comments.
- Each claim is an attempt. A comment the engine fails on goes back to the queue with its
  error; one whose attempts (CIVILITY_ASSESS_MAX_ATTEMPTS) all failed or overran their lease
  leaves the queue for an AssessmentFailure, "needs human review: could not be assessed", so
  no comment can be claimed again and again (`give_up`).
- The sweeper (every worker, periodically) sends new messages when comments have waited longer
  than CIVILITY_SWEEP_AFTER seconds unclaimed and the queue holds too few messages to reach
  them: a message lost with a broker or a worker costs time, never a comment."""

from __future__ import annotations

import logging
import math
import os
import threading
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from .models import Assessment, AwaitingAssessment, Comment

# Putting comments in the queue is queueing.py's (the lifecycle, services.py, calls it); this
# module is the workers' side and records through services.py. Re-exported for its callers.
from .queueing import (  # noqa: F401
    ASSESS_TASK,
    enqueue,
    enqueue_soon,
    in_workers,
    insert_and_queue,
    queue_comments,
)
from .queueing import table as _table

log = logging.getLogger(__name__)


# -- a worker's batch -------------------------------------------------------------------------


def claim(size: int, prefer: list[int] = (), lease: float | None = None) -> tuple[str, list[int]]:
    """Claim up to `size` waiting comments for this worker: (claim token, comment ids). The
    preferred ids first (the message's own comments), then round-robin across articles. Each
    claim counts as an attempt; comments out of attempts are given up on first (`give_up`)."""
    # The process id first: which worker holds a claim can be read off the table.
    token = f"{os.getpid()}-{uuid.uuid4().hex}"[:32]
    lease = settings.CIVILITY_ASSESS_LEASE if lease is None else lease
    give_up()
    table = _table()
    prefer = [int(i) for i in prefer][:size]
    first = (
        f"CASE WHEN comment_id IN ({', '.join(['%s'] * len(prefer))}) THEN 0 ELSE 1 END, "
        if prefer
        else ""
    )
    # One statement: the WHERE on claimed_until is checked again on each row as it is written,
    # so of two workers racing for the same rows only one gets each (on PostgreSQL the second
    # waits for the first's row locks, then sees the rows claimed; SQLite runs them in turn).
    sql = (
        f"UPDATE {table} SET claim = %s, claimed_until = %s, "  # noqa: S608 - our own table
        f"attempts = attempts + 1 "
        f"WHERE claimed_until < %s AND attempts < %s AND comment_id IN ("
        f"SELECT comment_id FROM (SELECT comment_id, ROW_NUMBER() OVER "
        f"(PARTITION BY article_id ORDER BY comment_id) AS turn "
        f"FROM {table} WHERE claimed_until < %s AND attempts < %s) AS waiting "
        f"ORDER BY {first}turn, comment_id LIMIT %s) RETURNING comment_id"
    )
    most = settings.CIVILITY_ASSESS_MAX_ATTEMPTS
    for _attempt in range(3):
        now = time.time()
        params = [token, now + lease, now, most, now, most, *prefer, size]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
            ids = sorted(row[0] for row in cursor.fetchall())
        claimable = AwaitingAssessment.objects.filter(
            claimed_until__lt=time.time(), attempts__lt=most
        )
        if ids or not claimable.exists():
            return token, ids
        # Another worker took the same rows between our pick and our write: pick again.
    return token, []


def give_up() -> list[int]:
    """Comments whose every attempt (CIVILITY_ASSESS_MAX_ATTEMPTS claims) failed or overran
    its lease, and that nobody holds now, leave the queue for an AssessmentFailure: "needs
    human review: could not be assessed", instead of a retry loop. The ids given up on."""
    from .models import AssessmentFailure

    table = _table()
    most = settings.CIVILITY_ASSESS_MAX_ATTEMPTS
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {table} WHERE attempts >= %s AND claimed_until < %s "  # noqa: S608
                "RETURNING comment_id, attempts, last_error",
                [most, time.time()],
            )
            rows = cursor.fetchall()
        failures = [
            AssessmentFailure(
                comment_id=comment_id,
                attempts=attempts,
                reason=(last_error or "its batch overran the lease (worker too slow or killed)")[
                    :300
                ],
            )
            for comment_id, attempts, last_error in rows
        ]
        AssessmentFailure.objects.bulk_create(failures, ignore_conflicts=True)
    if rows:
        log.warning(
            "%d comment(s) could not be assessed after %d attempts, left to the moderators: %s",
            len(rows),
            most,
            sorted(row[0] for row in rows)[:10],
        )
    return sorted(row[0] for row in rows)


class _Heartbeat:
    """Renews a batch's lease every third of it while the engine runs, so a slow batch keeps
    its comments; stops renewing after `budget` seconds (CIVILITY_ASSESS_COMMENT_BUDGET per
    comment), after which the lease runs out and the batch counts as overrun. A worker that
    dies stops renewing with it."""

    def __init__(self, token: str, ids: list[int], lease: float, budget: float):
        self.token, self.ids, self.lease = token, ids, lease
        self.deadline = time.monotonic() + budget
        self.stop = threading.Event()
        self.renewals = 0
        self.thread = threading.Thread(target=self._run, daemon=True, name="civility-lease")

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *_exc):
        self.stop.set()
        self.thread.join(timeout=max(1.0, self.lease))

    def _run(self) -> None:
        from django.db import connections

        try:
            while not self.stop.wait(self.lease / 3):
                if time.monotonic() > self.deadline:
                    log.warning(
                        "a batch of %d overran its time budget; its lease is no longer renewed",
                        len(self.ids),
                    )
                    return
                self.renew()
        except Exception:  # the lease then simply runs out; the batch counts as overrun
            log.exception("could not renew the lease of a batch")
        finally:
            connections.close_all()  # this thread's own connection

    def renew(self) -> None:
        marks = ", ".join(["%s"] * len(self.ids))
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {_table()} SET claimed_until = %s "  # noqa: S608 - our own table
                f"WHERE claim = %s AND comment_id IN ({marks})",
                [time.time() + self.lease, self.token, *self.ids],
            )
        self.renewals += 1


def assess_batch(prefer: list[int] = (), moderator=None) -> int:
    """Claim a batch, assess it (renewing the lease meanwhile), store it; the number of
    comments stored. A comment the engine fails on goes back to the queue with the error,
    until its attempts run out."""
    from . import services

    # The engine first: one that cannot load claims nothing (and costs no comment an attempt).
    moderator = moderator or services.engine_moderator()
    token, ids = claim(settings.CIVILITY_ASSESS_BATCH, prefer)
    if not ids:
        return 0
    comments = list(Comment.objects.select_related("article").filter(pk__in=ids).order_by("pk"))
    hints = dict(
        AwaitingAssessment.objects.filter(comment_id__in=ids).values_list("comment_id", "lang_hint")
    )
    current = dict(
        Assessment.objects.filter(comment_id__in=ids).values_list("comment_id", "model_version")
    )
    version = moderator.model_version
    todo = [c for c in comments if current.get(c.pk) != version]
    errors: dict[int, str] = {}
    lease = settings.CIVILITY_ASSESS_LEASE
    budget = max(lease, settings.CIVILITY_ASSESS_COMMENT_BUDGET * len(todo))
    with _Heartbeat(token, ids, lease, budget):
        results = run_engine(
            moderator,
            [(c.body, c.article.engine_article(), hints.get(c.pk) or None) for c in todo],
            errors,
        )
    failed = {todo[index].pk: error for index, error in errors.items()}
    with transaction.atomic():
        mine = release(token, [i for i in ids if i not in failed])
        pairs = [
            (comment, result)
            for comment, result in zip(todo, results, strict=True)
            if comment.pk in mine and result is not None
        ]
        services.record_assessments(pairs, moderator)
        _forget_failures([comment.pk for comment, _ in pairs])
        retry(token, failed)
    if failed:
        give_up()
    skipped = len(comments) - len(todo)
    if skipped:
        log.info("%d comment(s) already assessed by %s: skipped", skipped, version)
    return len(pairs)


def run_engine(moderator, items: list[tuple], errors: dict[int, str] | None = None) -> list:
    """The engine's results in order; None for an item it refuses (its error in `errors`, by
    index). One batch call when all is well; item by item only when the batch fails, to find
    the culprit."""
    if not items:
        return []
    try:
        return list(moderator.assess_many(items))
    except Exception as exc:
        log.warning("engine failed on a batch of %d (%s); assessing one by one", len(items), exc)
    results = []
    for index, item in enumerate(items):
        try:
            results.append(moderator.assess_many([item])[0])
        except Exception as exc:
            log.error(
                "engine failed on a comment (%s: %s); it goes back to the queue until its "
                "attempts run out",
                type(exc).__name__,
                exc,
            )
            if errors is not None:
                errors[index] = f"the engine failed: {type(exc).__name__}: {exc}"[:300]
            results.append(None)
    return results


def release(token: str, ids: list[int]) -> set[int]:
    """Delete the waiting rows this claim still holds (inside the storing transaction, where
    it is the first write: on SQLite it takes the write lock, on PostgreSQL the row locks);
    the ids deleted. Rows whose claim another worker took over are left to that worker."""
    if not ids:
        return set()
    table = _table()
    marks = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} WHERE claim = %s AND comment_id IN ({marks}) "  # noqa: S608
            "RETURNING comment_id",
            [token, *ids],
        )
        return {row[0] for row in cursor.fetchall()}


def retry(token: str, failed: dict[int, str]) -> None:
    """Give the comments the engine failed on back to the queue at once, with their error,
    if this claim still holds them; their attempts count stays."""
    for comment_id, error in failed.items():
        AwaitingAssessment.objects.filter(comment_id=comment_id, claim=token).update(
            claim="", claimed_until=0, last_error=error
        )


def _forget_failures(comment_ids: list[int]) -> None:
    """An assessment stored for a comment once given up on (queued again) ends its failure."""
    from .models import AssessmentFailure

    if comment_ids:
        AssessmentFailure.objects.filter(comment_id__in=comment_ids).delete()


# -- the sweeper ----------------------------------------------------------------------------


def stale_waiting():
    """Rows waiting longer than CIVILITY_SWEEP_AFTER seconds and not under a live claim."""
    cutoff = timezone.now() - timedelta(seconds=settings.CIVILITY_SWEEP_AFTER)
    return AwaitingAssessment.objects.filter(queued__lt=cutoff, claimed_until__lt=time.time())


def sweep(queued_messages=None) -> int:
    """Send messages for stale waiting comments when the queue holds fewer than it takes to
    reach them (each message assesses a batch); the number of messages sent."""
    from civility.web.workers import ASSESS_QUEUE
    from civility.web.workers import queued_messages as broker_messages

    give_up()  # comments out of attempts leave the queue even when no message comes
    stale = list(stale_waiting().order_by("comment_id").values_list("comment_id", flat=True))
    if not stale:
        return 0
    size = settings.CIVILITY_ASSESS_BATCH
    waiting_messages = (queued_messages or broker_messages)(ASSESS_QUEUE)
    needed = math.ceil(len(stale) / size) - waiting_messages
    sent = 0
    for start in range(0, max(0, needed) * size, size):
        chunk = stale[start : start + size]
        if chunk and enqueue(chunk):
            sent += 1
    return sent


def reassess_here(ids: list[int], moderator=None) -> int:
    """Without workers: assess these comments in this process, in batches, skipping those
    already assessed by the current model version; the number stored."""
    from . import services

    moderator = moderator or services.engine_moderator()
    version = moderator.model_version
    stored = 0
    size = settings.CIVILITY_ASSESS_BATCH
    for start in range(0, len(ids), size):
        chunk = ids[start : start + size]
        comments = list(
            Comment.objects.select_related("article")
            .filter(pk__in=chunk)
            .exclude(assessment__model_version=version)
            .order_by("pk")
        )
        results = run_engine(
            moderator, [(c.body, c.article.engine_article(), None) for c in comments]
        )
        pairs = [(c, r) for c, r in zip(comments, results, strict=True) if r is not None]
        with transaction.atomic():
            services.record_assessments(pairs, moderator)
            _forget_failures([c.pk for c, _ in pairs])
        stored += len(pairs)
    return stored
