"""Appeals (issue 16 item 5): a rejected comment's author appeals once from its status page
(or the API, with the status link's secret); a moderator other than the one who rejected
upholds or overturns; an overturn publishes the comment unchanged; the dashboard counts
appeals and overturn rates per guideline; appeals and outcomes are append-only."""

from __future__ import annotations

import json
import re

import pytest
from django.core import mail
from django.db import DatabaseError, connection, transaction
from django.test import Client

from civility.web.api.models import ApiToken
from civility.web.appendonly import AppendOnlyError
from civility.web.articles.models import Article
from civility.web.comments import appeals, services
from civility.web.comments.appeals import MAX_APPEAL_CHARS, AppealError
from civility.web.comments.models import (
    APPEAL_OVERTURNED,
    APPROVE,
    OVERTURNED,
    REJECT,
    UPHELD,
    Appeal,
    AppealOutcome,
    Comment,
    Decision,
)
from civility.web.moderation.stats import appeal_stats

pytestmark = pytest.mark.django_db

# Hostile but storable: markup, a right-to-left override, an emoji with a joiner, Sorani.
HOSTILE = '<script>alert(1)</script> \u202eمن مخالف نیم 👩\u200d⚖️ & "quotes"\nline two'
BODY = "hmm, the minister <b>lied</b> about the talks & the budget."


@pytest.fixture
def rejected_by_layla(post, layla):
    """A comment the engine sent to review ('hmm') and Layla rejected as a personal attack."""
    comment = post(BODY, author="Dana", email="dana@example.org")
    services.record_decision(comment, REJECT, ["personal_attack"], layla)
    return Comment.objects.get(pk=comment.pk)


def status_path(comment) -> str:
    return comment.get_status_url()


def appeal_form(client, comment, text=HOSTILE, lang="en"):
    return client.post(f"{status_path(comment)}appeal/?lang={lang}", {"text": text})


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api(client, method, path, body=None, token=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    if body is None:
        return getattr(client, method)(path, **headers)
    return getattr(client, method)(
        path, json.dumps(body), content_type="application/json", **headers
    )


# --- filing: once, only the author, only a rejection ---------------------------------------


def test_the_author_appeals_once_from_the_status_page(client, rejected_by_layla):
    comment = rejected_by_layla
    page = client.get(status_path(comment))
    assert page.status_code == 200
    assert b'class="comment-form appeal-form"' in page.content
    assert f'action="{status_path(comment)}appeal/?lang=en"'.encode() in page.content

    response = appeal_form(client, comment)
    assert response.status_code == 302
    assert response["Location"].startswith(status_path(comment) + "?")
    appeal = Appeal.objects.get(comment=comment)
    assert appeal.text == HOSTILE.strip()  # stored as written, odd Unicode and all
    assert appeal.rejection == comment.latest_decision
    assert appeal.language == "en"

    page = client.get(response["Location"])
    html = page.content.decode()
    assert "Thank you. Your appeal was received." in html
    assert "<script>alert(1)</script>" not in html  # escaped, never markup
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "appeal-form" not in html  # no second form
    assert "A moderator who did not make the first decision will review your appeal." in html

    again = appeal_form(client, comment, "Please, once more.")
    assert again.status_code == 409
    assert "You have appealed this decision already." in again.content.decode()
    assert Appeal.objects.filter(comment=comment).count() == 1
    assert Appeal.objects.get(comment=comment).text == HOSTILE.strip()


def test_the_second_appeal_is_refused_in_the_page_language(client, post, layla):
    article = Article.objects.create(slug="talks-tr", title="Görüşmeler", body="…", language="tr")
    comment = services.submit_comment(article, "Ece", "", "hmm bence yanlış", ip="10.0.0.9")
    services.record_decision(comment, REJECT, ["off_topic"], layla)
    assert appeal_form(client, comment, "Konuyla ilgili.", lang="tr").status_code == 302
    again = appeal_form(client, comment, "Tekrar.", lang="tr")
    assert again.status_code == 409
    assert "Bu karara zaten itiraz ettiniz." in again.content.decode()
    assert Appeal.objects.get(comment=comment).language == "tr"


def test_only_a_rejected_comment_can_be_appealed(client, post, layla):
    pending = post("hmm, an open question")
    approved = post("A fair point about the talks.")
    for comment in (pending, approved):
        response = appeal_form(client, comment, "Publish it.")
        assert response.status_code == 409
        assert "Only a comment that was not published can be appealed." in response.text
    assert not Appeal.objects.exists()


def test_only_the_holder_of_the_status_link_can_appeal(client, rejected_by_layla):
    comment = rejected_by_layla
    wrong = comment.status_token[:-1] + ("A" if comment.status_token[-1] != "A" else "B")
    assert client.post(f"/comments/status/{wrong}/appeal/", {"text": "mine"}).status_code == 404
    assert client.get(f"/comments/status/{comment.status_token}/appeal/").status_code == 405
    assert not Appeal.objects.exists()
    # The API the same: the secret or nothing.
    body = {"status_token": wrong, "text": "mine"}
    response = api(client, "post", "/api/v1/appeals", body)
    assert response.status_code == 404
    assert response.json()["field"] == "status_token"
    assert not Appeal.objects.exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("   ", "Please write why your comment should be published."),
        ("x" * (MAX_APPEAL_CHARS + 1), "characters long; the limit is"),
        ("bell \x07 here", "control characters"),
        ("\u200b\u202e\u0301", "at least one letter, digit or emoji"),
    ],
)
def test_appeal_text_is_bounded_and_visible(client, rejected_by_layla, text, message):
    response = appeal_form(client, rejected_by_layla, text)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Appeal.objects.exists()


def test_the_longest_appeal_and_unstorable_text(rejected_by_layla):
    with pytest.raises(AppealError) as nul:
        appeals.file_appeal(rejected_by_layla, "a\x00b")
    assert nul.value.field == "text"
    with pytest.raises(AppealError):
        appeals.file_appeal(rejected_by_layla, "lone \ud800 surrogate")
    appeal = appeals.file_appeal(rejected_by_layla, "y" * MAX_APPEAL_CHARS, "xx")
    assert len(appeal.text) == MAX_APPEAL_CHARS
    assert appeal.language == ""  # not a page language: the article's is used for mail


# --- deciding: another moderator -----------------------------------------------------------


def test_the_moderator_who_rejected_cannot_decide(client, rejected_by_layla, layla, sam):
    appeal = appeals.file_appeal(rejected_by_layla, "It was a fair point.")
    with pytest.raises(AppealError) as refused:
        appeals.decide_appeal(appeal, OVERTURNED, "I changed my mind.", layla)
    assert (refused.value.status, refused.value.code) == (403, "same_moderator")

    page = signed_in(layla).get("/moderation/appeals/")
    assert "You rejected this comment, so another moderator must decide its appeal." in page.text
    assert 'class="appeal-decision"' not in page.text

    response = signed_in(layla).post(
        f"/moderation/appeals/{appeal.pk}/decide/",
        {"outcome": OVERTURNED, "reason": "Mine to undo."},
        follow=True,
    )
    assert "another moderator must decide its appeal. Nothing was recorded." in response.text
    assert not AppealOutcome.objects.exists()
    assert Comment.objects.get(pk=appeal.comment_id).status == "rejected"

    sams_page = signed_in(sam).get("/moderation/appeals/")
    assert 'class="appeal-decision"' in sams_page.text
    assert "Layla Hassan" in sams_page.text  # who rejected
    assert "Personal attack" in sams_page.text  # for which guideline
    assert "It was a fair point." in sams_page.text


def test_an_automatic_rejection_is_decided_by_any_moderator(post, layla):
    comment = post("You idiot, read the article.")
    assert comment.status == "rejected"
    appeal = appeals.file_appeal(comment, "Harsh, but about his argument.")
    result = appeals.decide_appeal(appeal, UPHELD, "A personal insult all the same.", layla)
    assert result.outcome == UPHELD


def test_overturn_publishes_the_comment_unchanged(client, rejected_by_layla, sam):
    comment = rejected_by_layla
    assert appeal_form(client, comment, "It criticises a public statement.").status_code == 302
    appeal = Appeal.objects.get(comment=comment)
    article_page = client.get(comment.article.get_absolute_url())
    assert "the minister" not in article_page.text

    response = signed_in(sam).post(
        f"/moderation/appeals/{appeal.pk}/decide/",
        {"outcome": OVERTURNED, "reason": "Criticism of a statement, not of a person."},
        follow=True,
    )
    assert f"Appeal {appeal.pk} overturned: the comment is published." in response.text

    comment = Comment.objects.get(pk=comment.pk)
    assert comment.body == BODY
    assert comment.status == "approved"
    decision = comment.latest_decision
    assert (decision.action, decision.reasons, decision.actor) == (
        APPROVE,
        [APPEAL_OVERTURNED],
        sam,
    )
    assert decision.note == f"appeal {appeal.pk}: Criticism of a statement, not of a person."
    outcome = AppealOutcome.objects.get(appeal=appeal)
    assert (outcome.outcome, outcome.decision, outcome.actor) == (OVERTURNED, decision, sam)
    # The trail keeps the rejection: nothing was rewritten, one approval was appended.
    assert list(comment.decisions.values_list("action", flat=True)) == ["reject", "approve"]

    article_page = client.get(comment.article.get_absolute_url())
    assert "hmm, the minister &lt;b&gt;lied&lt;/b&gt; about the talks &amp; the budget." in (
        article_page.text
    )
    listed = client.get(f"/api/v1/articles/{comment.article.slug}/comments").json()
    assert [c["text"] for c in listed["comments"]] == [BODY]

    status_page = client.get(status_path(comment)).text
    assert "Your appeal was accepted" in status_page
    assert "Criticism of a statement, not of a person." in status_page


def test_upheld_stays_hidden_and_is_decided_once(client, rejected_by_layla, sam, make_moderator):
    comment = rejected_by_layla
    appeal = appeals.file_appeal(comment, "Please reconsider.")
    result = appeals.decide_appeal(appeal, UPHELD, "It insults another reader.", sam)
    assert (result.outcome, result.decision) == (UPHELD, None)
    assert Comment.objects.get(pk=comment.pk).status == "rejected"
    assert Decision.objects.filter(comment=comment).count() == 1  # no decision appended
    assert BODY.split()[2] not in client.get(comment.article.get_absolute_url()).text
    page = client.get(status_path(comment)).text
    assert "who confirmed the decision: your comment stays unpublished." in page
    assert "It insults another reader." in page

    other = make_moderator("omar", "Omar Said")
    with pytest.raises(AppealError) as twice:
        appeals.decide_appeal(appeal, OVERTURNED, "I disagree.", other)
    assert (twice.value.status, twice.value.code) == (409, "decided")
    assert Comment.objects.get(pk=comment.pk).status == "rejected"


def test_a_comment_approved_since_the_appeal(rejected_by_layla, sam, make_moderator):
    comment = rejected_by_layla
    appeal = appeals.file_appeal(comment, "Please reconsider.")
    approval = services.record_decision(comment, APPROVE, [], sam)
    omar = make_moderator("omar")
    with pytest.raises(AppealError) as upheld:
        appeals.decide_appeal(appeal, UPHELD, "Too late.", omar)
    assert upheld.value.code == "approved_since"
    result = appeals.decide_appeal(appeal, OVERTURNED, "Already published.", omar)
    assert result.decision == approval
    assert Decision.objects.filter(comment=comment).count() == 2


def test_decision_reasons_cannot_cite_an_overturn_outside_an_appeal(post, sam):
    comment = post("hmm, fine")
    with pytest.raises(services.DecisionError):
        services.record_decision(comment, APPROVE, [APPEAL_OVERTURNED], sam)


# --- the dashboard ---------------------------------------------------------------------------


def test_dashboard_counts_appeals_and_overturn_rates_per_guideline(post, layla, sam):
    def rejected(text, reasons):
        comment = post(text)
        services.record_decision(comment, REJECT, reasons, layla)
        return appeals.file_appeal(comment, "Please.")

    a = rejected("hmm one", ["personal_attack"])
    b = rejected("hmm two", ["personal_attack", "profanity"])
    c = rejected("hmm three", ["profanity"])
    rejected("hmm four", ["off_topic"])  # waits
    appeals.decide_appeal(a, OVERTURNED, "Fair.", sam)
    appeals.decide_appeal(b, UPHELD, "Insult.", sam)
    appeals.decide_appeal(c, OVERTURNED, "Mild.", sam)

    stats = appeal_stats(14)
    rows = {f.code: (f.appeals, f.pending, f.upheld, f.overturned) for f in stats.by_guideline}
    assert rows == {
        "profanity": (2, 0, 1, 1),
        "personal_attack": (2, 0, 1, 1),
        "off_topic": (1, 1, 0, 0),
    }
    assert (stats.total.appeals, stats.total.pending, stats.total.overturned) == (4, 1, 2)
    assert stats.total.overturn_rate == pytest.approx(2 / 3)
    assert next(f for f in stats.by_guideline if f.code == "off_topic").overturn_rate is None

    page = signed_in(sam).get("/moderation/dashboard/").text
    row = re.search(r'<tr data-guideline="personal_attack">.*?</tr>', page, re.S).group(0)
    assert '<td class="appeals">2</td>' in row
    assert '<td class="overturned">1</td>' in row
    assert '<td class="rate">50%</td>' in row
    total = re.search(r'<tr data-guideline="all">.*?</tr>', page, re.S).group(0)
    assert '<td class="appeals">4</td>' in total
    assert '<td class="rate">67%</td>' in total
    off_topic = re.search(r'<tr data-guideline="off_topic">.*?</tr>', page, re.S).group(0)
    assert '<td class="rate">–</td>' in off_topic
    # The navigation counts the one appeal still waiting.
    assert re.search(r'class="badge appeals-waiting">1<', page)


# --- append-only -----------------------------------------------------------------------------


def test_appeals_and_outcomes_are_append_only(rejected_by_layla, sam):
    appeal = appeals.file_appeal(rejected_by_layla, "Please.")
    outcome = appeals.decide_appeal(appeal, UPHELD, "No.", sam)
    for row, model in ((appeal, Appeal), (outcome, AppealOutcome)):
        with pytest.raises(AppendOnlyError):
            row.save()
        with pytest.raises(AppendOnlyError):
            row.delete()
        with pytest.raises(AppendOnlyError):
            model.objects.filter(pk=row.pk).update(created=row.created)
        with pytest.raises(AppendOnlyError):
            model.objects.filter(pk=row.pk).delete()
    for table, column, value in (
        ("comments_appeal", "text", "'rewritten'"),
        ("comments_appealoutcome", "outcome", "'overturned'"),
    ):
        with pytest.raises(DatabaseError), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f"UPDATE {table} SET {column} = {value}")  # noqa: S608
        with pytest.raises(DatabaseError), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f"DELETE FROM {table}")  # noqa: S608
    assert Appeal.objects.get().text == "Please."
    assert AppealOutcome.objects.get().outcome == UPHELD


# --- the API ---------------------------------------------------------------------------------


def test_api_file_list_and_decide(client, rejected_by_layla, layla, sam):
    comment = rejected_by_layla
    layla_token = ApiToken.objects.issue(layla)[1]
    sam_token = ApiToken.objects.issue(sam)[1]
    body = {"status_token": comment.status_token, "text": HOSTILE, "lang": "ar"}
    filed = api(client, "post", "/api/v1/appeals", body)
    assert filed.status_code == 201, filed.content
    assert filed.json()["status"] == "pending"
    again = api(client, "post", "/api/v1/appeals", body)
    assert again.status_code == 409
    assert again.json()["field"] == "appeal"
    assert "appealed already" in again.json()["error"]

    assert api(client, "get", "/api/v1/moderation/appeals").status_code == 401
    listed = api(client, "get", "/api/v1/moderation/appeals", token=sam_token).json()
    assert listed["count"] == 1
    item = listed["appeals"][0]
    assert (item["comment"], item["comment_text"], item["text"]) == (
        comment.pk,
        BODY,
        HOSTILE.strip(),
    )
    assert item["rejection"]["reasons"] == ["personal_attack"]
    assert item["rejection"]["actor"] == "layla"
    assert item["language"] == "ar"

    path = f"/api/v1/moderation/appeals/{item['id']}/decision"
    decision = {"outcome": "overturned", "reason": "Fair criticism."}
    refused = api(client, "post", path, decision, token=layla_token)
    assert refused.status_code == 403
    assert refused.json()["field"] == "actor"
    assert "other than the one who rejected" in refused.json()["error"]
    assert Comment.objects.get(pk=comment.pk).status == "rejected"

    decided = api(client, "post", path, decision, token=sam_token)
    assert decided.status_code == 200, decided.content
    assert decided.json()["status"] == "overturned"
    assert decided.json()["comment_status"] == "approved"
    assert decided.json()["outcome"]["actor"] == "sam"
    assert api(client, "post", path, decision, token=sam_token).status_code == 409
    assert api(client, "get", "/api/v1/moderation/appeals", token=sam_token).json()["count"] == 0
    done = api(client, "get", "/api/v1/moderation/appeals?status=decided", token=sam_token)
    assert done.json()["appeals"][0]["outcome"]["decision_id"] == comment.latest_decision.pk

    stats = api(client, "get", "/api/v1/moderation/stats/appeals?days=7", token=sam_token).json()
    assert stats["total"] == {
        "guideline": "all",
        "appeals": 1,
        "pending": 0,
        "upheld": 0,
        "overturned": 1,
        "overturn_rate": 1.0,
    }
    status = client.get(status_path(comment), HTTP_ACCEPT="application/json").json()
    assert status["status"] == "approved"
    assert status["appeal"]["status"] == "overturned"


def test_api_refuses_an_unknown_appeal_and_bad_input(client, sam):
    token = ApiToken.objects.issue(sam)[1]
    path = "/api/v1/moderation/appeals/999/decision"
    assert api(client, "post", path, {"outcome": "upheld", "reason": "x"}, token).status_code == 404
    bad = api(client, "post", path, {"outcome": "maybe", "reason": "x"}, token)
    assert bad.status_code == 400
    assert bad.json()["field"] == "outcome"
    long_text = {"status_token": "abc", "text": "x" * (MAX_APPEAL_CHARS + 1)}
    assert api(client, "post", "/api/v1/appeals", long_text).json()["field"] == "text"


# --- the outcome mail ------------------------------------------------------------------------


def test_the_outcome_is_mailed_in_the_page_language(
    client, post, layla, sam, django_capture_on_commit_callbacks
):
    article = Article.objects.create(slug="talks-fa", title="گفت‌وگوها", body="…", language="fa")
    comment = services.submit_comment(
        article, "Sara", "sara@example.org", "hmm نظر من", ip="1.2.3.4"
    )
    services.record_decision(comment, REJECT, ["off_topic"], layla)
    assert appeal_form(client, comment, "به موضوع مربوط است.", lang="fa").status_code == 302
    appeal = Appeal.objects.get(comment=comment)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        appeals.decide_appeal(appeal, OVERTURNED, "Relevant after all.", sam, origin="http://x")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["sara@example.org"]
    assert "اعتراض" in message.subject  # Persian, the page's language
    assert "Relevant after all." in message.body
    assert f"http://x/articles/talks-fa/?lang=fa#comment-{comment.pk}" in message.body
    html = message.alternatives[0][0]
    assert 'dir="rtl"' in html
    assert "Relevant after all." in html


def test_no_address_no_mail(
    client, rejected_by_layla, post, layla, sam, django_capture_on_commit_callbacks
):
    comment = post("hmm no address", author="Nobody")
    services.record_decision(comment, REJECT, ["other"], layla)
    appeal = appeals.file_appeal(comment, "Please.")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        appeals.decide_appeal(appeal, UPHELD, "No.", sam)
    assert mail.outbox == []


def test_the_upheld_mail_names_the_guideline_and_the_status_page(
    client, rejected_by_layla, sam, django_capture_on_commit_callbacks
):
    comment = rejected_by_layla  # posted with dana@example.org, on an English article
    appeal = appeals.file_appeal(comment, "Please.", "en")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        appeals.decide_appeal(appeal, UPHELD, "It insults <b>a reader</b>.", sam, origin="http://x")
    (message,) = mail.outbox
    assert message.to == ["dana@example.org"]
    assert message.subject == "Your appeal was reviewed: the decision stands"
    assert "It insults <b>a reader</b>." in message.body  # plain text: as written
    assert "Argue with ideas, not people" in message.body  # the guideline, in plain words
    assert f"http://x{comment.get_status_url()}?lang=en" in message.body
    html = message.alternatives[0][0]
    assert "It insults &lt;b&gt;a reader&lt;/b&gt;." in html  # HTML: escaped
    assert comment.body not in message.body  # a mail never carries the comment's text


def test_the_export_holds_the_appeal(rejected_by_layla, sam):
    import io

    from django.core.management import call_command

    appeal = appeals.file_appeal(rejected_by_layla, "My words, again.")
    appeals.decide_appeal(appeal, UPHELD, "No.", sam)
    out = io.StringIO()
    call_command("commenter", "export", "dana@example.org", stdout=out)
    (exported,) = json.loads(out.getvalue())["comments"]
    assert exported["appeal"]["text"] == "My words, again."
    assert (exported["appeal"]["outcome"], exported["appeal"]["reason"]) == (UPHELD, "No.")


def test_the_rejection_mail_points_to_the_appeal(post, layla, django_capture_on_commit_callbacks):
    from civility.web.commenters import notifications

    comment = post("hmm, opted in", author="Dana", email="dana@example.org")
    notifications.opt_in(comment, language="tr", origin="http://x", email="dana@example.org")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.record_decision(comment, REJECT, ["promotion"], layla)
    (message,) = mail.outbox
    assert "bu sayfadan karara bir kez itiraz edebilirsiniz" in message.body
    assert f"http://x{comment.get_status_url()}" in message.body


def test_the_appeals_page_costs_the_same_queries_for_more_appeals(post, layla, sam, settings):
    from django.db import connection as db
    from django.test.utils import CaptureQueriesContext

    client = signed_in(sam)
    settings.CIVILITY_POST_LIMIT_PER_AUTHOR = settings.CIVILITY_POST_LIMIT_PER_IP = (100, 60)

    def appeal_some(n):
        for i in range(n):
            comment = post(f"hmm number {i} {n}")
            services.record_decision(comment, REJECT, ["other"], layla)
            appeals.file_appeal(comment, f"Appeal {i}")

    appeal_some(2)
    client.get("/moderation/appeals/")  # sessions, permissions and templates warmed
    with CaptureQueriesContext(db) as few:
        assert client.get("/moderation/appeals/").text.count('class="appeal-decision"') == 2
    appeal_some(10)
    with CaptureQueriesContext(db) as many:
        assert client.get("/moderation/appeals/").text.count('class="appeal-decision"') == 12
    assert len(many) == len(few), (len(few), len(many))  # 9 on SQLite


def test_the_queue_card_shows_the_appeal(rejected_by_layla, sam):
    client = signed_in(sam)
    assert "appeal-badge" not in client.get("/moderation/?status=rejected").text
    appeal = appeals.file_appeal(rejected_by_layla, "Please.")
    card = client.get("/moderation/?status=rejected").text
    assert f'href="/moderation/appeals/?status=pending#appeal-{appeal.pk}">Appeal waiting<' in card
    appeals.decide_appeal(appeal, OVERTURNED, "Fair.", sam)
    card = client.get("/moderation/?status=approved").text
    assert (
        f'href="/moderation/appeals/?status=decided#appeal-{appeal.pk}">Appeal overturned<' in card
    )


def test_the_appeal_works_inside_the_embed_frame(client, rejected_by_layla):
    comment = rejected_by_layla
    page = client.get(f"{status_path(comment)}?embed=1&lang=en")
    assert f'action="{status_path(comment)}appeal/?lang=en&amp;embed=1"' in page.text
    refused = client.post(f"{status_path(comment)}appeal/?lang=en&embed=1", {"text": " "})
    assert refused.status_code == 400
    assert "frame-ancestors *" in refused["Content-Security-Policy"]
    assert "X-Frame-Options" not in refused
    done = client.post(f"{status_path(comment)}appeal/?lang=en&embed=1", {"text": "Please."})
    assert done.status_code == 302
    assert "embed=1" in done["Location"]
    framed = client.get(done["Location"])
    assert "frame-ancestors *" in framed["Content-Security-Policy"]
    assert "Thank you. Your appeal was received." in framed.text


@pytest.mark.postgres_only  # SQLite serialises the test database: no concurrent writers
@pytest.mark.django_db(transaction=True)
def test_simultaneous_appeals_and_decisions_record_one_each(article, fake_engine, make_moderator):
    """Two appeals of one comment at the same moment, and two moderators deciding one appeal at
    the same moment, twenty times over: one appeal and one outcome each, the other refused."""
    import threading

    from django.db import connections

    rejecter, first, second = (make_moderator(n) for n in ("rejecter", "first", "second"))
    comments = []
    for i in range(20):
        comment = services.submit_comment(article, f"R{i}", "", f"hmm number {i}", ip=f"10.1.{i}.1")
        services.record_decision(comment, REJECT, ["other"], rejecter)
        comments.append(comment)
    barrier = threading.Barrier(2)
    results = {"file": [], "first": [], "second": []}

    def run(name, step):
        try:
            for comment in comments:
                barrier.wait(timeout=10)
                try:
                    step(comment)
                    results[name].append("done")
                except AppealError as exc:
                    results[name].append(exc.code)
        finally:
            connections.close_all()

    def both(one, other):
        threads = [threading.Thread(target=run, args=one), threading.Thread(target=run, args=other)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    results["filed"] = []
    both(
        ("file", lambda c: appeals.file_appeal(c, "Mine.")),
        ("filed", lambda c: appeals.file_appeal(c, "Mine too.")),
    )
    for i in range(20):
        assert sorted([results["file"][i], results["filed"][i]]) == ["appealed", "done"]
    assert Appeal.objects.count() == 20

    def decide(user, outcome):
        return lambda c: appeals.decide_appeal(Appeal.objects.get(comment=c), outcome, "R.", user)

    both(("first", decide(first, OVERTURNED)), ("second", decide(second, UPHELD)))
    for i, comment in enumerate(comments):
        assert sorted([results["first"][i], results["second"][i]]) == ["decided", "done"]
        outcome = AppealOutcome.objects.get(appeal__comment=comment)
        expected = 2 if outcome.outcome == OVERTURNED else 1
        assert comment.decisions.count() == expected
