"""Publisher single sign-on (issue 16): a JWT (HS256, shared secret) exchanged once for a
commenter, on the page and through the API. Valid, expired, wrong audience, bad signature,
replayed, and markup in the name."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest
from django.test import Client

from civility.web.commenters import identity, sso
from civility.web.commenters.models import Authorship, Commenter
from civility.web.comments.models import Comment

SECRET = "a-shared-secret-of-the-test-cms-0123456789"


@pytest.fixture(autouse=True)
def sso_on(settings):
    settings.CIVILITY_SSO_SECRET = SECRET
    settings.CIVILITY_SSO_AUDIENCE = "civility-test"
    settings.CIVILITY_SSO_MAX_AGE = 600


def token(secret=SECRET, **claims) -> str:
    now = int(time.time())
    payload = {
        "sub": "cms-user-42",
        "name": "Layla Hassan",
        "email": "layla@example.org",
        "aud": "civility-test",
        "iat": now,
        "exp": now + 300,
        "jti": uuid.uuid4().hex,
    }
    payload.update(claims)
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, secret, algorithm="HS256")


@pytest.mark.django_db
def test_a_valid_token_signs_on_once_and_finds_the_same_commenter_again():
    first = sso.exchange(token())
    assert (first.sso_subject, first.display_name, first.email) == (
        "cms-user-42",
        "Layla Hassan",
        "layla@example.org",
    )
    assert sso.exchange(token(name="Another Name")) == first  # the subject decides
    assert Commenter.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("made", "reason"),
    [
        (lambda: token(iat=int(time.time()) - 900, exp=int(time.time()) - 300), "expired"),
        (lambda: token(aud="another-site"), "another audience"),
        (lambda: token(secret="not-the-shared-secret-0123456789abcdef"), "signature"),
        (lambda: token(jti=None), "'jti'"),
        (lambda: token(exp=int(time.time()) + 86400), "longer than 600"),
        (lambda: jwt.encode({"sub": "x"}, SECRET, algorithm="HS512"), "not valid"),
        (lambda: "not.a.jwt", "not valid"),
    ],
)
def test_bad_tokens_are_refused_and_create_nothing(made, reason):
    with pytest.raises(sso.SSOError, match=reason):
        sso.exchange(made())
    assert not Commenter.objects.exists()


@pytest.mark.django_db
def test_a_replayed_token_is_refused():
    once = token()
    sso.exchange(once)
    with pytest.raises(sso.SSOError, match="used already"):
        sso.exchange(once)


@pytest.mark.django_db
def test_sso_is_off_without_a_secret(settings):
    settings.CIVILITY_SSO_SECRET = ""
    with pytest.raises(sso.SSOError, match="not configured"):
        sso.exchange(token())


@pytest.mark.django_db
def test_markup_in_the_name_is_kept_as_text_and_shown_escaped(article, fake_engine):
    name = '<script>alert("x")</script><b>Eve</b>'
    browser = Client()
    url = "/commenters/sso/?" + f"next=/articles/{article.slug}/"
    page = browser.get(url + "&token=" + token(name=name, sub="eve"))
    assert page.status_code == 200
    done = browser.post(url, {"token": page.context["token"], "next": page.context["next"]})
    assert done.status_code == 302 and done["Location"] == f"/articles/{article.slug}/"
    commenter = Commenter.objects.get(sso_subject="eve")
    assert commenter.display_name == name
    assert browser.session[identity.SESSION_KEY] == commenter.pk
    # The browser is now that commenter: its comment is linked.
    browser.post(f"/articles/{article.slug}/comments/", {"author": name, "text": "Fine point."})
    comment = Comment.objects.get()
    assert Authorship.objects.get(comment=comment).commenter == commenter
    html = browser.get(f"/articles/{article.slug}/").content.decode()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert" in html


@pytest.mark.django_db
def test_the_page_refuses_a_bad_token_with_a_message(article):
    browser = Client()
    response = browser.post("/commenters/sso/?lang=en", {"token": token(aud="elsewhere")})
    assert response.status_code == 400
    assert "another audience" in response.context["error"]
    assert identity.SESSION_KEY not in browser.session


@pytest.mark.django_db
def test_the_api_links_a_comment_to_the_token_commenter_once(client, article, fake_engine):
    once = token(sub="api-user")
    url = f"/api/v1/articles/{article.slug}/comments"
    body = {"author": "Api User", "text": "A fair point.", "sso_token": once}
    first = client.post(url, body, "application/json")
    assert first.status_code == 201
    comment = Comment.objects.get(pk=first.json()["id"])
    assert comment.authorship.commenter.sso_subject == "api-user"
    again = client.post(url, body, "application/json")
    assert again.status_code == 400 and again.json()["field"] == "sso_token"
    assert Comment.objects.count() == 1
