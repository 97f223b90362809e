"""The JSON API: every endpoint, success and error cases, tokens and permissions."""

import json

import pytest
from django.contrib.auth.models import User

from civility.web.api.models import ApiToken
from civility.web.comments.models import Comment, Decision
from civility.web.comments.services import MAX_COMMENT_CHARS

pytestmark = pytest.mark.django_db


def call(client, method, path, body=None, token=None, raw=None, **extra):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    data = raw if raw is not None else (json.dumps(body) if body is not None else None)
    kwargs = {"content_type": "application/json"} if data is not None else {}
    return (
        getattr(client, method)(path, data, **kwargs, **headers, **extra)
        if data is not None
        else getattr(client, method)(path, **headers, **extra)
    )


@pytest.fixture
def mod_token(moderator_user):
    return ApiToken.objects.issue(moderator_user)[1]


@pytest.fixture
def reader_token(reader_user):
    return ApiToken.objects.issue(reader_user)[1]


@pytest.fixture
def staff_token(db):
    staff = User.objects.create_user(
        "editor", "e@example.org", "a-long-test-password", is_staff=True
    )
    return ApiToken.objects.issue(staff)[1]


def test_openapi_schema_lists_every_endpoint(client, db):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert set(paths) >= {
        "/api/v1/articles",
        "/api/v1/articles/{slug}/comments",
        "/api/v1/assess",
        "/api/v1/moderation/queue",
        "/api/v1/moderation/comments/{comment_id}/decision",
    }


def test_staff_token_creates_then_updates_article(client, staff_token):
    body = {"slug": "budget-2027", "title": "Budget", "body": "Numbers.", "language": "en"}
    first = call(client, "post", "/api/v1/articles", body, staff_token)
    assert first.status_code == 201 and first.json()["created"] is True
    second = call(
        client, "post", "/api/v1/articles", {**body, "title": "Budget, revised"}, staff_token
    )
    assert second.status_code == 200 and second.json()["title"] == "Budget, revised"


def test_article_upsert_needs_a_staff_token(client, mod_token):
    body = {"slug": "x", "title": "X"}
    assert call(client, "post", "/api/v1/articles", body).status_code == 401
    assert call(client, "post", "/api/v1/articles", body, "civ_wrong").status_code == 401
    assert call(client, "post", "/api/v1/articles", body, mod_token).status_code == 403


def test_article_upsert_400_names_the_field(client, staff_token):
    response = call(
        client, "post", "/api/v1/articles", {"slug": "bad slug!", "title": "T"}, staff_token
    )
    assert response.status_code == 400 and response.json()["field"] == "slug"
    response = call(client, "post", "/api/v1/articles", {"slug": "ok"}, staff_token)
    assert response.status_code == 400 and response.json()["field"] == "title"
    body = {"slug": "ok", "title": "T", "url": "javascript:alert(1)"}
    response = call(client, "post", "/api/v1/articles", body, staff_token)
    assert response.status_code == 400 and response.json()["field"] == "url"


def test_post_comment_then_list_only_approved(client, article, fake_engine):
    path = f"/api/v1/articles/{article.slug}/comments"
    approved = call(client, "post", path, {"author": "Ann", "text": "Good reporting."})
    assert approved.status_code == 201
    assert approved.json()["status"] == "approved"
    token = Comment.objects.get(pk=approved.json()["id"]).status_token
    assert approved.json()["status_url"].endswith(f"/comments/status/{token}/")
    pending = call(
        client, "post", path, {"author": "Bo", "text": "hmm, maybe", "email": "bo@example.org"}
    )
    assert pending.json()["status"] == "pending"
    rejected = call(client, "post", path, {"author": "Cy", "text": "what an idiot"})
    assert rejected.json()["status"] == "rejected"
    listing = client.get(path).json()
    assert listing["count"] == 1
    assert [c["text"] for c in listing["comments"]] == ["Good reporting."]
    assert "email" not in json.dumps(listing) and "bo@example.org" not in json.dumps(listing)


def test_reply_carries_parent_and_bad_parent_is_400(client, article, fake_engine):
    path = f"/api/v1/articles/{article.slug}/comments"
    parent = call(client, "post", path, {"author": "Ann", "text": "First."}).json()["id"]
    reply = call(client, "post", path, {"author": "Bo", "text": "Reply.", "parent": parent})
    assert reply.status_code == 201
    listing = client.get(path).json()["comments"]
    assert listing[1]["parent"] == parent
    bad = call(client, "post", path, {"author": "Bo", "text": "Reply.", "parent": 10**9})
    assert bad.status_code == 400 and bad.json()["field"] == "parent"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"text": "no author"}, "author"),
        ({"author": "Ann"}, "text"),
        ({"author": "Ann", "text": "   "}, "text"),
        ({"author": "Ann", "text": "x" * (MAX_COMMENT_CHARS + 1)}, "text"),
        ({"author": "Ann", "text": "ok", "email": "nope"}, "email"),
        ({"author": "Ann", "text": 12}, "text"),
        ({"author": "Ann", "text": "ok", "parent": "abc"}, "parent"),
    ],
)
def test_post_comment_invalid_fields_are_400_naming_the_field(
    client, article, fake_engine, body, field
):
    response = call(client, "post", f"/api/v1/articles/{article.slug}/comments", body)
    assert response.status_code == 400
    assert response.json()["field"] == field
    assert field in response.json()["error"]
    assert not Comment.objects.exists()


def test_invalid_json_is_400(client, article, fake_engine):
    response = call(client, "post", f"/api/v1/articles/{article.slug}/comments", raw="{not json")
    assert response.status_code == 400 and response.json()["field"] == "body"


def test_unknown_article_is_404(client, db, fake_engine):
    assert client.get("/api/v1/articles/nope/comments").status_code == 404
    response = call(client, "post", "/api/v1/articles/nope/comments", {"author": "A", "text": "t"})
    assert response.status_code == 404 and response.json()["field"] == "slug"


def test_huge_body_is_413_json(client, article, fake_engine, settings):
    text = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    response = call(
        client, "post", f"/api/v1/articles/{article.slug}/comments", {"author": "A", "text": text}
    )
    assert response.status_code == 413
    assert "limit" in response.json()["error"]


def test_posting_rate_limited_per_author_with_retry_after(client, article, fake_engine, settings):
    settings.CIVILITY_POST_LIMIT_PER_AUTHOR = (2, 60)
    path = f"/api/v1/articles/{article.slug}/comments"
    codes = [
        call(client, "post", path, {"author": "Same", "text": f"note {i}"}).status_code
        for i in range(3)
    ]
    assert codes == [201, 201, 429]
    response = call(client, "post", path, {"author": "Same", "text": "again"})
    assert int(response["Retry-After"]) >= 1


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert('x')</script>",
        "Zero\u200bwidth\u202eRTL override",
        "emoji 👩🏽‍⚕️ and کوردی",
        "a\u0000b",
    ],
)
def test_odd_unicode_and_markup_round_trip_as_text(client, article, fake_engine, text):
    path = f"/api/v1/articles/{article.slug}/comments"
    response = call(client, "post", path, {"author": "Ann", "text": text})
    if "\u0000" in text:
        assert response.status_code == 400 and response.json()["field"] == "text"
        return
    assert response.status_code == 201
    listing = client.get(path)
    assert listing["Content-Type"] == "application/json"
    assert listing.json()["comments"][0]["text"] == text


def test_assess_returns_the_engine_contract(client, db, fake_engine):
    response = call(
        client,
        "post",
        "/api/v1/assess",
        {"text": "what an idiot", "article": {"title": "T", "body": "B"}},
    )
    assert response.status_code == 200
    data = response.json()
    assert data["decision"] == "reject"
    assert data["spans"] == [{"start": 8, "end": 13, "category": "personal_attack"}]
    assert fake_engine.calls[-1][1] == {"title": "T", "body": "B"}


def test_assess_validates_fields(client, db, fake_engine):
    response = call(client, "post", "/api/v1/assess", {"article": {"title": "T"}})
    assert response.status_code == 400 and response.json()["field"] == "text"
    response = call(client, "post", "/api/v1/assess", {"text": "t", "article": {"title": 5}})
    assert response.status_code == 400 and response.json()["field"].startswith("article")


def test_assess_is_rate_limited(client, db, fake_engine, settings):
    settings.CIVILITY_ASSESS_LIMIT_PER_IP = (1, 60)
    assert call(client, "post", "/api/v1/assess", {"text": "fine"}).status_code == 200
    response = call(client, "post", "/api/v1/assess", {"text": "fine"})
    assert response.status_code == 429 and "Retry-After" in response


def test_queue_needs_moderator_token(client, post, mod_token, reader_token):
    post("hmm, pending one")
    assert client.get("/api/v1/moderation/queue").status_code == 401
    assert call(client, "get", "/api/v1/moderation/queue", token=reader_token).status_code == 403
    response = call(client, "get", "/api/v1/moderation/queue", token=mod_token)
    assert response.status_code == 200
    items = response.json()["comments"]
    assert [i["text"] for i in items] == ["hmm, pending one"]
    assert items[0]["assessment"]["suggested_decision"] == "review"
    assert items[0]["author_history"] == {"approved": 0, "rejected": 0}


def test_queue_filters_and_orders(client, post, mod_token):
    post("hmm first", ip="10.0.0.5")
    post("hmm second idiot", ip="10.0.0.6")  # rejected automatically
    post("Plain approval.", ip="10.0.0.7")
    get = lambda q: call(client, "get", f"/api/v1/moderation/queue?{q}", token=mod_token)  # noqa: E731
    assert [i["text"] for i in get("status=rejected").json()["comments"]] == ["hmm second idiot"]
    assert len(get("status=auto").json()["comments"]) == 2
    assert [i["text"] for i in get("status=all&order=risk").json()["comments"]][
        0
    ] == "hmm second idiot"
    assert [i["text"] for i in get("status=all&category=personal_attack").json()["comments"]] == [
        "hmm second idiot"
    ]
    assert [i["text"] for i in get("status=all&q=PLAIN").json()["comments"]] == ["Plain approval."]
    assert get("status=bogus").status_code == 400
    assert get("limit=0").json()["field"] == "limit"


def test_decision_endpoint_appends_and_reverses(client, article, post, mod_token):
    comment = post("hmm, decide me")
    path = f"/api/v1/moderation/comments/{comment.pk}/decision"
    response = call(
        client, "post", path, {"action": "reject", "reasons": ["off_topic"], "note": "n"}, mod_token
    )
    assert response.status_code == 200
    assert response.json()["status"] == "rejected" and response.json()["actor"] == "mod"
    first = response.json()["decision_id"]
    response = call(
        client, "post", f"{path}/change", {"action": "approve", "seen_decision": first}, mod_token
    )
    assert response.json()["status"] == "approved"
    assert Decision.objects.filter(comment=comment).count() == 2
    assert [
        c["id"] for c in client.get(f"/api/v1/articles/{article.slug}/comments").json()["comments"]
    ] == [comment.pk]


def test_decision_endpoint_errors(client, post, mod_token, reader_token):
    comment = post("hmm, decide me")
    path = f"/api/v1/moderation/comments/{comment.pk}/decision"
    assert call(client, "post", path, {"action": "approve"}).status_code == 401
    assert call(client, "post", path, {"action": "approve"}, reader_token).status_code == 403
    bad_action = call(client, "post", path, {"action": "edit"}, mod_token)
    assert bad_action.status_code == 400 and bad_action.json()["field"] == "action"
    no_reason = call(client, "post", path, {"action": "reject"}, mod_token)
    assert no_reason.status_code == 400 and no_reason.json()["field"] == "reasons"
    unknown = call(client, "post", path, {"action": "reject", "reasons": ["rude"]}, mod_token)
    assert unknown.status_code == 400 and unknown.json()["field"] == "reasons"
    missing = call(
        client,
        "post",
        "/api/v1/moderation/comments/999999/decision",
        {"action": "approve"},
        mod_token,
    )
    assert missing.status_code == 404
    assert not Decision.objects.filter(comment=comment).exists()


def test_revoked_token_and_inactive_user_are_refused(client, moderator_user):
    record, raw = ApiToken.objects.issue(moderator_user)
    assert call(client, "get", "/api/v1/moderation/queue", token=raw).status_code == 200
    ApiToken.objects.filter(pk=record.pk).update(revoked=True)
    assert call(client, "get", "/api/v1/moderation/queue", token=raw).status_code == 401
    _, raw2 = ApiToken.objects.issue(moderator_user)
    User.objects.filter(pk=moderator_user.pk).update(is_active=False)
    assert call(client, "get", "/api/v1/moderation/queue", token=raw2).status_code == 401


def test_tokens_are_stored_only_as_hashes(moderator_user):
    record, raw = ApiToken.objects.issue(moderator_user)
    stored = ApiToken.objects.get(pk=record.pk)
    assert raw not in (stored.key_hash, stored.prefix, stored.name)
    assert len(stored.key_hash) == 64
