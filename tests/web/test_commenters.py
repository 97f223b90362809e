"""Commenters (issue 16): the e-mail sign-in link, comments linked to a verified commenter,
their history on the queue card, suspensions and bans (page, API, append-only trail), and the
export / erase of a commenter's personal data."""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.utils import timezone

from civility.web.api.models import ApiToken
from civility.web.articles.models import Article
from civility.web.commenters import identity, sanctions
from civility.web.commenters.email_url import email_settings
from civility.web.commenters.models import (
    BAN,
    LIFT,
    SUSPEND,
    AppendOnlyError,
    Authorship,
    Commenter,
    Sanction,
)
from civility.web.comments import services
from civility.web.comments.models import Comment

EMAIL = "Reader.One@Example.org"
LINK = re.compile(r"https?://\S+/commenters/verify/\?\S+")


@pytest.fixture
def arabic_article(db):
    return Article.objects.create(
        slug="talks-ar", title="محادثات أمنية", body="التقى الوفدان في بغداد.", language="ar"
    )


def post_form(client, article, text="A fair point about the talks.", email=EMAIL, name="Ann"):
    return client.post(
        f"/articles/{article.slug}/comments/", {"author": name, "email": email, "text": text}
    )


def sign_in_link(message) -> str:
    return LINK.search(message.body).group(0)


def verify(client, link):
    """Open the mailed link (a page with a button) and press the button."""
    page = client.get(link)
    assert page.status_code == 200
    token = page.context["token"]
    return client.post(link, {"token": token})


@pytest.fixture(autouse=True)
def mail_at_once(request, monkeypatch):
    """The sign-in mail leaves after commit; tests run inside a transaction that never
    commits, so here it leaves at once (the first test checks the real timing)."""
    if "after_commit" not in request.fixturenames:
        monkeypatch.setattr(identity.transaction, "on_commit", lambda deliver: deliver())


@pytest.fixture
def verified(client, article, fake_engine):
    """A browser (client) verified as the commenter of EMAIL through the mailed link."""
    post_form(client, article, "My first comment.")
    verify(client, sign_in_link(mail.outbox[-1]))
    return Commenter.objects.get(email__iexact=EMAIL)


# --- the sign-in link ------------------------------------------------------------------------


@pytest.fixture
def after_commit(django_capture_on_commit_callbacks):
    """Mails leave after commit, as in production (see mail_at_once)."""
    return django_capture_on_commit_callbacks


@pytest.mark.django_db
def test_first_comment_with_an_email_mails_a_one_time_link(
    client, article, fake_engine, after_commit
):
    with after_commit() as callbacks:
        response = post_form(client, article, "My first comment.")
    assert response.status_code == 302
    assert mail.outbox == []  # not before the comment is committed
    for callback in callbacks:
        callback()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [EMAIL]
    link = sign_in_link(message)
    first = Comment.objects.get()
    assert not Authorship.objects.exists()  # nothing is linked before the link is followed

    page = client.get(link)  # a GET (a mail scanner) spends nothing
    assert page.status_code == 200
    assert not Commenter.objects.exists()
    done = client.post(link, {"token": page.context["token"]})
    assert done.status_code == 200 and done.context["done"]
    commenter = Commenter.objects.get()
    assert commenter.email == EMAIL and commenter.display_name == "Ann"
    assert client.session[identity.SESSION_KEY] == commenter.pk
    assert Authorship.objects.get(comment=first).commenter == commenter  # the first comment too

    again = Client().post(link, {"token": page.context["token"]})  # single use
    assert again.status_code == 400
    assert "used" in again.context["error"]


@pytest.mark.django_db
def test_later_comments_of_the_verified_browser_are_linked_and_unchanged(client, article, verified):
    text = "  A second thought, with <b>markup</b>.  "
    post_form(client, article, text, email="")
    comment = Comment.objects.latest("id")
    assert comment.authorship.commenter == verified
    assert comment.body == text.strip()
    assert len(mail.outbox) == 1  # a verified browser is not sent another link
    other = Client()
    post_form(other, article, "Someone else typing the same name.", email="", name="Ann")
    assert not Authorship.objects.filter(comment=Comment.objects.latest("id")).exists()


@pytest.mark.django_db
def test_the_link_is_signed_and_expires(client, article, fake_engine, settings):
    post_form(client, article)
    link = sign_in_link(mail.outbox[-1])
    token = re.search(r"token=([^&\s]+)", link).group(1)
    tampered = link.replace(token, token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    assert client.post(tampered, {"token": token[:-2] + "xx"}).status_code == 400
    settings.CIVILITY_SIGN_IN_MAX_AGE = -1
    expired = client.post(link, {"token": client.get(link).context["token"]})
    assert expired.status_code == 400
    assert "expired" in expired.context["error"]
    assert not Commenter.objects.exists()


@pytest.mark.django_db
def test_the_mail_is_in_the_page_language(client, arabic_article, fake_engine):
    post_form(client, arabic_article, "تعليق معقول عن المحادثات.")
    message = mail.outbox[-1]
    assert message.subject == "أكّد عنوان بريدك الإلكتروني لتتمكّن من التعليق"
    assert "lang=ar" in sign_in_link(message)
    page = client.get(sign_in_link(message))
    assert page["Content-Language"] == "ar"


@pytest.mark.django_db
def test_sign_in_mails_per_address_are_limited(client, article, fake_engine, settings):
    settings.CIVILITY_SIGN_IN_MAILS = (2, 3600)
    settings.CIVILITY_POST_LIMIT_PER_AUTHOR = (100, 60)
    for i in range(4):
        post_form(Client(), article, f"Point number {i}.")
    assert len(mail.outbox) == 2
    assert Comment.objects.count() == 4  # the comments themselves are all kept


# --- history on the queue card ---------------------------------------------------------------


@pytest.mark.django_db
def test_queue_card_shows_the_verified_history_by_guideline(
    client, article, verified, moderator_user
):
    post_form(client, article, "You idiot.", email="")  # rejected: personal attack
    post_form(client, article, "hmm, check my shop", email="")  # pending
    pending = Comment.objects.latest("id")
    moderator = Client()
    moderator.force_login(moderator_user)
    page = moderator.get("/moderation/")
    card = next(c for c in page.context["cards"] if c["comment"].pk == pending.pk)
    assert card["commenter"]["commenter"] == verified
    assert card["commenter"]["history"]["approved"] == 1
    assert card["commenter"]["history"]["rejected"] == 1
    assert [g["code"] for g in card["commenter"]["history"]["by_guideline"]] == ["personal_attack"]
    assert card["history"] == {"approved": 1, "rejected": 1}
    html = page.content.decode()
    assert f"/moderation/commenters/{verified.pk}/" in html
    assert "Personal attack 1" in html
    every = moderator.get(f"/moderation/commenters/{verified.pk}/")
    assert [c.body for c in every.context["comments"]] == [
        "hmm, check my shop",
        "You idiot.",
        "My first comment.",
    ]


@pytest.mark.django_db
def test_a_typed_email_does_not_borrow_someone_elses_history(post, moderator_user):
    regular = post("A fair point.", author="Regular", email="regular@example.org", ip="10.0.0.1")
    services.record_decision(regular, "approve", actor=moderator_user)
    impostor = post("hmm, me too", author="Impostor", email="regular@example.org", ip="10.9.9.9")
    assert services.author_history(impostor) == (0, 0)


# --- suspensions and bans --------------------------------------------------------------------


@pytest.mark.django_db
def test_ban_from_the_card_refuses_posts_in_the_page_language(
    client, article, arabic_article, verified, moderator_user
):
    moderator = Client()
    moderator.force_login(moderator_user)
    response = moderator.post(
        f"/moderation/commenters/{verified.pk}/sanction/",
        {"action": "ban", "reason": "Repeated threats", "next": "/moderation/"},
    )
    assert response.status_code == 302 and response["Location"] == "/moderation/"
    assert sanctions.current(verified).kind == BAN
    before = Comment.objects.count()
    refused = post_form(client, arabic_article, "تعليق جديد.", email="")
    assert refused.status_code == 400
    assert "لم يعد بإمكانك التعليق هنا: لقد حظرك أحد المشرفين." in refused.content.decode()
    # The verified e-mail is banned too, from any browser, typed in any case.
    elsewhere = post_form(Client(), article, "A new comment.", email=EMAIL.upper())
    assert elsewhere.status_code == 400
    assert "banned you" in elsewhere.content.decode()
    assert Comment.objects.count() == before


@pytest.mark.django_db
def test_suspension_ends_and_lift_is_recorded(client, article, verified, moderator_user):
    sanction = sanctions.record(verified, SUSPEND, "Cool off", moderator_user, days=3)
    assert sanction.until > timezone.now() + timedelta(days=2, hours=23)
    refused = post_form(client, article, "Back again.", email="")
    assert refused.status_code == 400
    assert "suspended you" in refused.content.decode()
    with pytest.raises(services.CommenterRefused):
        services.submit_comment(article, "Ann", EMAIL, "Through the service.")
    assert sanctions.current(verified, now=sanction.until + timedelta(seconds=1)) is None
    sanctions.record(verified, LIFT, "Apologised", moderator_user)
    assert post_form(client, article, "Back again.", email="").status_code == 302
    assert [s.kind for s in verified.sanctions.all()] == [SUSPEND, LIFT]


@pytest.mark.django_db
def test_sanctions_need_a_reason_a_moderator_and_valid_days(verified, moderator_user, reader_user):
    with pytest.raises(sanctions.SanctionError) as no_reason:
        sanctions.record(verified, BAN, "   ", moderator_user)
    assert no_reason.value.field == "reason"
    with pytest.raises(sanctions.SanctionError) as no_days:
        sanctions.record(verified, SUSPEND, "x", moderator_user, days=0)
    assert no_days.value.field == "days"
    with pytest.raises(sanctions.SanctionError) as not_moderator:
        sanctions.record(verified, BAN, "x", reader_user)
    assert not_moderator.value.field == "actor"
    with pytest.raises(sanctions.SanctionError) as nothing_to_lift:
        sanctions.record(verified, LIFT, "x", moderator_user)
    assert nothing_to_lift.value.field == "action"
    assert not Sanction.objects.exists()


@pytest.mark.django_db
def test_the_sanctions_trail_is_append_only(verified, moderator_user):
    sanction = sanctions.record(verified, BAN, "Spam", moderator_user)
    sanction.reason = "rewritten"
    with pytest.raises(AppendOnlyError):
        sanction.save()
    with pytest.raises(AppendOnlyError):
        sanction.delete()
    with pytest.raises(AppendOnlyError):
        Sanction.objects.filter(pk=sanction.pk).update(reason="rewritten")
    with pytest.raises(AppendOnlyError):
        Sanction.objects.all().delete()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE commenters_sanction SET reason = 'rewritten'",
        "DELETE FROM commenters_sanction",
    ],
)
def test_database_refuses_rewriting_the_sanctions_trail(verified, moderator_user, sql):
    sanctions.record(verified, BAN, "Spam", moderator_user)
    with pytest.raises(DatabaseError), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql)
    assert Sanction.objects.get().reason == "Spam"


@pytest.fixture
def api_token(moderator_user):
    return ApiToken.objects.issue(moderator_user)[1]


@pytest.mark.django_db
def test_api_suspends_bans_lifts_and_shows_the_commenter(client, verified, api_token, article):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {api_token}"}
    url = f"/api/v1/moderation/commenters/{verified.pk}"
    bad = client.post(
        f"{url}/sanctions", {"action": "suspend", "reason": "x"}, "application/json", **auth
    )
    assert bad.status_code == 400 and bad.json()["field"] == "days"
    made = client.post(
        f"{url}/sanctions",
        {"action": "ban", "reason": "Threats under three articles"},
        "application/json",
        **auth,
    )
    assert made.status_code == 201
    assert made.json()["action"] == "ban" and made.json()["actor"] == "mod"
    shown = client.get(url, **auth).json()
    assert shown["sanction"]["action"] == "ban"
    assert shown["approved"] == 1 and shown["verified"] is True
    assert "email" not in json.dumps(shown).lower()
    posted = client.post(
        f"/api/v1/articles/{article.slug}/comments",
        {"author": "Ann", "email": EMAIL, "text": "Via the API."},
        "application/json",
    )
    assert posted.status_code == 400 and posted.json()["field"] == "commenter"
    queue = client.get("/api/v1/moderation/queue?status=all", **auth).json()["comments"]
    assert [c["commenter"] for c in queue] == [verified.pk]
    assert client.get(url).status_code == 401
    assert client.get("/api/v1/moderation/commenters/999999", **auth).status_code == 404


@pytest.mark.django_db
def test_api_sanctions_need_a_moderator(client, verified, reader_user):
    token = ApiToken.objects.issue(reader_user)[1]
    response = client.post(
        f"/api/v1/moderation/commenters/{verified.pk}/sanctions",
        {"action": "ban", "reason": "x"},
        "application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 403
    assert not Sanction.objects.exists()


# --- personal data ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_export_holds_everything_about_the_address(client, article, verified, moderator_user):
    sanctions.record(verified, SUSPEND, "Cool off", moderator_user, days=1)
    out = io.StringIO()
    call_command("commenter", "export", EMAIL.lower(), stdout=out)
    data = json.loads(out.getvalue())
    assert data["commenters"][0]["email"] == EMAIL
    assert data["commenters"][0]["sanctions"][0]["action"] == "suspend"
    assert [c["text"] for c in data["comments"]] == ["My first comment."]
    assert data["comments"][0]["ip_hash"]


@pytest.mark.django_db
def test_erase_leaves_the_address_nowhere_in_the_database(
    client, article, verified, moderator_user
):
    post_form(client, article, "Second comment, linked.", email="")
    post_form(Client(), article, "Typed the address only.", email=EMAIL.lower(), name="Ann B")
    sanctions.record(verified, BAN, "Spam", moderator_user)
    texts = sorted(Comment.objects.values_list("body", flat=True))
    out = io.StringIO()
    call_command("commenter", "erase", EMAIL, stdout=out)
    assert "3 comment(s)" in out.getvalue()

    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    everything = dump.getvalue().lower()
    assert EMAIL.lower() not in everything
    assert "reader.one" not in everything
    assert sorted(Comment.objects.values_list("body", flat=True)) == texts  # texts unchanged
    assert set(Comment.objects.values_list("author_name", "ip_hash", "author_email")) == {
        ("former commenter", "", "")
    }
    commenter = Commenter.objects.get()
    assert commenter.erased and commenter.email is None and commenter.shown_name
    assert "former commenter" in client.get(f"/articles/{article.slug}/").content.decode()
    assert Sanction.objects.count() == 1  # the trail stays
    # The erased commenter's browser is no longer signed in as them.
    post_form(client, article, "After erasure.", email="")
    assert not Authorship.objects.filter(comment=Comment.objects.latest("id")).exists()


@pytest.mark.django_db
def test_commands_refuse_a_non_address():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("commenter", "erase", "not an address")


# --- configuration ---------------------------------------------------------------------------


def test_email_url_gives_django_settings():
    smtp = email_settings("smtp://user%40x:p%3Ass@mail.example.org:2525")
    assert smtp["EMAIL_HOST"] == "mail.example.org" and smtp["EMAIL_PORT"] == 2525
    assert smtp["EMAIL_HOST_USER"] == "user@x" and smtp["EMAIL_HOST_PASSWORD"] == "p:ss"
    assert smtp["EMAIL_USE_TLS"] and not smtp["EMAIL_USE_SSL"]
    assert email_settings("smtps://h")["EMAIL_PORT"] == 465
    assert email_settings("")["EMAIL_BACKEND"].endswith("console.EmailBackend")
    with pytest.raises(ValueError, match="scheme"):
        email_settings("http://mail.example.org")
    with pytest.raises(ValueError, match="host"):
        email_settings("smtp://")
