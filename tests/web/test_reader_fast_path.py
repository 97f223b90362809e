"""The read fast path (CachedPublicReadsMiddleware) answers exactly as the normal views do."""

import re

import pytest
from django.test import Client

from civility.web.articles.models import Article
from civility.web.comments import cache as comment_cache
from civility.web.comments import views as comment_views

pytestmark = pytest.mark.django_db

FAST_PATH = "civility.web.middleware.CachedPublicReadsMiddleware"
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture
def without_fast_path(settings):
    """A function giving a fresh client whose requests take the normal views only."""

    def make_client(**kwargs):
        settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != FAST_PATH]
        return Client(**kwargs)

    return make_client


@pytest.fixture
def page_spy(monkeypatch):
    """Counts the prebuilt pages the fast path hands out."""
    served = []
    original = comment_views.cached_anonymous_page

    def spy(request, article, template):
        response = original(request, article, template)
        served.append(response is not None)
        return response

    monkeypatch.setattr(comment_views, "cached_anonymous_page", spy)
    return served


def _headers(response) -> dict:
    return {k: v for k, v in response.headers.items() if k != "Set-Cookie"}


def test_comments_api_fast_path_matches_the_view(article, post, without_fast_path):
    post("First <b>remark</b>.")
    path = f"/api/v1/articles/{article.slug}/comments"
    fast = Client().get(path, HTTP_ACCEPT_LANGUAGE="tr")
    normal = without_fast_path().get(path, HTTP_ACCEPT_LANGUAGE="tr")
    assert fast.status_code == normal.status_code == 200
    assert fast.content == normal.content
    assert _headers(fast) == _headers(normal)
    assert fast.json()["comments"][0]["text"] == "First <b>remark</b>."


def test_article_page_fast_path_matches_the_view_but_for_the_token(
    article, post, without_fast_path, page_spy
):
    post("A remark for the page.")
    path = f"/articles/{article.slug}/"
    Client().get(path)  # builds the page
    fast = Client().get(path, HTTP_ACCEPT_LANGUAGE="en")
    assert page_spy == [False, True]
    normal = without_fast_path().get(path, HTTP_ACCEPT_LANGUAGE="en")
    assert fast.status_code == normal.status_code == 200
    assert _headers(fast) == _headers(normal)
    assert fast.cookies["csrftoken"]["samesite"] == normal.cookies["csrftoken"]["samesite"]
    fast_page, normal_page = fast.content.decode(), normal.content.decode()
    assert TOKEN.sub("", fast_page) == TOKEN.sub("", normal_page)
    assert "A remark for the page." in fast_page


def test_token_from_the_fast_path_page_works_for_posting(article, post, page_spy):
    post("Already there.")
    path = f"/articles/{article.slug}/"
    Client().get(path)  # builds the page
    reader = Client(enforce_csrf_checks=True)
    page = reader.get(path).content.decode()
    assert page_spy[-1] is True
    token = TOKEN.search(page).group(1)
    refused = Client(enforce_csrf_checks=True).post(
        f"{path}comments/",
        {"author": "Bo", "text": "No cookie, no post.", "csrfmiddlewaretoken": token},
    )
    assert refused.status_code == 403
    accepted = reader.post(
        f"{path}comments/",
        {"author": "Bo", "text": "With the token.", "csrfmiddlewaretoken": token},
    )
    assert accepted.status_code == 302


def test_signed_in_readers_and_query_strings_take_the_normal_view(
    client, article, post, reader_user, page_spy
):
    post("Visible to all.")
    path = f"/articles/{article.slug}/"
    client.get(path)
    client.force_login(reader_user)
    assert client.get(path).status_code == 200
    anonymous = Client()
    assert anonymous.get(path + "?reply_to=1").status_code == 200
    assert page_spy == [False]  # only the first, anonymous visit asked for the prebuilt page


def test_fast_path_keeps_host_check_and_404s(client, article, settings):
    path = f"/api/v1/articles/{article.slug}/comments"
    assert client.get(path, HTTP_HOST="evil.example").status_code == 400
    missing = client.get("/api/v1/articles/no-such-article/comments")
    assert missing.status_code == 404
    assert missing.json()["field"] == "slug"
    assert client.get("/articles/no-such-article/").status_code == 404


def test_approval_updates_this_process_memo_without_a_query(
    article, post, settings, django_capture_on_commit_callbacks, django_assert_num_queries
):
    settings.CIVILITY_ARTICLE_MEMO_SECONDS = 600  # no expiry during the test, however slow
    before = comment_cache.get_article(article.slug).comments_version
    with django_capture_on_commit_callbacks(execute=True):
        post("Approved at once.")
    stored = Article.objects.get(pk=article.pk).comments_version
    assert stored == before + 1
    with django_assert_num_queries(0):
        memoised = comment_cache.get_article(article.slug)
    assert memoised.comments_version == stored
    body = Client().get(f"/api/v1/articles/{article.slug}/comments").json()
    assert [c["text"] for c in body["comments"]] == ["Approved at once."]
