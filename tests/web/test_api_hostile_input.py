"""Hostile input found in review: invalid Unicode and NUL bytes get 400s naming the field, and
an edited article is never served from a page built before the edit."""

import json

import pytest
from django.contrib.auth.models import User
from django.test import Client

from civility.web.api.models import ApiToken
from civility.web.comments.models import Comment

pytestmark = pytest.mark.django_db


def post_json(client, path, body, token=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    # json.dumps escapes a lone surrogate as \\ud800, which is how a hostile client sends it.
    return client.post(path, json.dumps(body), content_type="application/json", **headers)


@pytest.fixture
def staff_token(db):
    staff = User.objects.create_user(
        "editor", "e@example.org", "a-long-test-password", is_staff=True
    )
    return ApiToken.objects.issue(staff)[1]


def test_lone_surrogate_in_a_comment_is_a_400_and_nothing_is_stored(client, article, fake_engine):
    response = post_json(
        client,
        f"/api/v1/articles/{article.slug}/comments",
        {"author": "x", "text": "metro hours \ud800 good"},
    )
    assert response.status_code == 400
    assert "invalid Unicode" in json.dumps(response.json())
    assert Comment.objects.count() == 0


def test_lone_surrogate_in_assess_is_a_400(client, db):
    response = post_json(client, "/api/v1/assess", {"text": "metro hours \ud800 good"})
    assert response.status_code == 400
    assert "invalid Unicode" in json.dumps(response.json())


def test_nul_in_an_article_is_a_400(client, staff_token):
    response = post_json(
        client, "/api/v1/articles", {"slug": "nul", "title": "A\x00B", "body": ""}, staff_token
    )
    assert response.status_code == 400


def test_an_edited_article_is_not_served_from_the_old_page(article):
    reader = Client()
    assert (
        "Iraq and the US resume security talks"
        in reader.get(f"/articles/{article.slug}/").content.decode()
    )
    article.title = "Talks postponed"
    article.comments_open = False
    article.save()
    page = Client().get(f"/articles/{article.slug}/").content.decode()
    assert "Talks postponed" in page
    assert "Iraq and the US resume security talks" not in page
