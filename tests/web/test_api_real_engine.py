"""The web layer with the shipped engine (a failure to load it fails the test)."""

import json

import pytest

from civility.web.comments.models import Assessment, Comment

pytestmark = [pytest.mark.django_db, pytest.mark.real_engine]


def post(client, article, text, lang=None):
    body = {"author": "Reader", "text": text, **({"lang": lang} if lang else {})}
    return client.post(
        f"/api/v1/articles/{article.slug}/comments",
        json.dumps(body),
        content_type="application/json",
    )


def test_assess_endpoint_returns_the_engine_contract(client, real_engine):
    response = client.post(
        "/api/v1/assess",
        json.dumps(
            {
                "text": "You are a stupid idiot and I will hurt you.",
                "article": {"title": "T", "body": "B"},
            }
        ),
        content_type="application/json",
    )
    assert response.status_code == 200
    data = response.json()
    assert set(data) >= {
        "decision",
        "score",
        "categories",
        "abuse_kinds",
        "relevance",
        "spans",
        "language",
        "reasons",
    }
    assert data["decision"] in {"reject", "review"}
    assert data["model_version"] == real_engine.model_version


def test_abusive_comment_is_never_published(client, article, real_engine):
    response = post(client, article, "You are a stupid idiot and I will hurt you.")
    assert response.status_code == 201
    assert response.json()["status"] != "approved"
    listing = client.get(f"/api/v1/articles/{article.slug}/comments").json()
    assert listing["count"] == 0


def test_civil_comment_is_assessed_and_stored(client, article, real_engine):
    response = post(
        client, article, "The talks in Baghdad about the coalition's future seem constructive."
    )
    assert response.status_code == 201
    comment = Comment.objects.get(pk=response.json()["id"])
    assessment = Assessment.objects.get(comment=comment)
    assert assessment.model_version == real_engine.model_version
    assert assessment.suggested_decision in {"approve", "review"}
    assert response.json()["status"] in {"approved", "pending"}
    assert comment.language == "en"


def test_rtl_comment_gets_its_language(client, article, real_engine):
    response = post(client, article, "المحادثات خطوة جيدة لكن نريد جدولاً زمنياً واضحاً للانسحاب.")
    assert response.status_code == 201
    assert Comment.objects.get(pk=response.json()["id"]).language == "ar"
