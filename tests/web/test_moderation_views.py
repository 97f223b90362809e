"""The moderator pages: who may see them, what the queue shows, and what the actions record."""

import json

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from civility.web.articles.models import Article
from civility.web.comments.models import Comment, Decision

QUEUE = "/moderation/"
DASHBOARD = "/moderation/dashboard/"
BULK = "/moderation/bulk/"


def decide_url(comment):
    return f"/moderation/comments/{comment.pk}/decide/"


def change_url(comment):
    return f"/moderation/comments/{comment.pk}/change/"


@pytest.fixture
def mod_client(client, moderator_user):
    client.force_login(moderator_user)
    return client


def card_ids(response):
    return [card["comment"].pk for card in response.context["cards"]]


# --- who may enter -------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("url", [QUEUE, DASHBOARD])
def test_anonymous_visitors_are_sent_to_the_login_page(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.django_db
def test_anonymous_post_records_nothing(client, post):
    comment = post("hmm, maybe")
    response = client.post(decide_url(comment), {"action": "approve"})
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    assert comment.decisions.count() == 0


@pytest.mark.django_db
def test_signed_in_non_moderators_get_403_everywhere(client, reader_user, post):
    comment = post("hmm, maybe")
    client.force_login(reader_user)
    assert client.get(QUEUE).status_code == 403
    assert client.get(DASHBOARD).status_code == 403
    assert client.post(decide_url(comment), {"action": "approve"}).status_code == 403
    assert client.post(BULK, {"action": "approve", "comment_ids": [comment.pk]}).status_code == 403
    assert comment.decisions.count() == 0


@pytest.mark.django_db
def test_login_page_renders_and_signs_a_moderator_in(client, moderator_user):
    page = client.get("/accounts/login/?next=/moderation/")
    assert page.status_code == 200
    assert b'name="password"' in page.content
    response = client.post(
        "/accounts/login/",
        {"username": "mod", "password": "a-long-test-password", "next": "/moderation/"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/moderation/"


# --- the queue -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_queue_shows_pending_comments_oldest_first_by_default(mod_client, post):
    first = post("hmm, first question", author="A")
    post("A calm remark about the talks.", author="B")  # approved by the policy
    post("you idiot", author="C")  # rejected by the policy
    second = post("hmm, second question", author="D")
    response = mod_client.get(QUEUE)
    assert response.status_code == 200
    assert card_ids(response) == [first.pk, second.pk]


@pytest.mark.django_db
def test_status_filters(mod_client, post, moderator_user):
    pending = post("hmm, undecided")
    approved_auto = post("A calm remark about the talks.")
    rejected_auto = post("you idiot")
    by_hand = post("hmm, a human decides")
    mod_client.post(decide_url(by_hand), {"action": "approve"})

    def ids(status):
        return set(card_ids(mod_client.get(QUEUE, {"status": status})))

    assert ids("pending") == {pending.pk}
    assert ids("approved") == {approved_auto.pk, by_hand.pk}
    assert ids("rejected") == {rejected_auto.pk}
    assert ids("auto") == {approved_auto.pk, rejected_auto.pk}
    assert ids("all") == {pending.pk, approved_auto.pk, rejected_auto.pk, by_hand.pk}


@pytest.mark.django_db
def test_article_language_category_and_search_filters(mod_client, post, article, fake_engine):
    from civility.web.comments import services

    other = Article.objects.create(slug="budget", title="Budget vote", body="Parliament voted.")
    english = post("hmm, about the talks", author="Nadia")
    arabic = post("hmm، ما رأيك في المحادثات؟", author="Omar")
    elsewhere = services.submit_comment(other, "Zed", "", "hmm, about the budget", ip="10.0.0.9")
    attack = post("you idiot", author="Rude")

    def ids(**params):
        return set(card_ids(mod_client.get(QUEUE, {"status": "all", **params})))

    assert ids(article=article.pk) == {english.pk, arabic.pk, attack.pk}
    assert ids(article=other.pk) == {elsewhere.pk}
    assert ids(language="ar") == {arabic.pk}
    assert ids(category="personal_attack") == {attack.pk}
    assert ids(category="promotion") == {english.pk, arabic.pk, elsewhere.pk}
    assert ids(q="BUDGET") == {elsewhere.pk}
    assert ids(q="nadia") == {english.pk}


@pytest.mark.django_db
def test_highest_risk_first_orders_by_engine_score(mod_client, post):
    calm = post("A calm remark about the talks.")
    attack = post("you idiot")
    doubtful = post("hmm, not sure")
    response = mod_client.get(QUEUE, {"status": "all", "order": "risk"})
    assert card_ids(response) == [attack.pk, doubtful.pk, calm.pk]


@pytest.mark.django_db
def test_invalid_filter_values_fall_back_to_defaults(mod_client, post):
    pending = post("hmm, undecided")
    response = mod_client.get(QUEUE, {"status": "bogus", "order": "random", "article": "x"})
    assert response.status_code == 200
    assert card_ids(response) == [pending.pk]


@pytest.mark.django_db
def test_card_escapes_text_and_highlights_spans(mod_client, post):
    payload = "<script>alert(1)</script> you idiot <img src=x onerror=alert(2)>"
    comment = post(payload, author="<b>Mallory</b>")
    html = mod_client.get(QUEUE, {"status": "all"}).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "<img src=x" not in html
    assert "<b>Mallory</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;Mallory&lt;/b&gt;" in html
    assert '<mark class="span span-personal_attack" data-categories="personal_attack"' in html
    assert 'data-categories="personal_attack" title="personal_attack">idiot</mark>' in html
    assert f'id="comment-{comment.pk}"' in html
    assert 'class="comment-body" dir="auto"' in html


@pytest.mark.django_db
def test_card_shows_scores_relevance_article_author_history_and_trail(mod_client, post, article):
    post("A calm remark about the talks.", author="Ann", email="ann@example.org")
    post("you idiot", author="Ann", email="ann@example.org")
    current = post("hmm, what next?", author="Ann", email="ann@example.org")
    response = mod_client.get(QUEUE)
    card = response.context["cards"][0]
    assert card["comment"].pk == current.pk
    assert card["history"] == {"approved": 1, "rejected": 1}
    assert card["scores"][0][0] == "promotion"
    html = response.content.decode()
    assert "author: 1 approved, 1 rejected" in html
    assert article.title in html
    assert "relevance to the article 50%" in html
    assert "No decision yet." in html


# --- actions -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_approve_appends_a_decision_by_the_moderator(mod_client, post, moderator_user):
    comment = post("hmm, fine really")
    response = mod_client.post(decide_url(comment), {"action": "approve", "next": "/moderation/"})
    assert response.status_code == 302
    assert response["Location"] == f"/moderation/#comment-{comment.pk}"
    decision = Decision.objects.get(comment=comment)
    assert (decision.action, decision.actor_id, decision.reasons) == (
        "approve",
        moderator_user.pk,
        [],
    )
    assert Comment.objects.get(pk=comment.pk).status == "approved"


@pytest.mark.django_db
def test_reversal_appends_and_keeps_the_earlier_decisions(mod_client, post):
    comment = post("you idiot")  # rejected automatically
    automatic = comment.decisions.get()
    mod_client.post(change_url(comment), {"action": "approve", "seen": automatic.pk})
    approval = comment.decisions.latest("id")
    mod_client.post(
        change_url(comment),
        {"action": "reject", "reasons": ["personal_attack", "off_topic"], "seen": approval.pk},
    )
    trail = list(comment.decisions.order_by("created", "id"))
    assert [d.action for d in trail] == ["reject", "approve", "reject"]
    assert trail[0].automatic and not trail[1].automatic
    assert trail[2].reasons == ["personal_attack", "off_topic"]
    assert Comment.objects.get(pk=comment.pk).status == "rejected"
    html = mod_client.get(QUEUE, {"status": "rejected"}).content.decode()
    assert "(Personal attack, Not relevant to the article)" in html
    assert "policy policy-test" in html  # the automatic first decision, named as such


@pytest.mark.django_db
def test_reject_needs_a_reason_and_other_needs_a_note(mod_client, post):
    comment = post("hmm, borderline")
    mod_client.post(decide_url(comment), {"action": "reject"})
    mod_client.post(decide_url(comment), {"action": "reject", "reasons": ["other"]})
    mod_client.post(decide_url(comment), {"action": "reject", "reasons": ["made_up"]})
    mod_client.post(decide_url(comment), {"action": "delete"})
    assert comment.decisions.count() == 0
    response = mod_client.post(
        decide_url(comment), {"action": "reject", "reasons": ["other"], "note": "spam wave"}
    )
    assert response.status_code == 302
    assert comment.decisions.get().note == "spam wave"


@pytest.mark.django_db
def test_json_answer_for_the_keyboard_script(mod_client, post):
    comment = post("hmm, fine")
    response = mod_client.post(
        decide_url(comment), {"action": "approve"}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 200
    data = json.loads(response.content)
    assert data["id"] == comment.pk and data["status"] == "approved"
    assert "approved" in data["history_html"] and "mod" in data["history_html"]
    bad = mod_client.post(decide_url(comment), {"action": "reject"}, HTTP_ACCEPT="application/json")
    assert bad.status_code == 400
    assert "reason" in json.loads(bad.content)["error"]


@pytest.mark.django_db
def test_decide_rejects_get_and_unknown_comments(mod_client):
    assert mod_client.get("/moderation/comments/1/decide/").status_code == 405
    assert (
        mod_client.post("/moderation/comments/999999/decide/", {"action": "approve"}).status_code
        == 404
    )


@pytest.mark.django_db
def test_next_parameter_cannot_redirect_off_site(mod_client, post):
    comment = post("hmm")
    response = mod_client.post(
        decide_url(comment), {"action": "approve", "next": "https://evil.example/phish"}
    )
    assert response["Location"] == f"/moderation/#comment-{comment.pk}"


@pytest.mark.django_db
def test_actions_need_a_csrf_token(moderator_user, post):
    comment = post("hmm")
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(moderator_user)
    assert strict.post(decide_url(comment), {"action": "approve"}).status_code == 403
    assert strict.post(BULK, {"action": "approve", "comment_ids": [comment.pk]}).status_code == 403
    assert comment.decisions.count() == 0
    page = strict.get(QUEUE).content.decode()
    assert page.count('name="csrfmiddlewaretoken"') >= 3  # approve, reject and bulk forms


@pytest.mark.django_db
def test_bulk_approve_and_bulk_reject(mod_client, post, moderator_user):
    a, b, c = post("hmm one"), post("hmm two"), post("hmm three")
    response = mod_client.post(BULK, {"action": "approve", "comment_ids": [a.pk, b.pk]})
    assert response.status_code == 302
    assert {d.comment_id for d in Decision.objects.filter(actor=moderator_user)} == {a.pk, b.pk}
    mod_client.post(BULK, {"action": "reject", "comment_ids": [c.pk], "reasons": ["promotion"]})
    statuses = {
        x.pk: x.status for x in Comment.objects.with_status().filter(pk__in=[a.pk, b.pk, c.pk])
    }
    assert statuses == {a.pk: "approved", b.pk: "approved", c.pk: "rejected"}
    assert c.decisions.get().reasons == ["promotion"]


@pytest.mark.django_db
def test_bulk_without_selection_or_reason_records_nothing(mod_client, post):
    a = post("hmm one")
    mod_client.post(BULK, {"action": "approve"})
    mod_client.post(BULK, {"action": "reject", "comment_ids": [a.pk]})
    mod_client.post(BULK, {"action": "approve", "comment_ids": ["abc"]})
    assert Decision.objects.count() == 0
    page = mod_client.get(QUEUE).content.decode()
    assert "reason" in page  # the error message is shown


@pytest.mark.django_db
def test_moderator_by_direct_permission_may_moderate(client, post):
    from django.contrib.auth.models import Permission

    user = User.objects.create_user("solo", password="a-long-test-password")
    user.user_permissions.add(Permission.objects.get(codename="moderate_comment"))
    client.force_login(user)
    comment = post("hmm")
    assert client.get(QUEUE).status_code == 200
    client.post(decide_url(comment), {"action": "approve"})
    assert comment.decisions.get().actor_id == user.pk
    assert Group.objects.filter(name="Moderators").exists()


@pytest.mark.django_db
def test_comment_the_engine_failed_on_is_queued_without_scores(mod_client, post):
    comment = post("EXPLODE, but keep me")
    response = mod_client.get(QUEUE, {"order": "risk"})
    assert card_ids(response) == [comment.pk]
    assert "The engine has not assessed this comment." in response.content.decode()
    mod_client.post(decide_url(comment), {"action": "approve"})
    assert Comment.objects.get(pk=comment.pk).status == "approved"
