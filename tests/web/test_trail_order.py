"""The decision trail is ordered by a monotonic key (the id, given under the comment's lock),
and a comment's status is the last decision in that order, whatever the clocks said."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from civility.web.comments import services
from civility.web.comments.models import Comment, Decision


@pytest.mark.django_db
def test_status_follows_insertion_order_not_the_clock(post, moderator_user):
    comment = post("hmm, a question")
    later = timezone.now() + timedelta(minutes=5)
    # A decision stamped late but stored first (its writer read the clock, then waited)…
    Decision.objects.create(
        comment=comment, action="reject", reasons=["other"], actor=moderator_user, created=later
    )
    # …and one stored after it, stamped earlier.
    Decision.objects.create(comment=comment, action="approve", actor=moderator_user)
    assert Comment.objects.get(pk=comment.pk).status == "approved"
    assert Comment.objects.with_status().get(pk=comment.pk).current_status == "approved"
    assert [d.action for d in comment.decisions.all()] == ["reject", "approve"]


@pytest.mark.django_db
def test_a_new_decision_is_never_stamped_before_the_previous_one(post, moderator_user, monkeypatch):
    comment = post("hmm, a question")
    first = services.record_decision(comment, "approve", [], moderator_user)
    # The clock steps back (NTP, or another host's clock).
    earlier = first.created - timedelta(seconds=30)
    monkeypatch.setattr(services.timezone, "now", lambda: earlier)
    second = services.record_decision(comment, "reject", ["other"], moderator_user, "n")
    assert second.pk > first.pk
    assert second.created >= first.created
    trail = list(comment.decisions.all())
    assert trail == sorted(trail, key=lambda d: (d.created, d.pk))


@pytest.mark.postgres_only  # SQLite serialises the test database: no concurrent writers
@pytest.mark.django_db(transaction=True)
def test_simultaneous_approve_and_reject_leave_a_consistent_trail(article, fake_engine):
    from django.contrib.auth.models import User

    moderator = User.objects.create_user("mod", "m@example.org", "pw-long-enough")
    moderator.groups.add(services.moderators_group())
    moderator = User.objects.get(pk=moderator.pk)
    comments = [services.submit_comment(article, f"R{i}", "", f"hmm number {i}") for i in range(40)]
    barrier = threading.Barrier(2)

    def decide(action, reasons):
        try:
            for comment in comments:
                barrier.wait(timeout=10)
                services.record_decision(comment, action, reasons, moderator)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=decide, args=("approve", [])),
        threading.Thread(target=decide, args=("reject", ["other"])),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for comment in Comment.objects.with_status().filter(pk__in=[c.pk for c in comments]):
        by_id = list(Decision.objects.filter(comment=comment).order_by("id"))
        by_clock = list(Decision.objects.filter(comment=comment).order_by("created", "id"))
        assert len(by_id) == 2
        assert by_id == by_clock
        expected = "approved" if by_id[-1].action == "approve" else "rejected"
        assert comment.current_status == expected
