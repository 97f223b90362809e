"""Trust and watch on the site (issue 16): a verified regular's comment is decided under their
standing, the queue card and the stored assessment say when trust widened a band or watch
forced review; and a site that requires verified commenters refuses the others on the page,
the embed and the API, in the page's language, keeping what the reader typed."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.utils import timezone, translation

from civility.engine.assessment import CATEGORIES
from civility.engine.policy import Policy
from civility.web.articles.models import Article
from civility.web.commenters import identity
from civility.web.commenters.models import Authorship, Commenter
from civility.web.comments import services
from civility.web.comments.cache import forget_article
from civility.web.comments.models import APPROVE, REJECT, Comment, Decision

from .conftest import FakeAssessment
from .test_commenter_sso import SECRET, token
from .test_commenters import LINK, verify
from .test_embed import embed_post, embed_token

POLICY = """
[languages]
modelled = ["en", "ar", "fa", "tr"]
[languages.approve_below.en]
personal_attack = 0.10
threat = 0.10
[trust]
min_approved = 3
quiet_days = 60
factor = 2
watch_days = 30
"""


class PolicyModerator:
    """Decides like the engine (its policy, no standing) on scores set by marker words:
    'borderline' personal attack 0.15 (between the band and the widened band), 'veiled'
    threat 0.15, 'idiot' a clear personal attack; the text's language from the hint."""

    model_version = "scripted-1+policy-trust-test"

    def __init__(self):
        self.policy = Policy.from_toml(POLICY, base=Policy.default())

    def assess_many(self, items):
        return [self.assess(text, article, lang) for text, article, lang in items]

    def assess(self, text, article=None, lang=None):
        categories = dict.fromkeys(CATEGORIES, 0.0)
        if "borderline" in text:
            categories["personal_attack"] = 0.15
        if "veiled" in text:
            categories["threat"] = 0.15
        if "idiot" in text:
            categories["personal_attack"] = 0.97
        language = lang or "en"
        verdict = self.policy.decide(categories, {}, None, language)
        return FakeAssessment(
            verdict.decision,
            max(categories.values()),
            categories,
            language,
            verdict.reasons,
            verdict.reason_codes,
            relevance=None,
            model_version=self.model_version,
        )


@pytest.fixture
def engine(monkeypatch):
    moderator = PolicyModerator()
    monkeypatch.setattr(services, "engine_moderator", lambda: moderator)
    return moderator


def past(commenter, article, action, days_ago, body="An earlier comment."):
    comment = Comment.objects.create(article=article, author_name="Ann", body=body)
    Authorship.objects.create(comment=comment, commenter=commenter)
    Decision.objects.create(
        comment=comment,
        action=action,
        reasons=["personal_attack"] if action == REJECT else [],
        actor_policy_version="policy-test",
        created=timezone.now() - timedelta(days=days_ago),
    )
    return comment


@pytest.fixture
def regular(db, article):
    commenter = Commenter.objects.create(display_name="Ann", email="ann@example.org")
    for days in (50, 40, 30):
        past(commenter, article, APPROVE, days)
    return commenter


def post(article, text, commenter=None, lang=None):
    return services.submit_comment(article, "Ann", "", text, commenter=commenter, lang=lang)


def status(comment) -> str:
    return Comment.objects.with_status().get(pk=comment.pk).current_status


def card_html(comment) -> str:
    user = User.objects.create_user("mod", "mod@example.org", "a-long-test-password")
    user.groups.add(services.moderators_group())
    moderator = Client()
    moderator.force_login(User.objects.get(pk=user.pk))
    page = moderator.get("/moderation/?status=all")
    html = page.content.decode()
    start = html.index(f'id="comment-{comment.pk}"')
    return html[start : html.index("</li>", html.index('class="actions"', start))]


# --- trust -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_trust_widens_the_approve_band_for_a_verified_regular(engine, article, regular):
    comment = post(article, "A borderline remark about the spokesman.", regular)
    assert status(comment) == "approved"
    assert comment.assessment.suggested_decision == "approve"
    assert comment.assessment.reason_codes == ["trusted"]
    assert "approve bands widened x2" in comment.assessment.reasons[0]
    assert comment.decisions.get().automatic
    assert "Trusted commenter: approve bands widened" in card_html(comment)


@pytest.mark.django_db
def test_no_trust_for_an_unverified_poster_nor_a_newcomer(engine, article, regular):
    assert status(post(article, "A borderline remark.")) == "pending"
    newcomer = Commenter.objects.create(display_name="Bo", email="bo@example.org")
    past(newcomer, article, APPROVE, 5)
    assert status(post(article, "A borderline remark.", newcomer)) == "pending"
    # An approval reversed by a moderator is not an approval.
    reversed_one = Comment.objects.filter(authorship__commenter=regular).first()
    Decision.objects.create(
        comment=reversed_one, action=REJECT, reasons=["other"], actor_policy_version="p"
    )
    assert status(post(article, "A borderline remark.", regular)) == "pending"


@pytest.mark.django_db
def test_trust_never_widens_threat(engine, article, regular):
    comment = post(article, "A veiled remark about where he lives.", regular)
    assert status(comment) == "pending"
    assert comment.assessment.reason_codes == ["threat"]


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["ckb", "kmr"])
def test_trust_never_widens_in_a_review_only_language(engine, article, regular, language):
    comment = post(article, "Clean words in Kurdish.", regular, lang=language)
    assert status(comment) == "pending"
    assert comment.assessment.reason_codes == ["unsupported_language"]


# --- watch -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_watch_forces_review_of_a_recently_rejected_commenter(engine, article, regular):
    past(regular, article, REJECT, 3, "You idiot.")
    comment = post(article, "A perfectly civil remark.", regular)
    assert status(comment) == "pending"
    assert comment.assessment.suggested_decision == "review"
    assert comment.assessment.reason_codes == ["watched"]
    assert "Commenter rejected recently: never approved automatically" in card_html(comment)
    # The same text from anyone else is approved; a clear violation is still rejected.
    assert status(post(article, "A perfectly civil remark.")) == "approved"
    assert status(post(article, "You idiot, again.", regular)) == "rejected"


@pytest.mark.django_db
def test_watch_lapses_and_a_reversed_rejection_does_not_count(engine, article, regular):
    old = past(regular, article, REJECT, 45, "You idiot.")
    assert status(post(article, "A civil remark.", regular)) == "approved"
    # Not watched any more, but not trusted again either within quiet_days.
    assert status(post(article, "A borderline remark.", regular)) == "pending"
    recent = past(regular, article, REJECT, 2, "You idiot, too.")
    assert status(post(article, "A civil remark.", regular)) == "pending"
    # Overturned (an appeal, say): no longer a rejection.
    Decision.objects.create(comment=recent, action=APPROVE, reasons=[], actor_policy_version="p")
    assert old.pk and status(post(article, "A civil remark.", regular)) == "approved"


@pytest.mark.django_db
def test_the_workers_path_finds_the_commenter_by_the_link(engine, article, regular):
    """record_assessments without `commenters` (a worker's batch) looks the links up."""
    past(regular, article, REJECT, 1, "You idiot.")
    mine = Comment.objects.create(article=article, author_name="Ann", body="A civil remark.")
    Authorship.objects.create(comment=mine, commenter=regular)
    theirs = Comment.objects.create(article=article, author_name="Bo", body="A civil remark.")
    pairs = [(c, engine.assess(c.body)) for c in (mine, theirs)]
    services.record_assessments(pairs, engine)
    assert status(mine) == "pending"
    assert status(theirs) == "approved"


# --- require verified ------------------------------------------------------------------------

REFUSED_NO_EMAIL = (
    "This site publishes comments from verified readers only. Give your e-mail address and "
    "send again: we will mail you a sign-in link. Your comment is still here."
)
HINT = (
    "Only verified readers can comment here. Give your e-mail address: the first time, we mail "
    "you a sign-in link to open in this browser."
)


@pytest.fixture
def verified_only(settings, monkeypatch):
    settings.CIVILITY_COMMENTERS = "verified"
    monkeypatch.setattr(identity.transaction, "on_commit", lambda deliver: deliver())


def page_post(client, article, text="My careful words.", email="", lang=None):
    query = f"?lang={lang}" if lang else ""
    return client.post(
        f"/articles/{article.slug}/comments/{query}",
        {"author": "Ann", "email": email, "text": text},
    )


def shown(html: str) -> str:
    from html import unescape

    return unescape(html)


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "ar", "fa", "tr", "ckb", "kmr"])
def test_an_unverified_page_post_is_refused_in_the_page_language(
    client, fake_engine, article, verified_only, language
):
    response = page_post(client, article, "My careful words <b>here</b>.", lang=language)
    assert response.status_code == 400
    with translation.override(language):
        expected = translation.gettext(REFUSED_NO_EMAIL)
        hint = translation.gettext(HINT)
    if language != "en":
        assert expected != REFUSED_NO_EMAIL  # translated
    html = shown(response.content.decode())
    assert expected in html and hint in html
    assert 'data-field="commenter"' in response.content.decode()
    assert "My careful words <b>here</b>." in html  # the text is kept (and escaped)
    assert "&lt;b&gt;here" in response.content.decode()
    assert Comment.objects.count() == 0


@pytest.mark.django_db
def test_an_unverified_post_with_an_email_gets_a_link_then_posts(
    client, fake_engine, article, verified_only
):
    response = page_post(client, article, "My careful words.", email="reader@example.org")
    assert response.status_code == 400
    html = shown(response.content.decode())
    assert "We have sent a sign-in link to reader@example.org" in html
    assert 'value="reader@example.org"' in response.content.decode()
    assert "My careful words." in html
    assert Comment.objects.count() == 0
    (message,) = mail.outbox
    verify(client, LINK.search(message.body).group(0))
    response = page_post(client, article, "My careful words.", email="reader@example.org")
    assert response.status_code == 302
    comment = Comment.objects.get()
    assert comment.authorship.commenter.email == "reader@example.org"
    assert len(mail.outbox) == 1  # a verified browser gets no second link


@pytest.mark.django_db
def test_the_form_explains_verification_only_when_required(client, article, settings):
    assert HINT not in client.get(f"/articles/{article.slug}/").content.decode()
    settings.CIVILITY_COMMENTERS = "verified"  # a setting read at start: the cached page goes
    cache.clear()
    forget_article()
    html = client.get(f"/articles/{article.slug}/").content.decode()
    assert HINT in html
    assert "E-mail (for your sign-in link, never shown)" in html


@pytest.mark.django_db
def test_name_only_posting_stays_open_by_default(client, fake_engine, article):
    assert page_post(client, article).status_code == 302
    assert Comment.objects.count() == 1


@pytest.mark.django_db
def test_an_unverified_embed_post_is_refused_in_arabic(client, fake_engine, verified_only):
    article = Article.objects.create(slug="talks-ar", title="محادثات", body="نص.", language="ar")
    response = embed_post(client, article, embed_token(client, article), text="كلماتي")
    assert response.status_code == 400
    with translation.override("ar"):
        expected = translation.gettext(REFUSED_NO_EMAIL)
    html = shown(response.content.decode())
    assert expected in html and "كلماتي" in html
    assert Comment.objects.count() == 0


@pytest.mark.django_db
def test_the_api_refuses_an_unverified_post_and_takes_a_sign_on_token(
    client, fake_engine, article, verified_only, settings
):
    settings.CIVILITY_SSO_SECRET = SECRET
    settings.CIVILITY_SSO_AUDIENCE = "civility-test"
    url = f"/api/v1/articles/{article.slug}/comments"
    body = {"author": "Ann", "text": "Words through the API.", "email": "ann@example.org"}
    refused = client.post(url, body, content_type="application/json")
    assert refused.status_code == 400
    assert refused.json()["field"] == "commenter"
    assert re.search(r"verified commenters only", refused.json()["error"])
    assert Comment.objects.count() == 0
    accepted = client.post(url, {**body, "sso_token": token()}, content_type="application/json")
    assert accepted.status_code == 201
    assert Comment.objects.get().authorship.commenter.sso_subject == "cms-user-42"


@pytest.mark.django_db
def test_a_sign_on_session_posts_on_the_page(client, fake_engine, article, verified_only, settings):
    settings.CIVILITY_SSO_SECRET = SECRET
    settings.CIVILITY_SSO_AUDIENCE = "civility-test"
    signed = client.post("/commenters/sso/", {"token": token(), "next": "/"})
    assert signed.status_code == 302
    assert page_post(client, article).status_code == 302
    assert Comment.objects.get().authorship.commenter.sso_subject == "cms-user-42"
