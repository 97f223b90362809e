"""Decisions that know what they change: each carries the latest decision its moderator saw,
and one made on a stale state is refused (409 in the API, a message on the page) with who
decided what and when, recording nothing. Reversing is an explicit change of decision; bulk
decisions report per comment."""

from __future__ import annotations

import json
import threading

import pytest
from django.db import connections

from civility.web.api.models import ApiToken
from civility.web.comments import services
from civility.web.comments.models import Comment, Decision

pytestmark = pytest.mark.django_db


def api(client, user, path, body):
    token = ApiToken.objects.issue(user)[1]
    return client.post(
        f"/api/v1/moderation{path}",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def decision_path(comment, change=False):
    return f"/comments/{comment.pk}/decision" + ("/change" if change else "")


# --- the API -------------------------------------------------------------------------------


def test_second_moderator_on_a_pending_comment_gets_409_naming_who_decided(
    client, post, layla, sam
):
    comment = post("hmm, is this fine?")
    first = api(client, layla, decision_path(comment), {"action": "approve", "seen_decision": None})
    assert first.status_code == 200
    # Sam loaded the comment while it was pending, and rejects it a minute later.
    stale = api(client, sam, decision_path(comment), {"action": "reject", "reasons": ["off_topic"]})
    assert stale.status_code == 409
    body = stale.json()
    assert body["field"] == "seen_decision"
    assert body["current"] == {
        "decision_id": first.json()["decision_id"],
        "action": "approve",
        "status": "approved",
        "reasons": [],
        "actor": "layla",
        "automatic": False,
        "created": first.json()["created"],
    }
    assert [d["decision_id"] for d in body["decided_since"]] == [first.json()["decision_id"]]
    assert "approved by layla" in body["error"]
    # Nothing recorded: the comment stays approved, with Layla's decision only.
    assert [d.actor_id for d in comment.decisions.all()] == [layla.pk]
    assert Comment.objects.get(pk=comment.pk).status == "approved"


def test_a_first_decision_on_a_decided_comment_must_be_a_change(client, post, layla):
    comment = post("you idiot")  # rejected automatically
    automatic = comment.decisions.get()
    # The client saw the automatic decision, yet asks for a first decision: not a reversal.
    refused = api(
        client,
        layla,
        decision_path(comment),
        {"action": "approve", "seen_decision": automatic.pk},
    )
    assert refused.status_code == 400
    assert refused.json()["field"] == "seen_decision"
    assert "change" in refused.json()["error"]
    # Having seen nothing (pending) it is a conflict with the policy's decision.
    conflict = api(client, layla, decision_path(comment), {"action": "approve"})
    assert conflict.status_code == 409
    assert conflict.json()["current"]["automatic"] is True
    assert comment.decisions.count() == 1
    # The explicit change reverses it.
    changed = api(
        client,
        layla,
        decision_path(comment, change=True),
        {"action": "approve", "seen_decision": automatic.pk},
    )
    assert changed.status_code == 200
    assert changed.json()["status"] == "approved"
    assert [d.action for d in comment.decisions.all()] == ["reject", "approve"]


def test_a_change_made_on_a_stale_decision_gets_409_with_every_decision_since(
    client, post, layla, sam
):
    comment = post("you idiot")
    automatic = comment.decisions.get()
    body = {"action": "approve", "seen_decision": automatic.pk}
    assert api(client, layla, decision_path(comment, change=True), body).status_code == 200
    again = {"action": "reject", "reasons": ["personal_attack"], "seen_decision": None}
    again["seen_decision"] = comment.decisions.latest("id").pk
    assert api(client, layla, decision_path(comment, change=True), again).status_code == 200
    # Sam still looks at the automatic rejection and wants it approved.
    stale = api(client, sam, decision_path(comment, change=True), body)
    assert stale.status_code == 409
    since = stale.json()["decided_since"]
    assert [(d["action"], d["actor"]) for d in since] == [
        ("approve", "layla"),
        ("reject", "layla"),
    ]
    assert stale.json()["current"]["reasons"] == ["personal_attack"]
    assert comment.decisions.count() == 3


def test_change_needs_a_decision_of_this_comment(client, post, layla):
    comment, other = post("you idiot"), post("you idiot, too")
    missing = api(client, layla, decision_path(comment, change=True), {"action": "approve"})
    assert missing.status_code == 400 and missing.json()["field"] == "seen_decision"
    foreign = api(
        client,
        layla,
        decision_path(comment, change=True),
        {"action": "approve", "seen_decision": other.decisions.get().pk},
    )
    assert foreign.status_code == 400 and foreign.json()["field"] == "seen_decision"
    pending = post("hmm, undecided")
    nothing_to_change = api(
        client,
        layla,
        decision_path(pending, change=True),
        {"action": "approve", "seen_decision": other.decisions.get().pk},
    )
    assert nothing_to_change.status_code == 400
    assert Decision.objects.filter(comment__in=[comment, pending]).count() == 1


def test_bulk_decisions_report_per_comment(client, post, layla, sam):
    free, taken, automatic = post("hmm one"), post("hmm two"), post("you idiot")
    api(client, layla, decision_path(taken), {"action": "reject", "reasons": ["promotion"]})
    auto_id = automatic.decisions.get().pk
    answer = api(
        client,
        sam,
        "/decisions",
        {
            "decisions": [
                {"comment": free.pk, "action": "approve"},
                {"comment": taken.pk, "action": "approve", "seen_decision": None},
                {"comment": 999_999, "action": "approve"},
                {"comment": free.pk, "action": "reject"},
                {
                    "comment": automatic.pk,
                    "action": "approve",
                    "seen_decision": auto_id,
                    "change": True,
                },
            ]
        },
    )
    assert answer.status_code == 200
    data = answer.json()
    assert (data["applied"], data["conflicts"], data["errors"]) == (2, 1, 2)
    outcomes = [(r["comment"], r["outcome"]) for r in data["results"]]
    assert outcomes == [
        (free.pk, "applied"),
        (taken.pk, "conflict"),
        (999_999, "error"),
        (free.pk, "error"),  # no reason to reject (checked before the state)
        (automatic.pk, "applied"),
    ]
    conflict = data["results"][1]
    assert conflict["current"]["actor"] == "layla"
    assert conflict["current"]["action"] == "reject"
    assert data["results"][3]["field"] == "reasons"
    assert data["results"][0]["decision"]["status"] == "approved"
    statuses = dict(Comment.objects.with_status().values_list("pk", "current_status"))
    assert statuses == {free.pk: "approved", taken.pk: "rejected", automatic.pk: "approved"}


def test_the_queue_gives_the_decision_id_to_send_back(client, post, layla):
    pending, decided = post("hmm, open"), post("you idiot")
    token = ApiToken.objects.issue(layla)[1]
    items = client.get(
        "/api/v1/moderation/queue?status=all", HTTP_AUTHORIZATION=f"Bearer {token}"
    ).json()["comments"]
    by_id = {item["id"]: item["decision_id"] for item in items}
    assert by_id == {pending.pk: None, decided.pk: decided.decisions.get().pk}


@pytest.mark.postgres_only  # SQLite serialises the test database: no concurrent writers
@pytest.mark.django_db(transaction=True)
def test_simultaneous_first_decisions_one_applies_the_other_conflicts(
    article, fake_engine, make_moderator
):
    """Two moderators press at the same moment on a pending comment, forty times over: exactly
    one decision per comment is recorded, the other gets the conflict."""
    first, second = make_moderator("first"), make_moderator("second")
    comments = [services.submit_comment(article, f"R{i}", "", f"hmm number {i}") for i in range(40)]
    barrier = threading.Barrier(2)
    outcomes = {"first": [], "second": []}

    def decide(user, action, reasons):
        try:
            for comment in comments:
                barrier.wait(timeout=10)
                try:
                    services.record_decision(comment, action, reasons, user, seen=None)
                    outcomes[user.username].append("applied")
                except services.DecisionConflict:
                    outcomes[user.username].append("conflict")
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=decide, args=(first, "approve", [])),
        threading.Thread(target=decide, args=(second, "reject", ["other"])),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i, comment in enumerate(comments):
        assert comment.decisions.count() == 1
        assert sorted([outcomes["first"][i], outcomes["second"][i]]) == ["applied", "conflict"]


# --- the moderator pages -------------------------------------------------------------------


def page_decision(client, comment, body, change=False, json_answer=True):
    url = f"/moderation/comments/{comment.pk}/{'change' if change else 'decide'}/"
    headers = {"HTTP_ACCEPT": "application/json"} if json_answer else {}
    return client.post(url, {"next": "/moderation/", **body}, **headers)


def test_page_decision_on_a_stale_card_is_not_applied_and_says_who(client, post, layla, sam):
    comment = post("hmm, is this fine?")
    client.force_login(layla)
    assert page_decision(client, comment, {"action": "approve", "seen": ""}).status_code == 200
    client.force_login(sam)
    stale = page_decision(
        client, comment, {"action": "reject", "reasons": ["off_topic"], "seen": ""}
    )
    assert stale.status_code == 409
    data = stale.json()
    assert data["conflict"] is True and data["field"] == "seen_decision"
    assert data["error"].startswith(f"Not applied: comment {comment.pk} was approved by Layla")
    assert "after you loaded it" in data["error"]
    # The card as it is now: approved, its controls a change of Layla's decision.
    assert 'data-status="approved"' in data["card_html"]
    assert f'action="/moderation/comments/{comment.pk}/change/"' in data["card_html"]
    assert f'name="seen" value="{comment.decisions.get().pk}"' in data["card_html"]
    assert comment.decisions.count() == 1
    # Without JavaScript: the same message after the redirect, nothing applied.
    plain = page_decision(
        client, comment, {"action": "reject", "reasons": ["off_topic"]}, json_answer=False
    )
    assert plain.status_code == 302
    page = client.get(plain["Location"]).content.decode()
    assert "Not applied: comment" in page and "Layla Hassan" in page
    assert comment.decisions.count() == 1


def test_change_decision_on_the_page(client, post, sam):
    comment = post("you idiot")
    automatic = comment.decisions.get()
    client.force_login(sam)
    html = client.get("/moderation/?status=rejected").content.decode()
    assert "Change decision:" in html
    assert f'name="seen" value="{automatic.pk}"' in html
    answer = page_decision(client, comment, {"action": "approve", "seen": automatic.pk}, True)
    assert answer.status_code == 200
    assert answer.json()["decision_id"] == comment.decisions.latest("id").pk
    assert Comment.objects.get(pk=comment.pk).status == "approved"


def test_bulk_on_the_page_reports_each_comment(client, post, layla, sam):
    a, b, c = post("hmm one"), post("hmm two"), post("hmm three")
    client.force_login(layla)
    page_decision(client, b, {"action": "reject", "reasons": ["promotion"], "seen": ""})
    client.force_login(sam)
    response = client.post(
        "/moderation/bulk/",
        {
            "action": "approve",
            "comment_ids": [a.pk, b.pk, c.pk],
            f"seen_{a.pk}": "",
            f"seen_{b.pk}": "",  # Sam's page showed it pending
            f"seen_{c.pk}": "",
        },
        follow=True,
    )
    text = response.content.decode()
    assert "Approved 2 comments." in text
    assert f"Not applied: comment {b.pk} was rejected by Layla Hassan" in text
    statuses = dict(Comment.objects.with_status().values_list("pk", "current_status"))
    assert statuses == {a.pk: "approved", b.pk: "rejected", c.pk: "approved"}


@pytest.mark.parametrize("seen", ["abc", "-1", "0", str(2**63), "1.5", "²", "9" * 5000])
def test_hostile_seen_values_are_refused_and_record_nothing(client, post, sam, seen):
    comment = post("hmm, fine?")
    client.force_login(sam)
    answer = page_decision(client, comment, {"action": "approve", "seen": seen})
    assert answer.status_code == 400 and answer.json()["field"] == "seen"
    bulk = client.post(
        "/moderation/bulk/",
        {"action": "approve", "comment_ids": [comment.pk], f"seen_{comment.pk}": seen},
        follow=True,
    )
    assert bulk.status_code == 200
    assert f"Comment {comment.pk}: seen_decision must be a decision id" in bulk.content.decode()
    assert comment.decisions.count() == 0
