"""The Perspective door on the real, shipped engine: scores ordered sensibly, languages detected."""

from __future__ import annotations

import json

import pytest

from civility.web.perspective.models import ApiKey

URL = "/v1alpha1/comments:analyze"


@pytest.fixture(scope="module")
def shipped_engine():
    # No skip: the shipped models are part of the product, and these tests guard them.
    from civility.web.engine import get_moderator

    return get_moderator()


@pytest.fixture
def analyze(client, db, shipped_engine):
    _, key = ApiKey.create("engine-test", qps=100)

    def _analyze(text, **fields):
        payload = {"comment": {"text": text}, "requestedAttributes": {"TOXICITY": {}}, **fields}
        response = client.post(
            f"{URL}?key={key}", json.dumps(payload), content_type="application/json"
        )
        assert response.status_code == 200, response.content
        return response.json()

    return _analyze


def toxicity(answer) -> float:
    return answer["attributeScores"]["TOXICITY"]["summaryScore"]["value"]


def test_toxic_comment_scores_higher_toxicity_than_a_civil_one(analyze):
    toxic = analyze("You are a pathetic idiot and a disgusting piece of shit. Shut up, moron.")
    civil = analyze("Thank you for this careful reporting on the city's new school budget.")
    assert toxicity(toxic) > toxicity(civil)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("شكرا لكم على هذا التقرير المفصل عن ميزانية المدارس في المدينة", "ar"),
        ("Şehrin yeni okul bütçesiyle ilgili bu ayrıntılı haber için teşekkürler", "tr"),
    ],
)
def test_arabic_and_turkish_are_answered_with_their_detected_language(analyze, text, language):
    answer = analyze(text)
    assert answer["languages"] == [language]
    assert answer["detectedLanguages"] == [language]
    assert 0.0 <= toxicity(answer) <= 1.0


def test_coral_english_label_does_not_hide_an_arabic_comment(analyze):
    answer = analyze("شكرا لكم على هذا التقرير المفصل عن ميزانية المدارس", languages=["en"])
    assert answer["languages"] == ["en"]
    assert answer["detectedLanguages"] == ["ar"]
