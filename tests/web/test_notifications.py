"""Notifications by e-mail (issue 16, item 4): the commenter's opt-in, the approval, rejection
and reply mails in the page's language, the signed unsubscribe link, sending after commit or
by a worker, a mail server that is down, and the moderators' digest."""

from __future__ import annotations

import email
import re
import smtplib
from datetime import UTC, datetime, timedelta
from email import policy
from urllib.parse import unquote

import pytest
from celery.exceptions import Retry
from django.contrib.auth.models import User
from django.core import mail, signing
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import call_command
from django.test import Client
from django.utils import timezone, translation
from django.utils.translation import gettext

from civility.web import workers
from civility.web.articles.models import Article
from civility.web.commenters import identity, notifications, tasks
from civility.web.commenters.models import NoticeRequest, OutgoingMail, Unsubscribed
from civility.web.comments import services
from civility.web.comments.models import Comment
from civility.web.moderation import digest
from civility.web.moderation.models import ModeratorProfile
from civility.web.settings import digest_schedule

EMAIL = "reader@example.org"
UNSUBSCRIBE = re.compile(r"https?://\S+/commenters/unsubscribe/\?\S+")
LANGUAGES = ("en", "ar", "fa", "tr", "ckb", "kmr")
RTL = {"ar", "fa", "ckb"}


class DownBackend(BaseEmailBackend):
    """A mail server that refuses every connection."""

    def send_messages(self, messages):
        raise ConnectionRefusedError(111, "Connection refused")


class SMTPErrorBackend(BaseEmailBackend):
    def send_messages(self, messages):
        raise smtplib.SMTPServerDisconnected("the server went away")


@pytest.fixture(autouse=True)
def _no_broker_and_a_fresh_server(settings):
    settings.CELERY_BROKER_URL = ""
    settings.CIVILITY_SITE_URL = ""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    notifications.reset()
    yield
    notifications.reset()


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run what follows commit (the mails), as production does."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def notices():
    """The notification mails sent (not the sign-in links)."""
    return [m for m in mail.outbox if "/commenters/verify/" not in m.body]


def post_form(client, article, *, text="hmm, a fair point", lang="en", notify=True, **more):
    data = {"author": "Ann", "email": EMAIL, "text": text, **more}
    if notify:
        data["notify"] = "1"
    return client.post(f"/articles/{article.slug}/comments/?lang={lang}", data)


def approve(comment, moderator):
    return services.record_decision(comment, "approve", actor=moderator)


def html_of(message) -> str:
    (html, kind), *_ = message.alternatives
    assert kind == "text/html"
    return html


# -- the opt-in ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_form_shows_the_box_and_records_the_opt_in_with_the_page_language(
    client, article, fake_engine, commit
):
    page = client.get(f"/articles/{article.slug}/?lang=tr")
    assert 'name="notify"' in page.content.decode()
    with commit():
        post_form(client, article, lang="tr")
    notice = NoticeRequest.objects.get()
    assert notice.language == "tr"
    assert notice.origin == "http://testserver"


@pytest.mark.django_db
def test_no_mail_without_the_opt_in(client, article, fake_engine, moderator_user, commit):
    with commit():
        post_form(client, article, notify=False)
        approve(Comment.objects.get(), moderator_user)
    assert not NoticeRequest.objects.exists() and not OutgoingMail.objects.exists()
    assert notices() == []
    assert len(mail.outbox) == 1  # the sign-in link only


@pytest.mark.django_db
def test_the_opt_in_needs_an_address(client, article, fake_engine):
    response = post_form(client, article, lang="tr", email="")
    assert response.status_code == 400
    with translation.override("tr"):
        expected = gettext("To be told by e-mail, give your e-mail address.")
    assert expected != "To be told by e-mail, give your e-mail address."
    assert expected in response.content.decode()
    assert not Comment.objects.exists()


@pytest.mark.django_db
def test_the_api_takes_notify_and_the_schema_documents_it(client, article, fake_engine):
    url = f"/api/v1/articles/{article.slug}/comments"
    body = {"author": "Ann", "email": EMAIL, "text": "hmm, a point", "lang": "fa", "notify": True}
    response = client.post(url, body, content_type="application/json")
    assert response.status_code == 201, response.content
    assert NoticeRequest.objects.get(comment_id=response.json()["id"]).language == "fa"
    missing = client.post(
        url, {"author": "Ann", "text": "hmm", "notify": True}, content_type="application/json"
    )
    assert missing.status_code == 400 and missing.json()["field"] == "notify"
    schema = client.get("/api/v1/openapi.json").json()
    props = schema["components"]["schemas"]["CommentIn"]["properties"]
    assert props["notify"]["type"] == "boolean" and "unsubscribe" in props["notify"]["description"]


# -- the mails ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_moderators_approval_mails_a_link_to_the_comment_after_commit(
    client, article, fake_engine, moderator_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post_form(client, article)
    comment = Comment.objects.get()
    with django_capture_on_commit_callbacks() as callbacks:
        approve(comment, moderator_user)
    assert notices() == []  # nothing leaves before the commit
    assert OutgoingMail.objects.get().status == OutgoingMail.PENDING
    for callback in callbacks:
        callback()
    (message,) = notices()
    assert message.to == [EMAIL]
    assert message.subject == "Your comment was published"
    link = f"http://testserver/articles/{article.slug}/?lang=en#comment-{comment.pk}"
    assert link in message.body and link.replace("&", "&amp;") in html_of(message)
    assert article.title in message.body
    assert comment.body not in message.body  # never the text
    unsubscribe = UNSUBSCRIBE.search(message.body).group(0)
    assert message.extra_headers["List-Unsubscribe"] == f"<{unsubscribe}>"
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert OutgoingMail.objects.get().status == OutgoingMail.SENT


@pytest.mark.django_db
def test_an_automatic_approval_in_the_posting_request_mails_too(
    client, article, fake_engine, commit
):
    with commit():
        post_form(client, article, text="A fair point about the talks.")
    (message,) = notices()
    assert message.subject == "Your comment was published"


@pytest.mark.django_db
def test_a_rejection_names_the_guideline_in_plain_words_and_links_the_status_page(
    client, article, fake_engine, moderator_user, commit
):
    with commit():
        post_form(client, article, text="hmm, you idiot")  # rejected by the policy at once
    comment = Comment.objects.get()
    (message,) = notices()
    assert message.subject == "Your comment was not published"
    assert "Argue with ideas, not people" in message.body
    assert "Insults and name-calling" in message.body
    assert f"http://testserver{comment.get_status_url()}?lang=en" in message.body
    assert "idiot" not in message.body and "idiot" not in html_of(message)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.django_db
def test_every_mail_is_in_the_page_language(
    client, article, fake_engine, moderator_user, commit, language
):
    with commit():
        post_form(client, article, lang=language)
        approve(Comment.objects.get(), moderator_user)
        other = Client()
        other.post(
            f"/articles/{article.slug}/comments/?lang={language}",
            {"author": "Bo", "email": "bo@example.org", "text": "hmm, fair", "notify": "1"},
        )
        services.record_decision(
            Comment.objects.get(author_name="Bo"),
            "reject",
            reasons=["promotion"],
            actor=moderator_user,
        )
    approved, rejected = notices()
    with translation.override(language):
        subjects = [
            gettext("Your comment was published"),
            gettext("Your comment was not published"),
        ]
        guideline = gettext("No advertising or self-promotion")
        footer = gettext("To stop these e-mails, open this link:")
    if language != "en":
        assert (
            subjects[0] != "Your comment was published"
            and footer != "To stop these e-mails, open this link:"
        )
    assert [approved.subject, rejected.subject] == subjects
    assert guideline in rejected.body and footer in approved.body
    direction = "rtl" if language in RTL else "ltr"
    assert f'<html lang="{language}" dir="{direction}">' in html_of(approved)


@pytest.mark.django_db
def test_an_approved_reply_tells_the_author_of_the_comment_it_answers(
    client, article, fake_engine, moderator_user, commit
):
    with commit():
        post_form(client, article, text="A fair point about the talks.", lang="ar")
    parent = Comment.objects.get()
    mail.outbox.clear()
    with commit():
        reply = services.submit_comment(
            article, "<b>Bo</b>", "bo@example.org", "hmm, I disagree", parent=parent
        )
        approve(reply, moderator_user)
    (message,) = notices()
    assert message.to == [EMAIL]
    with translation.override("ar"):
        assert message.subject == gettext("Someone replied to your comment")
    assert f"#comment-{reply.pk}" in message.body and "<b>Bo</b>" in message.body
    assert "&lt;b&gt;Bo&lt;/b&gt;" in html_of(message) and "<b>Bo</b>" not in html_of(message)
    assert "I disagree" not in message.body


@pytest.mark.django_db
def test_no_reply_mail_for_a_reply_to_oneself_nor_to_a_comment_that_did_not_opt_in(
    client, article, fake_engine, moderator_user, commit
):
    with commit():
        post_form(client, article, text="A fair point about the talks.")
        post_form(Client(), article, text="Another fair point.", notify=False)
    mine, silent = Comment.objects.order_by("id")
    mail.outbox.clear()
    with commit():
        own = services.submit_comment(article, "Ann", EMAIL, "hmm, and more", parent=mine)
        other = services.submit_comment(article, "Bo", "bo@x.org", "hmm, yes", parent=silent)
        approve(own, moderator_user)
        approve(other, moderator_user)
    assert notices() == []
    assert OutgoingMail.objects.get(kind="reply").status == OutgoingMail.SKIPPED


@pytest.mark.django_db
def test_one_mail_per_outcome_even_when_the_decision_changes_back(
    client, article, fake_engine, moderator_user, commit
):
    with commit():
        post_form(client, article)
        comment = Comment.objects.get()
        first = approve(comment, moderator_user)
        second = services.record_decision(
            comment, "reject", ["other"], moderator_user, seen=first.pk, change=True
        )
        services.record_decision(
            comment, "approve", [], moderator_user, seen=second.pk, change=True
        )
    assert [m.subject for m in notices()] == [
        "Your comment was published",
        "Your comment was not published",
    ]


@pytest.mark.django_db
def test_an_erased_commenter_gets_nothing(client, article, fake_engine, moderator_user, commit):
    from civility.web.comments import privacy

    with commit():
        post_form(client, article)
    privacy.erase(EMAIL)
    with commit():
        approve(Comment.objects.get(), moderator_user)
    assert notices() == []
    assert OutgoingMail.objects.get().status == OutgoingMail.SKIPPED


@pytest.mark.django_db
def test_an_unknown_kind_is_refused(article, post):
    with pytest.raises(ValueError, match="no template"):
        notifications.notify(post(), "no_such_kind", opted_in_only=False)


# -- unsubscribing ------------------------------------------------------------------------------


@pytest.fixture
def mailed(client, article, fake_engine, commit):
    """A comment approved at once, its mail sent: the mail's unsubscribe link."""
    with commit():
        post_form(client, article, text="A fair point about the talks.", lang="fa")
    (message,) = notices()
    mail.outbox.clear()
    return UNSUBSCRIBE.search(message.body).group(0)


@pytest.mark.django_db
def test_the_unsubscribe_link_confirms_then_stops_all_further_mail(
    client, article, mailed, moderator_user, commit
):
    page = Client().get(mailed)  # a GET (a mail scanner) unsubscribes nobody
    assert page.status_code == 200 and not Unsubscribed.objects.exists()
    assert page["Content-Language"] == "fa"
    assert 'dir="rtl"' in page.content.decode()
    done = Client(enforce_csrf_checks=True).post(mailed, {"token": page.context["token"]})
    assert done.status_code == 200 and done.context["done"]
    assert Unsubscribed.objects.get().key == identity.address_key(EMAIL)
    assert EMAIL not in str(list(Unsubscribed.objects.values()))  # a keyed hash only
    with commit():
        post_form(client, article)  # the same address opts in again: still nothing
        approve(Comment.objects.order_by("-id")[0], moderator_user)
    assert notices() == []
    assert OutgoingMail.objects.order_by("-id")[0].status == OutgoingMail.SKIPPED


@pytest.mark.django_db
def test_one_click_unsubscribe_posts_to_the_link_itself(mailed):
    response = Client(enforce_csrf_checks=True).post(
        mailed, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    assert Unsubscribed.objects.filter(key=identity.address_key(EMAIL)).exists()


@pytest.mark.django_db
def test_a_tampered_or_foreign_token_unsubscribes_nobody(mailed):
    token = unquote(re.search(r"token=([^&]+)", mailed).group(1))
    forged = signing.dumps({"a": identity.address_key("victim@example.org")}, salt="other")
    sign_in = identity.sign_in_token("victim@example.org", "V", None)  # another salt
    for bad in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), forged, sign_in, ""):
        response = Client().post("/commenters/unsubscribe/", {"token": bad})
        assert response.status_code == 400, bad
    assert not Unsubscribed.objects.exists()


@pytest.mark.django_db
def test_an_expired_unsubscribe_link_is_refused(mailed, settings, monkeypatch):
    token = unquote(re.search(r"token=([^&]+)", mailed).group(1))
    later = timezone.now().timestamp() + settings.CIVILITY_UNSUBSCRIBE_MAX_AGE + 10
    monkeypatch.setattr(signing.time, "time", lambda: later)
    response = Client().post("/commenters/unsubscribe/", {"token": token})
    assert response.status_code == 400
    assert "expired" in response.context["error"]
    assert not Unsubscribed.objects.exists()


# -- sending: after commit here, or by a worker; the mail server down ------------------------------


@pytest.mark.django_db
def test_with_a_broker_the_mail_goes_to_a_worker_and_not_from_the_request(
    client, article, fake_engine, moderator_user, commit, settings, monkeypatch
):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/15"
    sent = []
    monkeypatch.setattr(
        workers.app, "send_task", lambda name, args, **kw: sent.append((name, args))
    )
    with commit():
        post_form(client, article, notify=True)
        approve(Comment.objects.get(), moderator_user)
    row = OutgoingMail.objects.get()
    assert sent == [(notifications.SEND_TASK, [row.pk])]
    assert notices() == []  # not sent in the request
    tasks.send_mail.apply(args=[row.pk])  # what the worker runs
    (message,) = notices()
    assert message.subject == "Your comment was published"
    row.refresh_from_db()
    assert row.status == OutgoingMail.SENT and row.attempts == 1


@pytest.fixture
def opted_in(post):
    """A pending comment that asked for mails."""
    comment = post("hmm, fine", email=EMAIL)
    NoticeRequest.objects.create(comment=comment, language="en")
    return comment


@pytest.fixture
def refused_mail(opted_in, settings):
    """Its approval mail queued, and a mail server that refuses every connection."""
    settings.EMAIL_BACKEND = f"{__name__}.DownBackend"
    return notifications.notify(opted_in, "approved")


@pytest.mark.django_db
def test_the_worker_retries_a_mail_the_server_refused(refused_mail, settings, monkeypatch):
    row = refused_mail
    retried = []

    def retry(*args, countdown=None, **kwargs):
        retried.append(countdown)
        raise Retry()

    monkeypatch.setattr(tasks.send_mail, "retry", retry)
    with pytest.raises(Retry):
        tasks.send_mail.run(row.pk)
    assert retried == [settings.CIVILITY_MAIL_RETRY_BASE]
    row.refresh_from_db()
    assert row.status == OutgoingMail.PENDING and row.attempts == 1
    assert "ConnectionRefusedError" in row.last_error
    assert row.next_attempt > timezone.now()


@pytest.mark.parametrize("backend", ["DownBackend", "SMTPErrorBackend"])
@pytest.mark.django_db
def test_a_mail_server_that_is_down_loses_no_decision_and_the_mail_follows_later(
    client, article, fake_engine, moderator_user, commit, settings, backend
):
    with commit():
        post_form(client, article)
    comment = Comment.objects.get()
    settings.EMAIL_BACKEND = f"{__name__}.{backend}"
    moderator = Client()
    moderator.force_login(moderator_user)
    with commit():
        response = moderator.post(
            f"/moderation/comments/{comment.pk}/decide/", {"action": "approve"}
        )
    assert response.status_code in (200, 302)
    assert comment.status == "approved"  # the decision stands
    row = OutgoingMail.objects.get()
    assert row.status == OutgoingMail.PENDING and row.attempts == 1
    # The server is back; the retry is due: the next mail of this process takes it along.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    OutgoingMail.objects.filter(pk=row.pk).update(next_attempt=timezone.now())
    notifications.reset()
    assert notifications.send_pending() == (1, 0)
    (message,) = notices()
    assert message.subject == "Your comment was published"


@pytest.mark.django_db
def test_after_a_failure_the_process_leaves_the_server_alone_until_the_backoff(
    article, post, settings
):
    comments = [post(f"hmm, number {n}", email=EMAIL) for n in range(3)]
    rows = []
    for comment in comments:
        NoticeRequest.objects.create(comment=comment, language="en")
        rows.append(notifications.notify(comment, "approved"))
    settings.EMAIL_BACKEND = f"{__name__}.DownBackend"
    assert notifications.send_here([r.pk for r in rows]) == 0
    attempts = sorted(OutgoingMail.objects.values_list("attempts", flat=True))
    assert attempts == [0, 0, 1]  # the first failure stopped the others
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert notifications.send_here([rows[1].pk]) == 0  # within the backoff: not even tried
    assert notices() == []


@pytest.mark.django_db
def test_a_mail_is_given_up_after_the_last_attempt(refused_mail, settings):
    row = refused_mail
    settings.CIVILITY_MAIL_MAX_ATTEMPTS = 2
    assert notifications.attempt(row.pk) == settings.CIVILITY_MAIL_RETRY_BASE
    assert notifications.attempt(row.pk) is None  # not due yet: not taken
    OutgoingMail.objects.filter(pk=row.pk).update(next_attempt=timezone.now())
    assert notifications.attempt(row.pk) is None
    row.refresh_from_db()
    assert row.status == OutgoingMail.FAILED and row.attempts == 2


@pytest.mark.django_db
def test_the_sweeper_sends_again_a_mail_whose_message_was_lost(
    opted_in, settings, monkeypatch, commit
):
    settings.CIVILITY_SWEEP_AFTER = 60
    lost = notifications.notify(opted_in, "approved")
    fresh = notifications.notify(opted_in, "rejected")
    OutgoingMail.objects.filter(pk=lost.pk).update(
        next_attempt=timezone.now() - timedelta(minutes=5)
    )
    sent = []
    monkeypatch.setattr(notifications, "dispatch", lambda ids: sent.extend(ids))
    with commit():
        assert notifications.sweep() == 1
    assert sent == [lost.pk] and fresh.pk not in sent


# -- the moderators' digest ---------------------------------------------------------------------


@pytest.fixture
def old_pending(article, post):
    comment = post("hmm, waiting")
    Comment.objects.filter(pk=comment.pk).update(created=timezone.now() - timedelta(minutes=45))
    return comment


@pytest.mark.django_db
def test_the_digest_goes_to_moderators_in_their_language_once_per_period(
    old_pending, moderator_user, settings, commit
):
    settings.CIVILITY_DIGEST_AGE_MINUTES = 30
    settings.CIVILITY_DIGEST_EVERY_MINUTES = 60
    arabic = User.objects.create_user("amal", "amal@example.org", "a-long-test-password")
    arabic.groups.add(services.moderators_group())
    ModeratorProfile.objects.create(user=arabic, language="ar")
    User.objects.create_user("reader", "reader2@example.org", "pw-for-a-reader")  # no permission
    with commit():
        assert digest.send_digest() == 2
    by_address = {m.to[0]: m for m in mail.outbox}
    assert set(by_address) == {"mod@example.org", "amal@example.org"}
    assert by_address["mod@example.org"].subject == "Comments are waiting for moderation"
    assert "Comments waiting for moderation: 1." in by_address["mod@example.org"].body
    assert "/moderation/" in by_address["mod@example.org"].body
    with translation.override("ar"):
        assert by_address["amal@example.org"].subject == gettext(
            "Comments are waiting for moderation"
        )
    assert 'dir="rtl"' in html_of(by_address["amal@example.org"])
    assert "List-Unsubscribe" not in by_address["mod@example.org"].extra_headers
    with commit():
        assert digest.send_digest() == 0  # once per period
        later = timezone.now() + timedelta(minutes=61)
        assert digest.send_digest(now=later) == 2


@pytest.mark.django_db
def test_no_digest_while_the_oldest_comment_is_younger_or_when_off(
    article, post, moderator_user, settings
):
    post("hmm, fresh")
    settings.CIVILITY_DIGEST_AGE_MINUTES = 30
    assert digest.send_digest() == 0
    settings.CIVILITY_DIGEST_AGE_MINUTES = 0
    assert digest.send_digest(now=timezone.now() + timedelta(hours=2)) == 0
    assert not OutgoingMail.objects.exists()


@pytest.mark.django_db
def test_the_digest_command_and_its_recipients_setting(old_pending, settings, capsys):
    settings.CIVILITY_DIGEST_TO = ["desk@example.org"]
    call_command("notifications", "digest", "--age", "30")
    out = capsys.readouterr().out
    assert "Digest: 1 mail(s) queued." in out and "Mails: 1 done, 0 pending." in out
    (message,) = mail.outbox
    assert message.to == ["desk@example.org"]


def test_the_digest_is_scheduled_on_beat_only_when_an_age_is_set():
    assert digest_schedule({}) == {}
    assert digest_schedule({"CIVILITY_DIGEST_AGE_MINUTES": "0"}) == {}
    schedule = digest_schedule(
        {"CIVILITY_DIGEST_AGE_MINUTES": "30", "CIVILITY_DIGEST_CHECK_MINUTES": "2"}
    )
    assert schedule == {"civility-digest": {"task": "civility.digest", "schedule": 120.0}}
    with pytest.raises(ValueError, match="CIVILITY_DIGEST_AGE_MINUTES"):
        digest_schedule({"CIVILITY_DIGEST_AGE_MINUTES": "soon"})


@pytest.mark.django_db
def test_a_comment_of_another_article_language_without_opt_in_row_uses_the_article(
    fake_engine, settings
):
    article = Article.objects.create(slug="tr-1", title="Başlık", body="Metin", language="tr")
    comment = services.submit_comment(article, "Ayşe", "a@example.org", "hmm, tamam")
    row = notifications.notify(comment, "approved", opted_in_only=False)
    assert row.language == "tr"
    assert notifications.notify(comment, "approved", opted_in_only=False) is None  # once


@pytest.mark.django_db
def test_a_new_window_does_not_bring_a_second_digest_within_the_period(
    old_pending, moderator_user, settings, commit
):
    settings.CIVILITY_DIGEST_AGE_MINUTES = 30
    settings.CIVILITY_DIGEST_EVERY_MINUTES = 60
    period = 3600
    boundary = (int(timezone.now().timestamp()) // period + 1) * period
    before = datetime.fromtimestamp(boundary - 60, tz=UTC)
    with commit():
        assert digest.send_digest(now=before) == 1
    OutgoingMail.objects.update(created=before)
    after = before + timedelta(minutes=2)  # the next window, two minutes later
    assert digest.send_digest(now=after) == 0
    assert digest.send_digest(now=before + timedelta(minutes=61)) == 1


# -- the embed, a signed-on commenter, Redis down ---------------------------------------------


@pytest.mark.django_db
def test_the_embed_form_opts_in_too(article, fake_engine, moderator_user, commit):
    reader = Client(enforce_csrf_checks=True)
    page = reader.get(f"/embed/{article.slug}/?lang=ar").content.decode()
    assert 'name="notify"' in page
    token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
    reader.cookies.clear()  # a frame on the publisher's site sends no cookie
    with commit():
        response = reader.post(
            f"/embed/{article.slug}/comments/?lang=ar",
            {
                "author": "Ann",
                "email": EMAIL,
                "text": "hmm, ok",
                "notify": "1",
                "form_token": token,
            },
            HTTP_ORIGIN="http://testserver",
        )
        assert response.status_code == 302
        approve(Comment.objects.get(), moderator_user)
    (message,) = notices()
    with translation.override("ar"):
        assert message.subject == gettext("Your comment was published")


@pytest.mark.django_db
def test_a_signed_on_commenter_without_a_typed_address_is_mailed_at_the_verified_one(
    article, fake_engine, moderator_user, commit
):
    from civility.web.commenters.models import Commenter

    commenter = Commenter.objects.create(display_name="Dana", email="dana@example.org")
    with commit():
        comment = services.submit_comment(
            article, "Dana", "", "hmm, a point", commenter=commenter, notify_in="kmr"
        )
        approve(comment, moderator_user)
    (message,) = notices()
    assert message.to == ["dana@example.org"]
    with translation.override("kmr"):
        assert message.subject == gettext("Your comment was published")


@pytest.mark.django_db
def test_redis_down_loses_no_decision_and_the_sweeper_sends_the_mail_later(
    client, article, fake_engine, moderator_user, commit, settings, monkeypatch
):
    from kombu.exceptions import OperationalError

    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"

    def down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:1. Connection refused.")

    monkeypatch.setattr(workers.app, "send_task", down)
    with commit():
        post_form(client, article)
        decision = approve(Comment.objects.get(), moderator_user)
    assert decision.pk and Comment.objects.get().status == "approved"
    row = OutgoingMail.objects.get()
    assert row.status == OutgoingMail.PENDING and row.attempts == 0
    sent = []
    monkeypatch.setattr(workers.app, "send_task", lambda name, args, **kw: sent.append(args))
    OutgoingMail.objects.update(next_attempt=timezone.now() - timedelta(minutes=5))
    with commit():
        assert notifications.sweep() == 1  # Redis is back: the workers' sweeper
    assert sent == [[row.pk]]


@pytest.mark.django_db
def test_without_email_url_the_mail_is_printed_as_in_the_demo(
    client, article, fake_engine, commit, settings, capsys
):
    from civility.web.commenters.email_url import email_settings

    settings.EMAIL_BACKEND = email_settings("")["EMAIL_BACKEND"]  # what `civility demo` runs with
    with commit():
        post_form(client, article, text="A fair point about the talks.", lang="tr")
    printed = capsys.readouterr().out
    message = email.message_from_string(printed.split("-" * 79)[0], policy=policy.default)
    with translation.override("tr"):
        assert message["Subject"] == gettext("Your comment was published")
        assert gettext("See it here:") in printed
    assert f"#comment-{Comment.objects.get().pk}" in printed
    assert OutgoingMail.objects.get().status == OutgoingMail.SENT


@pytest.mark.django_db
def test_the_export_says_which_comments_asked_for_mails_and_what_was_sent(
    client, article, fake_engine, commit
):
    from civility.web.comments import privacy

    with commit():
        post_form(client, article, text="A fair point about the talks.", lang="ckb")
        post_form(client, article, text="Another fair point.", notify=False)
    asked, silent = Comment.objects.order_by("id")
    data = privacy.export(EMAIL)
    by_id = {c["id"]: c for c in data["comments"]}
    assert by_id[asked.pk]["notifications"]["language"] == "ckb"
    (sent,) = by_id[asked.pk]["notifications"]["mails"]
    assert (sent["kind"], sent["status"]) == ("approved", "sent") and sent["sent"]
    assert by_id[silent.pk]["notifications"] is None
    assert data["unsubscribed_from_notifications"] is False
    Unsubscribed.objects.create(key=identity.address_key(EMAIL.upper()))
    assert privacy.export(EMAIL)["unsubscribed_from_notifications"] is True


@pytest.mark.django_db
def test_opt_ins_per_address_are_limited_and_the_comment_still_posts(
    client, article, fake_engine, settings, commit
):
    settings.CIVILITY_NOTIFY_OPT_INS = (2, 3600)
    with commit():
        for n in range(3):
            Client().post(
                f"/articles/{article.slug}/comments/",
                {"author": f"A{n}", "email": EMAIL, "text": f"Fair point {n}.", "notify": "1"},
            )
    assert Comment.objects.count() == 3
    assert NoticeRequest.objects.count() == 2
    assert len(notices()) == 2  # the third comment, approved at once, mails nobody


@pytest.mark.django_db
def test_the_admin_lists_the_outbox_read_only(admin_client, refused_mail):
    notifications.attempt(refused_mail.pk)
    page = admin_client.get("/admin/commenters/outgoingmail/")
    assert page.status_code == 200
    assert "ConnectionRefusedError" in page.content.decode()
    assert admin_client.get("/admin/commenters/outgoingmail/add/").status_code == 403


@pytest.mark.django_db
def test_a_mail_about_a_comment_that_did_not_opt_in_takes_its_links_origin_from_extra(
    article, fake_engine
):
    comment = services.submit_comment(article, "Ann", EMAIL, "hmm, a point")
    row = notifications.notify(
        comment, "approved", opted_in_only=False, extra={"origin": "https://comments.example"}
    )
    message = notifications.build(row)
    assert f"https://comments.example/articles/{article.slug}/?lang=en#comment-" in message.body
    assert UNSUBSCRIBE.search(message.body).group(0).startswith("https://comments.example/")


@pytest.mark.django_db
def test_an_overturned_appeals_approval_sends_no_second_published_mail(
    client, article, fake_engine, moderator_user, commit
):
    with commit():
        post_form(client, article, text="hmm, you idiot")  # rejected at once: one mail
        comment = Comment.objects.get()
        services.record_decision(
            comment,
            "approve",
            ["appeal_overturned"],
            moderator_user,
            seen=comment.latest_decision.pk,
            change=True,
            overturning_appeal=True,
        )
    assert [m.subject for m in notices()] == ["Your comment was not published"]
