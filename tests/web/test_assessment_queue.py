"""Assessment off the request path, in one process: what a post does with a broker, how
workers claim, batch, skip and store (assessing.py), fairness across articles, the sweeper and
`civility reassess`. The same protocol under real worker processes, kill -9 included, is in
test_workers_live.py."""

from __future__ import annotations

import json
import time
from io import StringIO

import pytest
from django.core.management import call_command

from civility.web.articles.models import Article
from civility.web.comments import assessing, services
from civility.web.comments.models import (
    Assessment,
    AssessmentFailure,
    AwaitingAssessment,
    Comment,
    Decision,
)
from civility.web.workers import ASSESS_QUEUE

pytestmark = pytest.mark.django_db


def queued_messages(client) -> list[dict]:
    """The Celery messages waiting in the assessment queue (kombu keeps them in a list)."""
    return [json.loads(raw) for raw in client.lrange(ASSESS_QUEUE, 0, -1)]


def message_comment_ids(message) -> list[int]:
    import base64

    body = json.loads(base64.b64decode(message["body"]))
    return body[0][0]  # (args, kwargs, embed): args[0] is the list of comment ids


def post_api(client, slug, text, **extra):
    return client.post(
        f"/api/v1/articles/{slug}/comments",
        data=json.dumps({"author": "Ann", "text": text, **extra}),
        content_type="application/json",
    )


def store_pending(article, count, text="A fair point number {i}."):
    """Comments stored and queued the way a post with a broker leaves them."""
    comments = [
        Comment.objects.create(article=article, author_name=f"R{i}", body=text.format(i=i))
        for i in range(count)
    ]
    assessing.queue_comments(comments)
    return comments


# -- the post ---------------------------------------------------------------------------------


def test_a_post_with_a_broker_stores_queues_and_answers_without_the_engine(
    client, article, fake_engine, broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_api(client, article.slug, "You idiot.", lang="en")
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "pending" and body["being_assessed"] is True
    assert fake_engine.calls == []  # no engine code ran in the request
    comment = Comment.objects.get(pk=body["id"])
    assert not Assessment.objects.filter(comment=comment).exists()
    row = AwaitingAssessment.objects.get(comment=comment)
    assert (row.article_id, row.lang_hint) == (article.pk, "en")
    messages = queued_messages(broker)
    assert len(messages) == 1
    assert messages[0]["headers"]["task"] == "civility.assess"
    assert message_comment_ids(messages[0]) == [comment.pk]


def test_a_post_stores_the_same_two_rows_in_one_statement_on_postgresql(
    article, fake_engine, broker
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        comment = services.submit_comment(
            article, "Ann", "a@b.org", "Fine words", ip="1.2.3.4", lang="tr"
        )
    inserts = [
        q["sql"] for q in queries.captured_queries if q["sql"].startswith(("INSERT", "WITH"))
    ]
    inserts = [q for q in inserts if "comments_" in q]
    if connection.vendor == "postgresql":
        assert len(inserts) == 1 and "comments_awaitingassessment" in inserts[0]
    else:
        assert len(inserts) == 2
    stored = Comment.objects.get(pk=comment.pk)
    assert (stored.author_name, stored.author_email, stored.body, stored.language) == (
        "Ann",
        "a@b.org",
        "Fine words",
        "",
    )
    assert (stored.created, stored.status_token, stored.ip_hash) == (
        comment.created,
        comment.status_token,
        comment.ip_hash,
    )
    row = AwaitingAssessment.objects.get(comment=comment)
    assert (row.article_id, row.lang_hint, row.claim, row.claimed_until) == (
        article.pk,
        "tr",
        "",
        0,
    )
    assert 0 <= (row.queued - comment.created).total_seconds() < 1
    comment.save()  # the instance is a stored comment like any other
    assert assessing.assess_batch() == 1 and stored.status == "approved"


def test_posts_within_the_linger_share_one_message_per_batch(
    article, fake_engine, broker, settings, django_capture_on_commit_callbacks
):
    """A web process gathers its posts' messages for a moment: one publish for many posts,
    still one message per CIVILITY_ASSESS_BATCH comments."""
    settings.CIVILITY_ENQUEUE_LINGER = 0.3
    settings.CIVILITY_ASSESS_BATCH = 4
    ids = []
    for n in range(6):
        with django_capture_on_commit_callbacks(execute=True):
            ids.append(services.submit_comment(article, f"R{n}", "", f"fine {n}", ip="10.0.0.9").pk)
    assert queued_messages(broker) == []  # still lingering
    deadline = time.monotonic() + 5
    while len(queued_messages(broker)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.1)
    messages = queued_messages(broker)
    assert sorted(message_comment_ids(m) for m in messages) == [ids[:4], ids[4:]]


def test_the_status_url_says_being_assessed_until_the_assessment_lands(
    client, article, fake_engine, broker
):
    comment = services.submit_comment(article, "Ann", "", "You idiot.", ip="10.0.0.9")
    url = comment.get_status_url()
    page = client.get(url)
    assert "Being assessed" in page.content.decode()
    assert client.get(url, HTTP_ACCEPT="application/json").json() == {
        "id": comment.pk,
        "status": "pending",
        "being_assessed": True,
        "reasons": [],
        "appeal": None,
    }

    assert assessing.assess_batch() == 1

    page = client.get(url).content.decode()
    assert "Being assessed" not in page and "Not published" in page
    answer = client.get(url, HTTP_ACCEPT="application/json").json()
    assert answer["status"] == "rejected" and answer["being_assessed"] is False
    assert answer["reasons"] == ["personal_attack"]


def test_a_comment_left_to_moderators_is_no_longer_being_assessed(
    client, article, fake_engine, broker
):
    comment = services.submit_comment(article, "Ann", "", "hmm, maybe", ip="10.0.0.9")
    assessing.assess_batch()
    answer = client.get(comment.get_status_url(), HTTP_ACCEPT="application/json").json()
    assert (answer["status"], answer["being_assessed"]) == ("pending", False)
    assert "Awaiting moderation" in client.get(comment.get_status_url()).content.decode()


def test_with_the_broker_down_the_post_still_succeeds_and_the_row_waits(
    client, article, fake_engine, settings, django_capture_on_commit_callbacks
):
    from civility.web.workers import app

    from .conftest import point_celery_at

    settings.CIVILITY_ASSESSMENT = "worker"
    previous = app.conf.broker_url
    point_celery_at("redis://127.0.0.1:1/0")  # nothing listens there
    try:
        started = time.monotonic()
        with django_capture_on_commit_callbacks(execute=True):
            response = post_api(client, article.slug, "A fair point.")
        assert time.monotonic() - started < 5  # no publishing retries
    finally:
        point_celery_at(previous)
    assert response.status_code == 201
    assert AwaitingAssessment.objects.filter(comment_id=response.json()["id"]).exists()


# -- batches ----------------------------------------------------------------------------------


def test_a_batch_calls_assess_many_once_and_stores_each_outcome(article, fake_engine, settings):
    settings.CIVILITY_ASSESS_BATCH = 10
    comments = store_pending(article, 3, "fine {i}")
    comments += store_pending(article, 1, "you idiot {i}")
    comments += store_pending(article, 1, "hmm {i}")
    assert assessing.assess_batch() == 5
    assert fake_engine.batches == [5]
    assert Assessment.objects.count() == 5
    assert not AwaitingAssessment.objects.exists()
    statuses = dict(Comment.objects.with_status().values_list("body", "current_status"))
    assert statuses["you idiot 0"] == "rejected"
    assert statuses["hmm 0"] == "pending"
    assert statuses["fine 2"] == "approved"
    automatic = Decision.objects.filter(actor__isnull=True)
    assert automatic.count() == 4
    assert set(automatic.values_list("actor_policy_version", flat=True)) == {"policy-test"}


def test_batches_are_capped_and_the_messages_own_comments_go_first(article, fake_engine, settings):
    settings.CIVILITY_ASSESS_BATCH = 4
    comments = store_pending(article, 10)
    own = [comments[9].pk, comments[8].pk]
    token, ids = assessing.claim(4, prefer=own)
    assert len(ids) == 4 and set(own) <= set(ids)


def test_one_flooded_article_does_not_starve_the_others(fake_engine, settings):
    flooded = Article.objects.create(slug="flooded", title="Flooded")
    quiet = Article.objects.create(slug="quiet", title="Quiet")
    other = Article.objects.create(slug="other", title="Other")
    store_pending(flooded, 200)
    late_quiet = store_pending(quiet, 2)
    late_other = store_pending(other, 1)
    _, ids = assessing.claim(10)
    # Round-robin across articles: every article's oldest comment is in the first batch,
    # though 200 of the flooded article's were queued before them.
    assert late_quiet[0].pk in ids and late_other[0].pk in ids
    assert late_quiet[1].pk in ids  # its second turn comes before the flood's third
    assert sorted(Comment.objects.filter(pk__in=ids).values_list("article__slug", flat=True)) == [
        *["flooded"] * 7,
        "other",
        *["quiet"] * 2,
    ]


def test_within_an_article_the_oldest_comments_go_first(article, fake_engine):
    comments = store_pending(article, 6)
    _, ids = assessing.claim(3)
    assert ids == [c.pk for c in comments[:3]]


CLAIMING_WORKER = """
import json, sys, time
import django
django.setup()
from civility.web.comments import assessing
from civility.web.comments.models import AwaitingAssessment
AwaitingAssessment.objects.exists()  # connected before the start
print("ready", flush=True)
sys.stdin.readline()  # both start on the same "go"
claimed = []
while True:
    _, ids = assessing.claim(4)
    if not ids:
        break
    claimed.extend(ids)
    time.sleep(0.002)  # a loaded machine may run one worker alone for a while: let both claim
print(json.dumps(claimed))
"""


@pytest.mark.slow
def test_two_worker_processes_claiming_at_once_never_claim_the_same_comment():
    """Two worker processes, each with its own connection, on one database (PostgreSQL under
    `make test-postgres`, otherwise a SQLite file with the site's settings), start claiming
    small batches at the same instant and go on until nothing is left: every comment goes to
    exactly one of them. A claim that read the free rows and marked them in a second step
    would hand some rows to both."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from scale_out import Cluster

    database = os.environ.get("DATABASE_URL", "")
    cluster = Cluster(
        database if database.startswith("postgres") else "sqlite", "", servers=0, workers=0
    )
    try:
        cluster.prepare()
        env = {**cluster.env, "REDIS_URL": ""}
        store = (
            "import django; django.setup()\n"
            "from civility.web.articles.models import Article\n"
            "from civility.web.comments.models import AwaitingAssessment, Comment\n"
            "article = Article.objects.first()\n"
            "comments = Comment.objects.bulk_create([Comment(article=article, "
            "author_name='R', body=f'Remark {i}.') for i in range(400)])\n"
            "AwaitingAssessment.objects.bulk_create([AwaitingAssessment(comment_id=c.pk, "
            "article_id=article.pk) for c in comments])\n"
        )
        subprocess.run([sys.executable, "-c", store], env=env, check=True)
        workers = [
            subprocess.Popen(
                [sys.executable, "-c", CLAIMING_WORKER],
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        for worker in workers:
            assert worker.stdout.readline().strip() == "ready", worker.stderr.read()[-2000:]
        for worker in workers:
            worker.stdin.write("go\n")
            worker.stdin.flush()
        outputs = [worker.communicate(timeout=120) for worker in workers]
        ids = [int(i) for (i,) in cluster.query("SELECT id FROM comments_comment")]
        attempts = cluster.query("SELECT DISTINCT attempts FROM comments_awaitingassessment")
    finally:
        cluster.stop()
    for worker, (_, errors) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, errors[-2000:]
    one, two = (json.loads(out) for out, _ in outputs)
    assert not set(one) & set(two), "a comment was claimed by both workers"
    assert sorted(one + two) == sorted(ids) and len(ids) == 400
    assert one and two  # they really claimed side by side
    assert attempts == [(1,)]


def test_an_expired_claim_is_taken_again_and_the_first_worker_then_stores_nothing(
    article, fake_engine
):
    """A worker that outlived its lease (killed, or stalled) must not store over the worker
    that took its batch: exactly one of them stores each comment."""
    comments = store_pending(article, 3, "you idiot {i}")
    slow_token, slow_ids = assessing.claim(10, lease=-1)  # already expired
    fast_token, fast_ids = assessing.claim(10)
    assert slow_ids == fast_ids == [c.pk for c in comments]

    # The slow worker's release finds none of its rows, so it stores nothing.
    assert assessing.release(slow_token, slow_ids) == set()
    assert assessing.release(fast_token, fast_ids) == set(fast_ids)


def test_a_killed_workers_batch_is_assessed_once_by_the_next(article, fake_engine, settings):
    settings.CIVILITY_ASSESS_LEASE = 0.2
    comments = store_pending(article, 4, "you idiot {i}")
    _, ids = assessing.claim(10)  # this worker dies here: no release, no store
    assert assessing.assess_batch() == 0  # under its claim still
    time.sleep(0.3)
    assert assessing.assess_batch() == 4
    assert Assessment.objects.count() == 4
    assert Decision.objects.filter(action="reject").count() == 4
    assert assessing.assess_batch() == 0
    assert ids == [c.pk for c in comments]


def test_a_comment_assessed_under_the_current_model_is_skipped(article, fake_engine):
    comment = services.submit_comment(article, "Ann", "", "You idiot.", ip="10.0.0.1")
    assert fake_engine.calls and Decision.objects.count() == 1
    fake_engine.calls.clear()
    assessing.queue_comments([comment])
    assert assessing.assess_batch() == 0
    assert fake_engine.calls == []
    assert Decision.objects.count() == 1
    assert not AwaitingAssessment.objects.exists()


def test_a_new_model_version_replaces_the_evidence_and_never_overrules_a_decision(
    article, fake_engine, moderator_user
):
    decided = services.submit_comment(article, "Ann", "", "You idiot.", ip="10.0.0.1")
    waiting = services.submit_comment(article, "Bob", "", "hmm", ip="10.0.0.2")
    fake_engine.model_version = "fake-2+policy-test"
    original = fake_engine.assess

    def upgraded(text, article=None, lang=None):
        result = original(text, article, lang)
        result.model_version = "fake-2+policy-test"
        if "hmm" in text:  # the new model is sure about it
            result.decision, result.score = "approve", 0.02
        return result

    fake_engine.assess = upgraded
    assessing.queue_comments([decided, waiting])
    assert assessing.assess_batch() == 2
    assert set(Assessment.objects.values_list("model_version", flat=True)) == {"fake-2+policy-test"}
    assert Assessment.objects.count() == 2
    assert decided.decisions.count() == 1  # the earlier rejection stands, not repeated
    assert waiting.decisions.get().action == "approve"


def test_a_moderator_decision_before_the_worker_is_not_overruled(
    article, fake_engine, broker, moderator_user
):
    comment = services.submit_comment(article, "Ann", "", "You idiot.", ip="10.0.0.1")
    services.record_decision(comment, "approve", actor=moderator_user)
    assert assessing.assess_batch() == 1
    assert Assessment.objects.filter(comment=comment).exists()
    assert list(comment.decisions.values_list("action", flat=True)) == ["approve"]


def test_a_comment_the_engine_fails_on_is_retried_then_needs_human_review(
    article, fake_engine, settings
):
    settings.CIVILITY_ASSESS_MAX_ATTEMPTS = 3
    good = store_pending(article, 2, "fine {i}")
    [bad] = store_pending(article, 1, "EXPLODE {i}")
    assert assessing.assess_batch() == 2
    assert all(Comment.objects.get(pk=c.pk).status == "approved" for c in good)
    row = AwaitingAssessment.objects.get()  # back in the queue at once, with its error
    assert (row.comment_id, row.attempts, row.claimed_until) == (bad.pk, 1, 0)
    assert "the engine failed: RuntimeError" in row.last_error
    assert assessing.assess_batch() == 0  # attempt 2
    assert AwaitingAssessment.objects.get().attempts == 2
    assert assessing.assess_batch() == 0  # attempt 3: given up on
    assert not AwaitingAssessment.objects.exists()
    failure = AssessmentFailure.objects.get()
    assert (failure.comment_id, failure.attempts) == (bad.pk, 3)
    assert failure.reason.startswith("the engine failed: RuntimeError")
    calls = len(fake_engine.calls)
    assert assessing.assess_batch() == 0 and len(fake_engine.calls) == calls  # no retry loop
    assert bad.status == "pending" and not bad.being_assessed
    assert not Assessment.objects.filter(comment=bad).exists()


def test_a_batch_that_overruns_its_lease_every_time_ends_needing_human_review(
    article, fake_engine, settings
):
    settings.CIVILITY_ASSESS_MAX_ATTEMPTS = 3
    [comment] = store_pending(article, 1)
    for attempt in range(3):  # claimed, then the lease runs out: a worker killed or too slow
        _, ids = assessing.claim(10, lease=-1)
        assert ids == [comment.pk], attempt
    assert assessing.claim(10)[1] == []  # never claimed a fourth time
    failure = AssessmentFailure.objects.get(comment=comment)
    assert failure.attempts == 3 and "overran the lease" in failure.reason
    assert assessing.sweep(queued_messages=lambda queue: 0) == 0  # nothing left to send


def test_queueing_again_gives_a_given_up_comment_new_attempts(article, fake_engine, settings):
    settings.CIVILITY_ASSESS_MAX_ATTEMPTS = 1
    [comment] = store_pending(article, 1, "you idiot {i}")
    assessing.claim(10, lease=-1)
    assert assessing.give_up() == [comment.pk]
    assessing.queue_comments([comment])  # `civility reassess`, once the engine is fixed
    assert assessing.assess_batch() == 1
    assert not AssessmentFailure.objects.exists()  # the assessment ends the failure
    assert Comment.objects.get(pk=comment.pk).status == "rejected"


def test_the_moderation_queue_says_a_given_up_comment_needs_human_review(
    client, article, fake_engine, moderator_user, settings
):
    settings.CIVILITY_ASSESS_MAX_ATTEMPTS = 1
    [lost] = store_pending(article, 1, "A comment nobody could assess {i}.")
    [assessed] = store_pending(article, 1, "hmm {i}")
    assessing.claim(1, prefer=[lost.pk], lease=-1)
    assessing.give_up()
    assert assessing.assess_batch() == 1  # the other one: assessed, left for review
    client.force_login(moderator_user)
    page = client.get("/moderation/").content.decode()
    cards = page.split('class="card ')[1:]
    lost_card = next(card for card in cards if f'data-comment-id="{lost.pk}"' in card)
    other_card = next(card for card in cards if f'data-comment-id="{assessed.pk}"' in card)
    assert "Needs human review: could not be assessed." in lost_card
    assert "could not be assessed" not in other_card


@pytest.mark.django_db(transaction=True)
def test_the_lease_is_renewed_while_a_slow_batch_runs(article, fake_engine, settings):
    """The engine takes several leases' time; meanwhile another worker tries to claim and gets
    nothing, and the slow worker stores every comment once."""
    settings.CIVILITY_ASSESS_LEASE = 0.4
    settings.CIVILITY_ASSESS_COMMENT_BUDGET = 30
    comments = store_pending(article, 3)
    taken = []
    original = fake_engine.assess_many

    def slow(items):
        for _ in range(6):  # 1.5 s: almost four leases
            time.sleep(0.25)
            taken.extend(assessing.claim(10)[1])  # another worker, while this batch runs
        return original(items)

    fake_engine.assess_many = slow
    assert assessing.assess_batch() == 3
    assert taken == []
    assert Assessment.objects.filter(comment__in=comments).count() == 3
    assert not AwaitingAssessment.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_batch_past_its_time_budget_loses_its_lease_and_stores_nothing(
    article, fake_engine, settings
):
    settings.CIVILITY_ASSESS_LEASE = 0.4
    settings.CIVILITY_ASSESS_COMMENT_BUDGET = 0.1  # the batch may renew for 0.4 s at most
    [comment] = store_pending(article, 1)
    taken = []
    original = fake_engine.assess_many

    def too_slow(items):
        deadline = time.monotonic() + 3
        while not taken and time.monotonic() < deadline:
            time.sleep(0.1)
            taken.extend(assessing.claim(10)[1])  # another worker takes the batch over
        return original(items)

    fake_engine.assess_many = too_slow
    assert assessing.assess_batch() == 0  # its claim was taken: it stores nothing
    assert taken == [comment.pk]
    assert AwaitingAssessment.objects.get().attempts == 2
    assert not Assessment.objects.exists()


# -- the sweeper ------------------------------------------------------------------------------


def test_the_sweeper_sends_messages_only_for_what_the_queue_cannot_reach(
    article, fake_engine, broker, settings, django_capture_on_commit_callbacks
):
    settings.CIVILITY_ASSESS_BATCH = 4
    settings.CIVILITY_SWEEP_AFTER = 0
    store_pending(article, 10)  # their messages were lost (never sent: no commit hook ran)
    assert queued_messages(broker) == []
    sent = assessing.sweep()
    assert sent == 3  # ceil(10 / 4): each message assesses a batch
    assert len(queued_messages(broker)) == 3
    assert assessing.sweep() == 0  # the queue already reaches them all
    broker.delete(ASSESS_QUEUE)  # the broker lost them too
    assert assessing.sweep() == 3


def test_the_sweeper_leaves_fresh_and_claimed_comments_alone(article, fake_engine, settings):
    settings.CIVILITY_SWEEP_AFTER = 3600
    store_pending(article, 5)
    assert assessing.sweep(queued_messages=lambda queue: 0) == 0  # not stale yet
    settings.CIVILITY_SWEEP_AFTER = 0
    assessing.claim(10)  # a live worker holds them
    assert assessing.sweep(queued_messages=lambda queue: 0) == 0


# -- civility reassess ------------------------------------------------------------------------


def reassess(*args) -> str:
    out = StringIO()
    call_command("reassess", "--no-progress", *args, stdout=out)
    return out.getvalue()


def test_reassess_dry_run_counts_by_status_and_date(article, fake_engine):
    services.submit_comment(article, "Ann", "", "hmm one", ip="10.0.0.1")
    services.submit_comment(article, "Bob", "", "hmm two", ip="10.0.0.2")
    services.submit_comment(article, "Cy", "", "fine", ip="10.0.0.3")
    assert "2 pending comment(s) would be reassessed" in reassess("--dry-run")
    assert "3 comment(s) would be reassessed" in reassess("--dry-run", "--status", "all")
    assert "0 pending comment(s)" in reassess("--dry-run", "--since", "2999-01-01")
    assert fake_engine.batches == []  # a dry run changes nothing
    assert not AwaitingAssessment.objects.exists()


def test_reassess_without_a_broker_runs_here_and_skips_up_to_date_ones(article, fake_engine):
    services.submit_comment(article, "Ann", "", "hmm one", ip="10.0.0.1")
    output = reassess()
    assert "Reassessed 0 of 1 pending comment(s)" in output  # current model already
    fake_engine.model_version = "fake-2"
    output = reassess()
    assert "Reassessed 1 of 1 pending comment(s)" in output
    assert fake_engine.batches == [1]


def test_reassess_with_a_broker_queues_batches_for_the_workers(
    article, fake_engine, broker, settings, django_capture_on_commit_callbacks
):
    settings.CIVILITY_ASSESS_BATCH = 2
    for i in range(5):
        Comment.objects.create(article=article, author_name="R", body=f"old comment {i}")
    with django_capture_on_commit_callbacks(execute=True):
        output = reassess()
    assert "Queued 5 of 5 pending comment(s)" in output
    assert AwaitingAssessment.objects.count() == 5
    assert len(queued_messages(broker)) == 3
    assert fake_engine.batches == []
    with django_capture_on_commit_callbacks(execute=True):
        assert "Queued 0 of 5" in reassess()  # already waiting: not queued twice


def test_messages_are_acknowledged_only_after_their_task_and_requeued_if_a_worker_dies():
    from civility.web.comments.tasks import assess
    from civility.web.webhooks.tasks import deliver
    from civility.web.workers import app

    for task in (assess, deliver):
        assert task.acks_late is True
        assert task.reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1  # a killed worker held little
    # Longer than any webhook retry delay: Redis hands an unacknowledged message out again
    # after this, so a delayed retry must never wait longer.
    from civility.web.webhooks.delivery import MAX_BACKOFF

    assert app.conf.broker_transport_options["visibility_timeout"] > MAX_BACKOFF
