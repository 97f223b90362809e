"""Personal-data requests (issue 16, item 6): a comment withdrawn at its author's request (a
rejection citing author_request alone) from the queue card, the commenter page, the API and
the command line; export, erase and withdraw through the API for a user with the
personal-data permission; and the append-only trail of those requests, which holds no address."""

from __future__ import annotations

import io
import json

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from civility.web.api.models import ApiToken
from civility.web.commenters.identity import address_key
from civility.web.commenters.models import (
    AppendOnlyError,
    Authorship,
    Commenter,
    OutgoingMail,
    PrivacyRequest,
)
from civility.web.comments import services
from civility.web.comments.models import AUTHOR_REQUEST, Comment, Decision
from civility.web.comments.standing import standings
from civility.web.learning.services import human_examples

EMAIL = "Withdraw.Me@Example.org"
TEXT = "A fair point <b>about</b> the talks — رأي 🙂"
EXPORT, ERASE, WITHDRAW = (
    "/api/v1/moderation/privacy/export",
    "/api/v1/moderation/privacy/erase",
    "/api/v1/moderation/privacy/withdraw",
)


def _grant(user, codename: str = "handle_personal_data"):
    user.user_permissions.add(Permission.objects.get(codename=codename))
    return User.objects.get(pk=user.pk)  # no stale permission cache


@pytest.fixture
def privacy_officer(moderator_user):
    """A moderator who may also handle personal data."""
    return _grant(moderator_user)


def bearer(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {ApiToken.objects.issue(user)[1]}"}


def post_json(client, path, body, user=None):
    headers = bearer(user) if user is not None else {}
    return client.post(path, json.dumps(body), content_type="application/json", **headers)


@pytest.fixture
def held(article, fake_engine):
    """Two published comments of EMAIL (one typed the address, one by its verified commenter),
    one pending, and another reader's comment."""
    commenter = Commenter.objects.create(display_name="Ann", email=EMAIL)
    typed = services.submit_comment(article, "Ann", EMAIL.lower(), TEXT, ip="203.0.113.9")
    linked = services.submit_comment(article, "Ann", "", "Second comment, linked.", ip="::1")
    Authorship.objects.create(comment=linked, commenter=commenter)
    pending = services.submit_comment(article, "Ann", EMAIL, "hmm, a link to my shop")
    other = services.submit_comment(article, "Bob", "bob@example.org", "Bob agrees.")
    assert [c.status for c in (typed, linked, pending, other)] == [
        "approved",
        "approved",
        "pending",
        "approved",
    ]
    return {"typed": typed, "linked": linked, "pending": pending, "other": other}


def _latest(comment) -> Decision:
    return Decision.objects.filter(comment=comment).order_by("-id").first()


def _assert_withdrawn(comment, actor, client, article):
    decision = _latest(comment)
    assert decision.action == "reject" and decision.reasons == [AUTHOR_REQUEST]
    assert decision.actor_id == actor.pk
    assert Comment.objects.get(pk=comment.pk).body == comment.body  # the text never changes
    page = client.get(f"/api/v1/articles/{article.slug}/comments").json()
    assert comment.pk not in [c["id"] for c in page["comments"]]


# --- withdrawal on the moderator pages --------------------------------------------------------


@pytest.mark.django_db
def test_card_withdraws_an_approved_comment_through_change_decision(
    client, article, held, moderator_user
):
    comment = held["typed"]
    approval = _latest(comment)
    client.force_login(moderator_user)
    queue = client.get("/moderation/", {"status": "approved"}).content.decode()
    card = queue[queue.index(f'id="comment-{comment.pk}"') :]
    card = card[: card.index('<p class="conflict"')]
    assert 'class="decide withdraw-form"' in card
    assert f'action="/moderation/comments/{comment.pk}/change/"' in card
    assert 'name="reasons" value="author_request"' in card
    assert f'name="seen" value="{approval.pk}"' in card
    # The guideline checkboxes of the reject form do not offer it.
    assert card.count('value="author_request"') == 1
    assert client.get(f"/api/v1/articles/{article.slug}/comments").json()["count"] == 3

    form = {"action": "reject", "reasons": "author_request", "seen": approval.pk}
    answer = client.post(f"/moderation/comments/{comment.pk}/change/", form)
    assert answer.status_code == 302
    _assert_withdrawn(comment, moderator_user, client, article)
    # Posted again on the state it saw, it is a conflict: nothing more is recorded.
    again = client.post(
        f"/moderation/comments/{comment.pk}/change/", form, HTTP_ACCEPT="application/json"
    )
    assert again.status_code == 409
    assert Decision.objects.filter(comment=comment).count() == 2
    # Withdrawn: the card offers no second withdrawal, and its trail names the reason.
    queue = client.get("/moderation/", {"status": "rejected"}).content.decode()
    card = queue[queue.index(f'id="comment-{comment.pk}"') :]
    card = card[: card.index('<p class="conflict"')]
    assert "withdraw-form" not in card
    assert "Withdrawn at the author&#x27;s request" in card


@pytest.mark.django_db
def test_commenter_page_withdraws_a_comment(client, article, held, moderator_user):
    linked = held["linked"]
    commenter = Commenter.objects.get()
    client.force_login(moderator_user)
    page = client.get(f"/moderation/commenters/{commenter.pk}/").content.decode()
    assert f'action="/moderation/comments/{linked.pk}/change/"' in page
    assert f'name="seen" value="{_latest(linked).pk}"' in page
    answer = client.post(
        f"/moderation/comments/{linked.pk}/change/",
        {
            "action": "reject",
            "reasons": "author_request",
            "seen": _latest(linked).pk,
            "next": f"/moderation/commenters/{commenter.pk}/",
        },
    )
    assert answer.status_code == 302
    assert answer["Location"].startswith(f"/moderation/commenters/{commenter.pk}/")
    _assert_withdrawn(linked, moderator_user, client, article)
    page = client.get(f"/moderation/commenters/{commenter.pk}/").content.decode()
    assert f'action="/moderation/comments/{linked.pk}/change/"' not in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    "action, reasons",
    [("reject", ["author_request", "threat"]), ("approve", ["author_request"])],
)
def test_author_request_is_a_rejection_citing_it_alone(
    client, held, moderator_user, action, reasons
):
    comment = held["pending"]
    answer = post_json(
        client,
        f"/api/v1/moderation/comments/{comment.pk}/decision",
        {"action": action, "reasons": reasons, "seen_decision": None},
        moderator_user,
    )
    assert answer.status_code == 400, answer.content
    assert answer.json()["field"] == "reasons"
    assert not Decision.objects.filter(comment=comment).exists()


@pytest.mark.django_db
def test_api_change_decision_withdraws_an_approved_comment(client, article, held, moderator_user):
    comment = held["typed"]
    answer = post_json(
        client,
        f"/api/v1/moderation/comments/{comment.pk}/decision/change",
        {"action": "reject", "reasons": ["author_request"], "seen_decision": _latest(comment).pk},
        moderator_user,
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["reasons"] == ["author_request"] and answer.json()["status"] == "rejected"
    _assert_withdrawn(comment, moderator_user, client, article)


# --- what a withdrawal is not ---------------------------------------------------------------


@pytest.mark.django_db
def test_a_withdrawal_is_no_rejection_of_the_commenter(article, held, moderator_user):
    """Standing: a withdrawn comment does not put its commenter on watch. Learning: the
    approval before it stays the comment's example. Mail: no 'rejected' mail."""
    from civility.web.commenters.models import NoticeRequest

    NoticeRequest.objects.create(comment=held["linked"], language="en")
    linked = Comment.objects.get(pk=held["linked"].pk)  # not the fresh post's opt-out
    newer = services.submit_comment(article, "Ann", "", "Third comment.")
    Authorship.objects.create(comment=newer, commenter=Commenter.objects.get())
    services.record_decision(held["typed"], "approve", [], moderator_user, change=True)
    services.record_decision(linked, "approve", [], moderator_user, change=True)
    services.record_decision(linked, "reject", [AUTHOR_REQUEST], moderator_user, change=True)
    assert standings([newer.pk])[newer.pk].days_since_rejection is None
    examples = {e.key: e for e in human_examples()}
    assert examples[str(linked.pk)].decision == "approve"
    assert list(OutgoingMail.objects.values_list("kind", flat=True)) == ["approved"]
    # A rejection for a guideline does count (the test would pass vacuously otherwise).
    services.record_decision(linked, "reject", ["threat"], moderator_user, change=True)
    assert standings([newer.pk])[newer.pk].days_since_rejection is not None
    assert {e.key: e for e in human_examples()}[str(linked.pk)].decision == "reject"


# --- the command line -------------------------------------------------------------------------


@pytest.mark.django_db
def test_cli_withdraw_rejects_every_comment_not_rejected_yet(client, article, held, moderator_user):
    out = io.StringIO()
    call_command("commenter", "withdraw", EMAIL.upper(), "--by", "mod", stdout=out)
    assert "Withdrawn: 3 comment(s)" in out.getvalue()
    for key in ("typed", "linked", "pending"):
        _assert_withdrawn(held[key], moderator_user, client, article)
    assert _latest(held["other"]).action == "approve"
    assert Comment.objects.get(pk=held["typed"].pk).author_email == EMAIL.lower()  # not erased
    row = PrivacyRequest.objects.get()
    assert (row.kind, row.channel, row.actor_id) == ("withdraw", "cli", moderator_user.pk)
    assert row.counts == {"withdrawn": 3} and row.address_key == address_key(EMAIL)
    # Again: nothing left to withdraw.
    call_command("commenter", "withdraw", EMAIL, "--by", "mod", stdout=io.StringIO())
    assert PrivacyRequest.objects.order_by("id").last().counts == {"withdrawn": 0}


@pytest.mark.django_db
def test_cli_withdrawal_needs_a_moderator(held, moderator_user):
    reader = User.objects.create_user("reader", "r@example.org", "a-long-test-password")
    for args in (
        ("erase", EMAIL, "--withdraw"),
        ("withdraw", EMAIL, "--by", "nobody"),
        ("withdraw", EMAIL, "--by", reader.username),
    ):
        with pytest.raises(CommandError):
            call_command("commenter", *args, stdout=io.StringIO())
    assert not Decision.objects.filter(reasons__icontains="author_request").exists()
    assert Comment.objects.filter(author_email__iexact=EMAIL).count() == 2  # nothing erased
    assert not PrivacyRequest.objects.exists()


@pytest.mark.django_db
def test_cli_erase_with_withdraw_and_its_trail(client, article, held, moderator_user):
    out = io.StringIO()
    call_command("commenter", "erase", EMAIL, "--withdraw", "--by", "mod", stdout=out)
    assert "3 comment(s)" in out.getvalue() and "Withdrawn: 3" in out.getvalue()
    for key in ("typed", "linked", "pending"):
        _assert_withdrawn(held[key], moderator_user, client, article)
    row = PrivacyRequest.objects.get()
    assert (row.kind, row.channel, row.actor_id) == ("erase", "cli", moderator_user.pk)
    assert row.counts == {"commenters": 1, "comments": 3, "withdrawn": 3}


# --- the API ----------------------------------------------------------------------------------


def _without_time(data: dict) -> dict:
    return {k: v for k, v in data.items() if k != "exported"}


@pytest.mark.django_db
def test_api_export_is_the_cli_export(client, held, privacy_officer):
    answer = post_json(client, EXPORT, {"email": EMAIL.lower()}, privacy_officer)
    assert answer.status_code == 200, answer.content
    out = io.StringIO()
    call_command("commenter", "export", EMAIL.lower(), stdout=out)
    assert _without_time(answer.json()) == _without_time(json.loads(out.getvalue()))
    assert len(answer.json()["comments"]) == 3
    assert TEXT in [c["text"] for c in answer.json()["comments"]]
    api_row, cli_row = PrivacyRequest.objects.order_by("id")
    assert (api_row.kind, api_row.channel, api_row.actor_id) == (
        "export",
        "api",
        privacy_officer.pk,
    )
    assert (cli_row.channel, cli_row.actor_id) == ("cli", None)
    assert api_row.counts == {"commenters": 1, "comments": 3}


@pytest.mark.django_db
def test_api_erase_leaves_the_address_nowhere_in_the_database(
    client, article, held, privacy_officer
):
    texts = sorted(Comment.objects.values_list("body", flat=True))
    answer = post_json(client, ERASE, {"email": EMAIL, "withdraw": True}, privacy_officer)
    assert answer.status_code == 200, answer.content
    assert answer.json() == {"commenters": 1, "comments": 3, "withdrawn": 3}
    for key in ("typed", "linked", "pending"):
        _assert_withdrawn(held[key], privacy_officer, client, article)
    post_json(client, EXPORT, {"email": EMAIL}, privacy_officer)  # recorded too

    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    everything = dump.getvalue().lower()
    assert EMAIL.lower() not in everything
    assert "withdraw.me" not in everything
    assert sorted(Comment.objects.values_list("body", flat=True)) == texts  # texts unchanged
    kinds = list(PrivacyRequest.objects.order_by("id").values_list("kind", "channel"))
    assert kinds == [("erase", "api"), ("export", "api")]
    assert set(PrivacyRequest.objects.values_list("address_key", flat=True)) == {address_key(EMAIL)}
    assert f'"address_key": "{address_key(EMAIL)}"' in dump.getvalue()  # the trail is dumped


@pytest.mark.django_db
def test_api_withdraw(client, article, held, privacy_officer):
    answer = post_json(client, WITHDRAW, {"email": EMAIL}, privacy_officer)
    assert answer.status_code == 200, answer.content
    assert answer.json() == {"withdrawn": 3}
    _assert_withdrawn(held["typed"], privacy_officer, client, article)
    assert Comment.objects.get(pk=held["typed"].pk).author_email == EMAIL.lower()


@pytest.mark.django_db
@pytest.mark.parametrize("path", [EXPORT, ERASE, WITHDRAW])
def test_api_refusals(client, held, moderator_user, path):
    assert post_json(client, path, {"email": EMAIL}).status_code == 401
    refused = post_json(client, path, {"email": EMAIL}, moderator_user)  # a moderator only
    assert refused.status_code == 403
    assert "personal data" in refused.json()["error"]
    staff = User.objects.create_user("cms", "cms@example.org", "x", is_staff=True)
    assert post_json(client, path, {"email": EMAIL}, staff).status_code == 403
    officer = _grant(moderator_user)
    for bad in ({"email": "not an address"}, {}, {"email": EMAIL, "withdraw": "yes"}):
        if path != ERASE and "withdraw" in bad:
            continue
        assert post_json(client, path, bad, officer).status_code == 400
    assert Comment.objects.filter(author_email__iexact=EMAIL).count() == 2
    assert not PrivacyRequest.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("body, path", [({"withdraw": True}, ERASE), ({}, WITHDRAW)])
def test_api_withdrawal_needs_a_moderator_too(client, held, body, path):
    """The personal-data permission alone may export and erase; withdrawing appends decisions,
    which only a moderator may: 403, and nothing is changed (not even the erasure)."""
    clerk = _grant(User.objects.create_user("clerk", "c@example.org", "x"))
    refused = post_json(client, path, {"email": EMAIL, **body}, clerk)
    assert refused.status_code == 403 and refused.json()["field"] == "withdraw"
    assert Comment.objects.filter(author_email__iexact=EMAIL).count() == 2
    assert not PrivacyRequest.objects.exists()
    assert post_json(client, ERASE, {"email": EMAIL}, clerk).json() == {
        "commenters": 1,
        "comments": 3,
        "withdrawn": None,
    }


# --- the trail --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_trail_is_append_only(held, privacy_officer):
    call_command("commenter", "export", EMAIL, stdout=io.StringIO())
    row = PrivacyRequest.objects.get()
    row.counts = {}
    with pytest.raises(AppendOnlyError):
        row.save()
    with pytest.raises(AppendOnlyError):
        row.delete()
    with pytest.raises(AppendOnlyError):
        PrivacyRequest.objects.update(kind="erase")
    for sql in (
        "UPDATE commenters_privacyrequest SET kind = 'erase'",
        "DELETE FROM commenters_privacyrequest",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    assert PrivacyRequest.objects.get().kind == "export"


@pytest.mark.django_db
def test_moderator_add_privacy_grants_the_permission():
    call_command("moderator", "add", "dpo", "--privacy", stdout=io.StringIO())
    call_command("moderator", "add", "plain", stdout=io.StringIO())
    assert User.objects.get(username="dpo").has_perm("commenters.handle_personal_data")
    assert not User.objects.get(username="plain").has_perm("commenters.handle_personal_data")


# --- what the author sees ---------------------------------------------------------------------


@pytest.mark.django_db
def test_a_withdrawn_comments_status_page_says_so_and_it_cannot_be_appealed(
    client, held, moderator_user
):
    from django.utils import translation

    comment = held["typed"]
    services.record_decision(comment, "reject", [AUTHOR_REQUEST], moderator_user)
    with translation.override("ar"):
        said = translation.gettext(
            "The newsroom withdrew your comment at your request. It is no longer shown under "
            "the article."
        )
        refusal = translation.gettext(
            "This comment was withdrawn at your request, so there is nothing to appeal."
        )
    assert said.startswith("سحبت")
    page = client.get(comment.get_status_url(), {"lang": "ar"}).content.decode()
    assert said in page and 'class="comment-form appeal-form"' not in page
    assert "does not follow these community guidelines" not in page
    appeal_url = f"/comments/status/{comment.status_token}/appeal/?lang=ar"
    refused = client.post(appeal_url, {"text": "Please publish it again."})
    assert refused.status_code == 409 and refusal in refused.content.decode()
    answer = post_json(
        client, "/api/v1/appeals", {"status_token": comment.status_token, "text": "Please."}
    )
    assert answer.status_code == 409 and "withdrawn" in answer.json()["error"]
    from civility.web.comments.models import Appeal

    assert not Appeal.objects.exists()
