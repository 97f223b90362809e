"""Coral Talk's external moderation phase: signed requests in Coral's shape, answers in its
vocabulary (204, or status + FLAG actions) following the policy's decision."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field

import pytest

from civility.web.perspective import views

URL = "/coral/moderate"
SECRET = "whsec_current"
OLD_SECRET = "whsec_previous"


@dataclass
class Verdict:
    decision: str
    reason_codes: list
    language: str = "en"
    score: float = 0.5
    categories: dict = field(default_factory=dict)
    spans: list = field(default_factory=list)
    relevance: float | None = None


class DecidingModerator:
    """Returns the decision and reason codes named in the comment, e.g. 'reject:threat'."""

    def __init__(self):
        self.calls = []

    def assess(self, text, article=None, lang=None):
        self.calls.append({"text": text, "article": article, "lang": lang})
        decision, _, codes = text.partition(":")
        return Verdict(decision.strip(), [c for c in codes.strip().split("+") if c])


@pytest.fixture
def engine(monkeypatch):
    moderator = DecidingModerator()
    monkeypatch.setattr(views, "_moderator", lambda: moderator)
    return moderator


@pytest.fixture(autouse=True)
def secrets(monkeypatch):
    monkeypatch.setenv("CORAL_SIGNING_SECRET", f"{SECRET}, {OLD_SECRET}")
    monkeypatch.delenv("CORAL_APPROVE_CLEAR_PASS", raising=False)


def coral_request(
    body="approve", role="COMMENTER", url="https://news.example/story-1", action="NEW"
):
    return {
        "action": action,
        "comment": {"body": body, "parentID": None},
        "author": {"id": "user-1", "role": role},
        "story": {"id": "story-1", "url": url},
        "site": {"id": "site-1"},
        "tenantID": "tenant-1",
        "tenantDomain": "comments.news.example",
    }


def sign(raw: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def coral_body(payload) -> bytes:
    # Coral serialises the body as JSON.stringify(data, null, 2) and signs those exact bytes.
    return json.dumps(payload, indent=2).encode()


def send(client, payload, signature=None, secret=SECRET):
    raw = coral_body(payload)
    header = sign(raw, secret) if signature is None else signature
    return client.post(URL, raw, content_type="application/json", HTTP_X_CORAL_SIGNATURE=header)


def test_clear_violation_is_rejected_with_a_toxic_flag(client, engine, db):
    response = send(client, coral_request("reject:threat+personal_attack"))
    assert response.status_code == 200
    assert response.json() == {
        "status": "REJECTED",
        "actions": [{"actionType": "FLAG", "reason": "COMMENT_DETECTED_TOXIC"}],
    }


def test_promotion_is_flagged_as_spam(client, engine, db):
    response = send(client, coral_request("reject:promotion+profanity"))
    assert response.json() == {
        "status": "REJECTED",
        "actions": [
            {"actionType": "FLAG", "reason": "COMMENT_DETECTED_SPAM"},
            {"actionType": "FLAG", "reason": "COMMENT_DETECTED_TOXIC"},
        ],
    }


def test_uncertain_comment_is_withheld_and_flagged_for_a_moderator(client, engine, db):
    response = send(client, coral_request("review:abuse"))
    assert response.status_code == 200
    assert response.json() == {
        "status": "SYSTEM_WITHHELD",
        "actions": [{"actionType": "FLAG", "reason": "COMMENT_DETECTED_TOXIC"}],
    }


def test_review_for_language_or_relevance_only_is_withheld_without_a_flag(client, engine, db):
    response = send(client, coral_request("review:unsupported_language+off_topic"))
    assert response.json() == {"status": "SYSTEM_WITHHELD", "actions": []}


def test_clear_pass_is_no_opinion_by_default(client, engine, db):
    response = send(client, coral_request("approve"))
    assert response.status_code == 204
    assert response.content == b""


def test_clear_pass_is_approved_when_configured(client, engine, db, monkeypatch):
    monkeypatch.setenv("CORAL_APPROVE_CLEAR_PASS", "1")
    response = send(client, coral_request("approve"))
    assert response.status_code == 200
    assert response.json() == {"status": "APPROVED", "actions": []}


@pytest.mark.parametrize("role", ["STAFF", "MODERATOR", "ADMIN"])
def test_newsroom_roles_get_no_opinion_and_are_not_assessed(client, engine, db, role):
    response = send(client, coral_request("reject:threat", role=role))
    assert response.status_code == 204
    assert engine.calls == []


def test_edits_are_assessed_like_new_comments(client, engine, db):
    response = send(client, coral_request("reject:threat", action="EDIT"))
    assert response.json()["status"] == "REJECTED"


def test_html_body_is_assessed_as_text(client, engine, db):
    send(client, coral_request("<p>approve &amp; <b>fine</b></p>"))
    assert engine.calls[0]["text"] == "approve & fine"


def test_rotated_secret_and_any_of_several_signatures_match(client, engine, db, monkeypatch):
    payload = coral_request("reject:threat")
    raw = coral_body(payload)
    header = f"sha256={'0' * 64},{sign(raw, OLD_SECRET)}"
    assert send(client, payload, signature=header).status_code == 200


@pytest.mark.parametrize(
    "signature",
    ["", "sha256=" + "0" * 64, "sha1=abc", "garbage", None],
)
def test_bad_or_missing_signature_is_401(client, engine, db, signature):
    if signature is None:  # signed with a secret the server does not hold
        response = send(client, coral_request("reject:threat"), secret="whsec_attacker")
    else:
        response = send(client, coral_request("reject:threat"), signature=signature)
    assert response.status_code == 401
    assert "X-Coral-Signature" in response.json()["error"]
    assert engine.calls == []


def test_signature_covers_the_exact_body(client, engine, db):
    payload = coral_request("approve")
    signature = sign(coral_body(payload), SECRET)
    tampered = coral_body(coral_request("reject:threat"))
    response = client.post(
        URL, tampered, content_type="application/json", HTTP_X_CORAL_SIGNATURE=signature
    )
    assert response.status_code == 401


def test_unconfigured_secret_answers_503(client, engine, db, monkeypatch):
    monkeypatch.delenv("CORAL_SIGNING_SECRET")
    response = send(client, coral_request("reject:threat"))
    assert response.status_code == 503
    assert "CORAL_SIGNING_SECRET" in response.json()["error"]


def test_signed_but_malformed_body_is_400(client, engine, db):
    raw = b'{"comment": {}}'
    response = client.post(
        URL, raw, content_type="application/json", HTTP_X_CORAL_SIGNATURE=sign(raw, SECRET)
    )
    assert response.status_code == 400


def test_known_story_url_gives_the_article_for_relevance(client, engine, db):
    from civility.web.articles.models import Article

    Article.objects.create(
        slug="budget",
        title="Budget passes",
        body="The council voted.",
        url="https://news.example/b",
    )
    send(client, coral_request("approve", url="https://news.example/b"))
    send(client, coral_request("approve", url="https://news.example/unknown"))
    assert engine.calls[0]["article"] == {"title": "Budget passes", "body": "The council voted."}
    assert engine.calls[1]["article"] is None


def test_only_post_and_no_csrf_token_needed(engine, db):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert strict.get(URL).status_code == 405
    assert send(strict, coral_request("reject:threat")).status_code == 200


@pytest.mark.parametrize(
    "payload",
    [
        {**coral_request(), "author": {"id": "u", "role": ["ADMIN"]}},
        {**coral_request(), "comment": {"body": None}},
        {**coral_request(), "story": {"id": "s", "url": ["https://x"]}},
    ],
)
def test_signed_but_wrongly_typed_fields_are_400_not_500(client, engine, db, payload):
    response = send(client, payload)
    assert response.status_code == 400
    assert engine.calls == []
