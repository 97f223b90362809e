"""Text with nothing visible is refused, naming the field; bidi controls never reach a name."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User

from civility.web.api.models import ApiToken
from civility.web.articles.models import Article
from civility.web.comments.models import Comment
from civility.web.text import has_visible

pytestmark = pytest.mark.django_db

INVISIBLE = [
    "\u200b\u200b\u200b",  # zero-width spaces
    "\u200c\u200d\ufeff",  # joiners and a BOM
    "\u202e\u202d\u2066\u2069",  # bidi overrides and isolates only
    "\x01\x02\x03",  # C0 controls
    " \t\n ",
    "\u3164\u3164",  # Hangul filler: a "letter" that draws nothing
    "\u0301\u0301",  # combining marks with nothing to combine with
]
VISIBLE = ["ok", "٣", "👍", "❤", "خوب", "Çok iyi", "!!! 5"]


@pytest.mark.parametrize("text", VISIBLE)
def test_letters_digits_and_emoji_are_visible(text):
    assert has_visible(text)


@pytest.mark.parametrize("text", INVISIBLE + ["?!", "..."])
def test_spaces_controls_and_punctuation_alone_are_not(text):
    assert not has_visible(text)


def api_post(client, article, **fields):
    body = {"author": "Ann", "text": "A fair point.", **fields}
    return client.post(
        f"/api/v1/articles/{article.slug}/comments",
        json.dumps(body),
        content_type="application/json",
    )


@pytest.mark.parametrize("text", INVISIBLE)
def test_invisible_comment_text_is_400_naming_text(client, article, fake_engine, text):
    response = api_post(client, article, text=text)
    assert response.status_code == 400
    assert response.json()["field"] == "text"
    form = client.post(f"/articles/{article.slug}/comments/", {"author": "Ann", "text": text})
    assert form.status_code == 400
    assert Comment.objects.count() == 0


def test_control_characters_inside_visible_text_are_refused(client, article, fake_engine):
    response = api_post(client, article, text="fine words \x1b[31m red")
    assert response.status_code == 400
    assert "control characters" in response.json()["error"]


def test_line_breaks_and_tabs_are_fine(client, article, fake_engine):
    assert api_post(client, article, text="line one\r\n\tline two").status_code == 201


@pytest.mark.parametrize("author", INVISIBLE + ["Ann\nBob"])
def test_invisible_or_multiline_author_is_400_naming_author(client, article, fake_engine, author):
    response = api_post(client, article, author=author)
    assert response.status_code == 400
    assert response.json()["field"] == "author"


def test_bidi_controls_are_stripped_from_author_names(client, article, fake_engine):
    response = api_post(client, article, author="\u202eelgooG\u202c Ann\u2066")
    assert response.status_code == 201
    assert Comment.objects.get().author_name == "elgooG Ann"


@pytest.fixture
def staff_token(db):
    staff = User.objects.create_user("editor", "e@example.org", "pw-long-enough", is_staff=True)
    return ApiToken.objects.issue(staff)[1]


@pytest.mark.parametrize("title", INVISIBLE + ["   "])
def test_invisible_article_title_is_400_naming_title(client, staff_token, title):
    response = client.post(
        "/api/v1/articles",
        json.dumps({"slug": "blank", "title": title}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {staff_token}",
    )
    assert response.status_code == 400
    assert response.json()["field"] == "title"
    assert not Article.objects.filter(slug="blank").exists()


def test_the_admin_refuses_an_invisible_title(db):
    from django.contrib.admin.sites import site

    form_class = site._registry[Article].get_form(None)
    form = form_class(data={"slug": "blank", "title": "\u200b\u200b", "language": "en"})
    assert not form.is_valid()
    assert "title" in form.errors
