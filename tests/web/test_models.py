"""Model rules: immutable bodies, append-only decisions (in Django and in the database),
status derived from the latest decision, the Moderators group."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import DatabaseError, connection, transaction

from civility.web.comments.models import (
    Comment,
    Decision,
    ImmutableError,
)
from civility.web.comments.services import record_decision

pytestmark = pytest.mark.django_db


def test_comment_body_cannot_change_through_save(post):
    comment = post("Original words.")
    comment.body = "Rewritten words."
    with pytest.raises(ImmutableError):
        comment.save()
    assert Comment.objects.get(pk=comment.pk).body == "Original words."


def test_comment_body_cannot_change_through_queryset_update(post):
    comment = post("Original words.")
    with pytest.raises(ImmutableError):
        Comment.objects.filter(pk=comment.pk).update(body="Rewritten")
    assert Comment.objects.get(pk=comment.pk).body == "Original words."


def test_other_comment_fields_may_still_be_saved(post):
    comment = post("Original words.")
    comment.language = "tr"
    comment.save()
    assert Comment.objects.get(pk=comment.pk).language == "tr"


def test_database_refuses_body_update_in_raw_sql(post):
    comment = post("Original words.")
    with pytest.raises(DatabaseError), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE comments_comment SET body = %s WHERE id = %s", ["changed", comment.pk]
            )
    assert Comment.objects.get(pk=comment.pk).body == "Original words."


def test_database_allows_updating_other_columns_in_raw_sql(post):
    comment = post("Original words.")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE comments_comment SET language = %s WHERE id = %s", ["fa", comment.pk]
        )
    assert Comment.objects.get(pk=comment.pk).language == "fa"


def test_decision_cannot_be_updated_or_deleted_through_django(post, moderator_user):
    decision = record_decision(post(), "approve", [], moderator_user)
    decision.note = "changed"
    with pytest.raises(ImmutableError):
        decision.save()
    with pytest.raises(ImmutableError):
        decision.delete()
    with pytest.raises(ImmutableError):
        Decision.objects.filter(pk=decision.pk).update(note="changed")
    with pytest.raises(ImmutableError):
        Decision.objects.all().delete()
    assert Decision.objects.get(pk=decision.pk).note == ""


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE comments_decision SET action = 'reject' WHERE id = %s",
        "DELETE FROM comments_decision WHERE id = %s",
    ],
)
def test_database_refuses_decision_update_and_delete_in_raw_sql(post, moderator_user, sql):
    decision = record_decision(post(), "approve", [], moderator_user)
    with pytest.raises(DatabaseError), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql, [decision.pk])
    assert Decision.objects.get(pk=decision.pk).action == "approve"


def test_status_is_the_latest_decision_and_reversal_appends(post, moderator_user):
    comment = post()
    assert comment.status == "approved"  # the fake engine approved it automatically
    record_decision(comment, "reject", ["other"], moderator_user, note="second look")
    assert Comment.objects.get(pk=comment.pk).status == "rejected"
    record_decision(comment, "approve", [], moderator_user)
    annotated = Comment.objects.with_status().get(pk=comment.pk)
    assert annotated.current_status == "approved"
    assert annotated.status == "approved"
    assert annotated.decided_automatically is False
    assert [d.action for d in comment.decisions.all()] == ["approve", "reject", "approve"]
    assert comment.decisions.first().automatic


def test_comment_without_decision_is_pending(post):
    comment = post("hmm, could go either way")
    assert comment.status == "pending"
    assert Comment.objects.pending().filter(pk=comment.pk).exists()
    assert not Comment.objects.approved().filter(pk=comment.pk).exists()


def test_status_tokens_are_unique_and_long(post):
    tokens = {post(f"comment number {i}", ip=f"10.0.0.{i}").status_token for i in range(5)}
    assert len(tokens) == 5
    assert all(len(t) >= 30 for t in tokens)


def test_moderators_group_has_the_moderate_permission(moderator_user, reader_user):
    permission = Permission.objects.get(
        codename="moderate_comment", content_type__app_label="comments"
    )
    assert permission in Group.objects.get(name="Moderators").permissions.all()
    assert moderator_user.has_perm("comments.moderate_comment")
    assert not reader_user.has_perm("comments.moderate_comment")


def test_record_decision_validates_and_checks_permission(post, moderator_user, reader_user):
    from civility.web.comments.services import DecisionError

    comment = post("hmm, undecided")
    cases = [
        (("publish", [], moderator_user), "action"),
        (("reject", [], moderator_user), "reasons"),
        (("reject", ["rude"], moderator_user), "reasons"),
        (("approve", [], None), "actor"),
        (("approve", [], reader_user), "actor"),
    ]
    for (action, reasons, actor), field in cases:
        with pytest.raises(DecisionError) as caught:
            record_decision(comment, action, reasons, actor)
        assert caught.value.field == field
    assert not comment.decisions.exists()


def test_author_history_counts_the_verified_commenter_or_name_and_ip(
    article, fake_engine, moderator_user
):
    from civility.web.commenters.models import Commenter
    from civility.web.comments.services import author_history, submit_comment

    dana = Commenter.objects.create(display_name="Dana", email="dana@example.org")

    def post(text, author, email="", ip="10.0.0.1", commenter=None):
        return submit_comment(article, author, email, text, ip=ip, commenter=commenter)

    post("First, fine.", author="Dana", ip="10.1.1.1", commenter=dana)
    post("Second: idiot.", author="Dana", ip="10.9.9.9", commenter=dana)
    post("hmm pending", author="Dana", ip="10.1.1.2", commenter=dana)
    # The same address typed without a verified session is not Dana's record.
    post("Borrowed: fine.", author="Dana", email="dana@example.org", ip="10.4.4.4")
    current = post("hmm, the one on the card", author="Dana", ip="10.1.1.3", commenter=dana)
    assert author_history(current) == (1, 1)
    anonymous = post("hmm no email", author="Eli", ip="10.2.2.2")
    post("Earlier from the same name and IP.", author="Eli", ip="10.2.2.2")
    post("Same name, other IP.", author="Eli", ip="10.3.3.3")
    assert author_history(anonymous) == (1, 0)


def test_automatic_decisions_record_the_policy_and_reason_codes(post):
    rejected = post("what an idiot")
    decision = rejected.decisions.get()
    assert decision.automatic and decision.actor is None
    assert decision.reasons == ["personal_attack"]
    assert decision.actor_policy_version == "policy-test"
    assert rejected.assessment.spans == [{"start": 8, "end": 13, "category": "personal_attack"}]
    assert Comment.objects.with_status().get(pk=rejected.pk).decided_automatically


def test_ip_is_stored_only_as_a_keyed_hash(post):
    comment = post("Hello.", ip="203.0.113.7")
    assert comment.ip_hash and "203.0.113.7" not in comment.ip_hash
    assert len(comment.ip_hash) == 32
