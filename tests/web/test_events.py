"""The comment lifecycle's event stream (civility.web.events): the lifecycle announces each
change there and its subscribers (webhooks, the learning app's shadow scores) hear it inside
the change's transaction; the workers' sweeper finds the apps' sweeps without importing them."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from civility.web import events, workers
from civility.web.commenters import notifications
from civility.web.comments import assessing, services
from civility.web.comments.models import Comment, Decision
from civility.web.webhooks import delivery
from civility.web.webhooks import events as webhook_events
from civility.web.webhooks.models import Delivery, Webhook

pytestmark = pytest.mark.django_db


@pytest.fixture
def heard():
    """A subscriber that records what it hears, and whether it was inside a transaction."""
    log: list[tuple[str, list, bool]] = []

    def handle(event, items):
        log.append((event, list(items), connection.in_atomic_block))

    events.subscribe("test", handle)
    yield log
    events.unsubscribe("test")


@pytest.fixture(autouse=True)
def _fresh_webhook_subscribers():
    webhook_events.forget_subscribers()
    yield
    webhook_events.forget_subscribers()


def test_an_unknown_event_is_refused():
    with pytest.raises(ValueError, match="unknown event 'comment.deleted'"):
        events.emit("comment.deleted", [(None, None)])
    with pytest.raises(ValueError, match="unknown event"):
        events.listened("nothing")


def test_a_subscriber_hears_only_what_it_wants():
    got = []
    events.subscribe("picky", lambda e, items: got.append(e), wants=lambda e: e == events.CREATED)
    try:
        assert events.listened(events.CREATED)
        events.emit(events.NEEDS_REVIEW, [("c", None)])
        events.emit(events.CREATED, [])  # nothing to announce: nobody is called
        events.emit(events.CREATED, [("c", None)])
        assert got == [events.CREATED]
    finally:
        events.unsubscribe("picky")
    events.emit(events.CREATED, [("c", None)])
    assert got == [events.CREATED]


def test_a_post_and_its_automatic_decision_are_announced_in_their_transaction(post, heard):
    comment = post("you idiot")
    names = [event for event, _, _ in heard]
    assert names == [events.CREATED, events.ASSESSED, events.REJECTED]
    assert all(inside for _, _, inside in heard)  # in the transaction that stored them
    created, assessed, rejected = (items for _, items, _ in heard)
    assert created == [(comment, None)]
    assert assessed[0][0] == comment and assessed[0][1].decision == "reject"
    assert rejected == [(comment, Decision.objects.get(comment=comment))]


def test_a_comment_left_to_the_moderators_and_their_decision(post, heard, moderator_user):
    comment = post("hmm, maybe")
    assert [e for e, _, _ in heard] == [events.CREATED, events.ASSESSED, events.NEEDS_REVIEW]
    heard.clear()
    services.record_decision(comment, "approve", actor=moderator_user)
    assert [(e, [c.pk for c, _ in items]) for e, items, _ in heard] == [
        (events.APPROVED, [comment.pk])
    ]


def test_a_comment_waiting_for_the_workers_is_announced_once_stored(article, heard, settings):
    settings.CIVILITY_ASSESSMENT = "worker"
    settings.CELERY_BROKER_URL = ""
    comment = services.submit_comment(article, "Ann", "", "A fair point.", ip="10.0.0.1")
    assert [(e, items[0][0].pk) for e, items, _ in heard] == [(events.CREATED, comment.pk)]


def test_the_learning_app_keeps_a_shadow_versions_view(post, fake_engine, monkeypatch):
    """The lifecycle never calls the learning app: it hears comment.assessed."""
    from civility.web.learning.models import ShadowAssessment

    real_assess = fake_engine.assess

    def with_shadow(text, article=None, lang=None):
        result = real_assess(text, article, lang)
        result.shadow = real_assess("you idiot", article, lang)  # the candidate disagrees
        result.shadow.model_version = "candidate-2"
        return result

    monkeypatch.setattr(fake_engine, "assess", with_shadow)
    comment = post("A fair point about the talks.")
    shadow = ShadowAssessment.objects.get(comment=comment)
    assert (shadow.model_version, shadow.suggested_decision) == ("candidate-2", "reject")
    assert comment.assessment.suggested_decision == "approve"  # the active version decides


def test_a_failing_subscriber_rolls_the_change_back(post):
    def broken(event, items):
        raise RuntimeError("subscriber failed")

    events.subscribe("broken", broken)
    try:
        with pytest.raises(RuntimeError, match="subscriber failed"):
            post("A fair point about the talks.")
    finally:
        events.unsubscribe("broken")
    assert not Comment.objects.exists()  # never stored without being announced


def test_webhooks_hear_the_stream_and_store_deliveries_with_the_change(
    post, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(delivery, "dispatch", lambda ids: sent.append(list(ids)))
    Webhook.objects.create(url="https://example.org/hook", events=[events.CREATED])
    assert events.listened(events.CREATED)
    assert not webhook_events.wants(events.APPROVED)  # (commenter mails always listen to it)
    with django_capture_on_commit_callbacks(execute=True):
        comment = post("A fair point about the talks.")
        stored = list(Delivery.objects.values_list("pk", "event", "comment_id"))
        assert [row[1:] for row in stored] == [(events.CREATED, comment.pk)]
        assert sent == []  # nothing leaves before the commit
    assert sent == [[stored[0][0]]]


def test_a_rolled_back_post_leaves_no_delivery(post, monkeypatch):
    sent = []
    monkeypatch.setattr(delivery, "dispatch", lambda ids: sent.append(list(ids)))
    Webhook.objects.create(url="https://example.org/hook", events=[events.CREATED])
    with pytest.raises(RuntimeError, match="rolled back"), transaction.atomic():
        post("A fair point about the talks.")
        assert Delivery.objects.count() == 1
        raise RuntimeError("rolled back")
    assert not Delivery.objects.exists() and not Comment.objects.exists()
    assert sent == []


def test_a_deleted_webhook_is_forgotten_at_once(post, monkeypatch):
    monkeypatch.setattr(webhook_events, "SUBSCRIBERS_TTL", 3600.0)
    monkeypatch.setattr(delivery, "dispatch", lambda ids: None)
    hook = Webhook.objects.create(url="https://example.org/hook", events=[events.CREATED])
    assert events.listened(events.CREATED)
    hook.delete()
    assert not events.listened(events.CREATED)
    post("A fair point about the talks.")
    assert not Delivery.objects.exists()


def test_the_sweeper_finds_each_apps_sweep_and_survives_one_failing(monkeypatch, caplog):
    assert {config.label for config in workers.sweepers()} == {"comments", "commenters", "webhooks"}
    monkeypatch.setattr(assessing, "sweep", lambda: 3)
    monkeypatch.setattr(notifications, "sweep", lambda: 0)

    def broken():
        raise RuntimeError("webhooks sweep failed")

    monkeypatch.setattr(delivery, "sweep", broken)
    assert workers.sweep_apps() == {"comments": 3, "commenters": 0}
    assert "sweeper of webhooks failed" in caplog.text
    assert "sweeper requeued: comments 3" in caplog.text
