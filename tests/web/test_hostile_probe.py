"""Each finding of the attacker's probe (issue 10) as a test: these got 500s, HTML errors on
JSON doors, or leaked information before the fixes. Run on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import hmac
import io
import json

import pytest
from django.contrib.auth.models import User
from django.test import Client

from civility.web.api.models import ApiToken
from civility.web.comments import article_pages as article_views
from civility.web.comments import cache as comment_cache
from civility.web.comments.models import Comment, Decision
from civility.web.perspective import views as perspective_views
from civility.web.perspective.models import ApiKey, FeedbackExample

pytestmark = pytest.mark.django_db

DEEP = "[" * 2000 + "]" * 2000


def post_json(client, path, body, **headers):
    raw = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(path, raw, content_type="application/json", **headers)


@pytest.fixture
def mod_token(moderator_user):
    return ApiToken.objects.issue(moderator_user)[1]


@pytest.fixture
def staff_token(db):
    staff = User.objects.create_user("editor", "e@example.org", "pw-long-enough", is_staff=True)
    return ApiToken.objects.issue(staff)[1]


@pytest.fixture
def perspective_key(db, fake_engine, monkeypatch):
    monkeypatch.setattr(perspective_views, "_moderator", lambda: fake_engine)
    return ApiKey.create("probe", qps=1000)[1]


@pytest.fixture
def coral(monkeypatch, fake_engine):
    monkeypatch.setattr(perspective_views, "_moderator", lambda: fake_engine)
    monkeypatch.setenv("CORAL_SIGNING_SECRET", "whsec_probe")

    def send(client, raw: bytes):
        digest = hmac.new(b"whsec_probe", raw, hashlib.sha256).hexdigest()
        return client.post(
            "/coral/moderate",
            raw,
            content_type="application/json",
            HTTP_X_CORAL_SIGNATURE=f"sha256={digest}",
        )

    return send


def suggestion(**fields):
    return {
        "comment": {"text": "A fair point."},
        "attributeScores": {"TOXICITY": {"summaryScore": {"value": 0.1}}},
        **fields,
    }


# --- one error shape, 500 included ---------------------------------------------------------


def broken(*args, **kwargs):
    raise RuntimeError("a bug")


def test_an_unexpected_error_on_the_api_is_a_json_500(article, monkeypatch):
    monkeypatch.setattr(comment_cache, "get_article", broken)
    response = Client(raise_request_exception=False).get(
        f"/api/v1/articles/{article.slug}/comments"
    )
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) == {"error", "field"}


def test_an_unexpected_error_on_perspective_is_a_500_in_googles_shape(
    client, perspective_key, monkeypatch
):
    monkeypatch.setattr(perspective_views, "parse_analyze", broken)
    response = Client(raise_request_exception=False).post(
        f"/v1alpha1/comments:analyze?key={perspective_key}",
        json.dumps({"comment": {"text": "x"}}),
        content_type="application/json",
    )
    assert response.status_code == 500
    assert response.json()["error"]["status"] == "INTERNAL"


def test_an_unexpected_error_on_a_page_stays_an_html_500(article, monkeypatch):
    monkeypatch.setattr(article_views, "get_article", broken)
    response = Client(raise_request_exception=False).get(f"/articles/{article.slug}/")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/api/v1/no-such-endpoint"),
        ("get", "/api/v1/assess"),  # POST only: 405
        ("delete", "/api/v1/articles"),
        ("get", "/coral/moderate"),
        ("get", "/api/v1/moderation/comments/1/decision"),
    ],
)
def test_routing_errors_on_json_doors_are_json(client, db, method, path):
    response = getattr(client, method)(path)
    assert response.status_code in (404, 405)
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) == {"error", "field"}
    if response.status_code == 405:
        assert response["Allow"]


def test_decision_on_a_missing_comment_is_404_in_the_error_shape(client, mod_token):
    response = post_json(
        client,
        "/api/v1/moderation/comments/999999/decision",
        {"action": "approve"},
        HTTP_AUTHORIZATION=f"Bearer {mod_token}",
    )
    assert response.status_code == 404
    assert set(response.json()) == {"error", "field"}


def test_moderation_json_errors_use_the_shape(client, post, moderator_user):
    comment = post("hmm, a question")
    client.force_login(moderator_user)
    response = client.post(
        f"/moderation/comments/{comment.pk}/decide/",
        {"action": "reject"},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 400
    assert set(response.json()) == {"error", "field"}


def test_csrf_failure_on_a_json_request_is_json(post, moderator_user):
    comment = post("hmm, a question")
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(moderator_user)
    response = strict.post(
        f"/moderation/comments/{comment.pk}/decide/",
        {"action": "approve"},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 403
    assert response.json()["field"] == "csrfmiddlewaretoken"


# --- deeply nested JSON --------------------------------------------------------------------


@pytest.mark.parametrize("method", ["analyze", "suggestscore"])
def test_deeply_nested_json_on_perspective_is_a_400(client, perspective_key, method):
    response = post_json(client, f"/v1alpha1/comments:{method}?key={perspective_key}", DEEP)
    assert response.status_code == 400
    assert "nested deeper" in response.json()["error"]["message"]


def test_deeply_nested_json_on_coral_is_a_400(client, coral):
    response = coral(client, DEEP.encode())
    assert response.status_code == 400
    assert response.json() == {
        "error": "JSON nested deeper than 32 levels",
        "field": "body",
    }


def test_deeply_nested_field_on_the_api_is_a_400(client, article, fake_engine):
    body = '{"author": "Ann", "text": ' + DEEP + "}"
    response = post_json(client, f"/api/v1/articles/{article.slug}/comments", body)
    assert response.status_code == 400


# --- lone surrogates and NUL where they reach the database ---------------------------------


@pytest.mark.parametrize("note", ["\ud800", "before \x00 after"])
def test_unstorable_decision_notes_are_400(client, post, mod_token, note):
    comment = post("hmm, a question")
    response = post_json(
        client,
        f"/api/v1/moderation/comments/{comment.pk}/decision",
        {"action": "approve", "note": note},
        HTTP_AUTHORIZATION=f"Bearer {mod_token}",
    )
    assert response.status_code == 400
    assert response.json()["field"] == "note"
    assert Decision.objects.filter(comment=comment).count() == 0


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"clientToken": "\ud800"}, "clientToken"),
        ({"clientToken": "a\x00b"}, "clientToken"),
        ({"communityId": "a\x00b"}, "communityId"),
        ({"clientToken": "t" * 201}, "clientToken"),
        ({"communityId": "c" * 201}, "communityId"),
    ],
)
def test_unstorable_suggestscore_fields_are_400(client, perspective_key, fields, field):
    response = post_json(
        client, f"/v1alpha1/comments:suggestscore?key={perspective_key}", suggestion(**fields)
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith(field)
    assert FeedbackExample.objects.count() == 0


def test_suggestscore_token_of_200_characters_is_stored(client, perspective_key):
    response = post_json(
        client,
        f"/v1alpha1/comments:suggestscore?key={perspective_key}",
        suggestion(clientToken="t" * 200),
    )
    assert response.status_code == 200
    assert FeedbackExample.objects.get().client_token == "t" * 200


@pytest.mark.parametrize("url", ["https://news.example/a\x00b", "https://news.example/\ud800"])
def test_unstorable_coral_story_url_is_400(client, coral, url):
    payload = {"comment": {"body": "A fair point."}, "story": {"url": url}}
    response = coral(client, json.dumps(payload).encode())
    assert response.status_code == 400
    assert response.json()["field"] == "story.url"


# --- Unicode digits and ids out of range ---------------------------------------------------


@pytest.mark.parametrize("value", ["²", "¹", "٣", "99999999999999999999999", "0"])
def test_reply_to_that_is_no_id_shows_the_page_without_a_reply(client, post, value):
    slug = post().article.slug
    for path in (f"/articles/{slug}/?reply_to={value}", f"/embed/{slug}/?reply_to={value}"):
        response = client.get(path)
        assert response.status_code == 200
        assert "Replying to" not in response.content.decode()


@pytest.mark.parametrize("value", ["²", "99999999999999999999999"])
def test_form_parent_that_is_no_id_is_a_400(client, article, fake_engine, value):
    response = client.post(
        f"/articles/{article.slug}/comments/",
        {"author": "Ann", "text": "A fair point.", "parent": value},
    )
    assert response.status_code == 400
    assert "does not exist" in response.content.decode()
    assert Comment.objects.count() == 0


@pytest.mark.parametrize("parent", [2**63, 0, -1])
def test_api_parent_out_of_range_is_400(client, article, fake_engine, parent):
    response = post_json(
        client,
        f"/api/v1/articles/{article.slug}/comments",
        {"author": "Ann", "text": "A fair point.", "parent": parent},
    )
    assert response.status_code == 400
    assert response.json()["field"] == "parent"


def test_moderation_url_with_an_id_past_bigint_is_404(client, moderator_user):
    client.force_login(moderator_user)
    response = client.post("/moderation/comments/99999999999999999999999/decide/")
    assert response.status_code == 404


# --- NUL in URLs, query strings and cookies ------------------------------------------------


@pytest.mark.parametrize(
    "path, json_door",
    [
        ("/api/v1/articles/a%00b/comments", True),
        ("/comments/status/%00/", False),
        ("/articles/a%00b/", False),
        ("/api/v1/moderation/queue?q=%00", True),
        ("/moderation/?q=a%00", False),
    ],
)
def test_nul_in_the_url_is_a_400(client, mod_token, path, json_door):
    response = client.get(path, HTTP_AUTHORIZATION=f"Bearer {mod_token}")
    assert response.status_code == 400
    if json_door:
        assert "NUL" in response.json()["error"]


def test_nul_in_a_cookie_is_a_400(article):
    # An RFC 2109 quoted value with an octal escape: Django unquotes it to a NUL.
    cookie = 'sessionid="abcdefgh\\000"'
    assert Client().get(f"/articles/{article.slug}/", HTTP_COOKIE=cookie).status_code == 400


# --- chunked request bodies ----------------------------------------------------------------


def post_chunked(client, path: str, body: bytes):
    # What a WSGI server hands over for Transfer-Encoding: chunked: no Content-Length.
    return client.generic(
        "POST",
        path,
        CONTENT_TYPE="application/json",
        CONTENT_LENGTH="",
        HTTP_TRANSFER_ENCODING="chunked",
        **{"wsgi.input": io.BytesIO(body)},
    )


def test_a_chunked_body_is_read_not_taken_as_empty(client, article, fake_engine):
    body = json.dumps({"author": "Ann", "text": "Sent in chunks."}).encode()
    response = post_chunked(client, f"/api/v1/articles/{article.slug}/comments", body)
    assert response.status_code == 201
    assert Comment.objects.get().body == "Sent in chunks."


def test_a_chunked_body_over_the_limit_is_413(client, article, fake_engine, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    body = b'{"text": "' + b"x" * 200 + b'"}'
    response = post_chunked(client, f"/api/v1/articles/{article.slug}/comments", body)
    assert response.status_code == 413
    assert response.json()["field"] == "body"


# --- the schema and the code agree ---------------------------------------------------------


@pytest.mark.parametrize(
    "query, field",
    [
        ("q=" + "x" * 201, "q"),
        ("order=newest", "order"),
        ("status=everything", "status"),
        ("limit=0", "limit"),
        ("colour=red", "colour"),
    ],
)
def test_queue_parameters_outside_the_schema_are_400(client, mod_token, query, field):
    response = client.get(
        f"/api/v1/moderation/queue?{query}", HTTP_AUTHORIZATION=f"Bearer {mod_token}"
    )
    assert response.status_code == 400
    assert response.json()["field"] == field


@pytest.mark.parametrize("value", [0, 1, "yes", "true", None])
def test_comments_open_must_be_a_json_boolean(client, staff_token, value):
    response = post_json(
        client,
        "/api/v1/articles",
        {"slug": "strict", "title": "Strict", "comments_open": value},
        HTTP_AUTHORIZATION=f"Bearer {staff_token}",
    )
    assert response.status_code == 400
    assert response.json()["field"] == "comments_open"


def test_the_schema_says_what_the_code_enforces(client, db):
    schema = client.get("/api/v1/openapi.json").json()
    parts = schema["components"]["schemas"]
    assert parts["CommentIn"]["properties"]["author"]["minLength"] == 1
    assert parts["DecisionIn"]["properties"]["action"]["enum"] == ["approve", "reject"]
    queue = schema["paths"]["/api/v1/moderation/queue"]["get"]["parameters"]
    order = next(p for p in queue if p["name"] == "order")
    assert order["schema"]["enum"] == ["oldest", "risk"]
    for path, methods in schema["paths"].items():
        if "post" in methods:
            assert "413" in methods["post"]["responses"], path


def test_an_article_given_as_an_array_is_400(client, db, fake_engine):
    response = post_json(client, "/api/v1/assess", {"text": "hi", "article": [None, None]})
    assert response.status_code == 400
    assert response.json()["field"] == "article"
