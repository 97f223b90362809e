"""/v1alpha1/comments:analyze with a fake engine: Perspective's request shapes, Coral's
request shape, and every field of the answers and errors."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from civility.web.perspective import views
from civility.web.perspective.models import ApiKey

URL = "/v1alpha1/comments:analyze"
CATEGORIES = ("profanity", "vulgarity", "threat", "personal_attack", "abuse", "promotion")


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    category: str


@dataclass
class Assessment:
    decision: str
    score: float
    categories: dict
    language: str
    relevance: float | None
    spans: list = field(default_factory=list)
    reason_codes: list = field(default_factory=list)


class ScriptedModerator:
    """Scores by marker words so each Perspective attribute can be traced to one category:
    'idiot' personal_attack, 'damn' profanity, 'kill' threat, 'buy' promotion. Text with
    Arabic letters is 'ar', text starting with '~' is a language the engine cannot place."""

    def __init__(self):
        self.calls = []

    def assess(self, text, article=None, lang=None):
        self.calls.append({"text": text, "article": article, "lang": lang})
        categories = dict.fromkeys(CATEGORIES, 0.02)
        spans = []
        for word, category, score in (
            ("idiot", "personal_attack", 0.91),
            ("damn", "profanity", 0.62),
            ("kill", "threat", 0.88),
            ("buy", "promotion", 0.73),
        ):
            at = text.find(word)
            if at >= 0:
                categories[category] = score
                spans.append(Span(at, at + len(word), category))
        if any("\u0600" <= ch <= "\u06ff" for ch in text):
            detected = "ar"
        elif text.startswith("~"):
            detected = "other"
        else:
            detected = "en"
        relevance = None if article is None else (0.8 if "budget" in text else 0.1)
        overall = max(categories.values())
        return Assessment("approve", overall, categories, lang or detected, relevance, spans, [])


@pytest.fixture
def engine(monkeypatch):
    moderator = ScriptedModerator()
    monkeypatch.setattr(views, "_moderator", lambda: moderator)
    return moderator


@pytest.fixture
def api_key(db):
    return ApiKey.create("coral-test", qps=50)[1]


def call(client, key, payload, **extra):
    body = payload if isinstance(payload, str | bytes) else json.dumps(payload)
    query = "" if key is None else f"?key={key}"
    return client.post(URL + query, body, content_type="application/json", **extra)


def probability(value):
    return {"value": value, "type": "PROBABILITY"}


def test_coral_talk_request_shape_gets_toxicity_only(client, engine, api_key):
    # Exactly what Coral Talk's toxic phase sends: one model attribute, doNotStore, languages.
    payload = {
        "comment": {"text": "You are an idiot."},
        "doNotStore": True,
        "requestedAttributes": {"TOXICITY": {}},
        "languages": ["en"],
    }
    response = call(client, api_key, payload)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "attributeScores": {"TOXICITY": {"summaryScore": probability(0.91)}},
        "languages": ["en"],
        "detectedLanguages": ["en"],
    }


def test_several_attributes_map_to_their_categories(client, engine, api_key):
    payload = {
        "comment": {"text": "damn, I will kill you, idiot"},
        "requestedAttributes": {
            "TOXICITY": {},
            "SEVERE_TOXICITY": {},
            "INSULT": {},
            "PROFANITY": {},
            "THREAT": {},
            "IDENTITY_ATTACK": {},
            "SEXUALLY_EXPLICIT": {},
            "SPAM": {},
        },
    }
    scores = call(client, api_key, payload).json()["attributeScores"]
    assert {name: s["summaryScore"]["value"] for name, s in scores.items()} == {
        "TOXICITY": 0.91,
        "SEVERE_TOXICITY": 0.88,  # the threat; profanity and the insult do not count
        "INSULT": 0.91,
        "PROFANITY": 0.62,
        "THREAT": 0.88,
        "IDENTITY_ATTACK": 0.02,
        "SEXUALLY_EXPLICIT": 0.02,
        "SPAM": 0.02,
    }
    assert all(s["summaryScore"]["type"] == "PROBABILITY" for s in scores.values())
    assert all("spanScores" not in s for s in scores.values())


def test_span_annotations_give_each_attribute_its_own_spans(client, engine, api_key):
    text = "damn, buy now, idiot"
    payload = {
        "comment": {"text": text},
        "requestedAttributes": {"TOXICITY": {}, "INSULT": {}, "SPAM": {}, "THREAT": {}},
        "spanAnnotations": True,
    }
    scores = call(client, api_key, payload).json()["attributeScores"]
    assert scores["INSULT"]["spanScores"] == [{"begin": 15, "end": 20, "score": probability(0.91)}]
    assert text[15:20] == "idiot"
    assert scores["SPAM"]["spanScores"] == [{"begin": 6, "end": 9, "score": probability(0.73)}]
    assert scores["THREAT"]["spanScores"] == []
    toxic_spans = [(s["begin"], s["end"]) for s in scores["TOXICITY"]["spanScores"]]
    assert sorted(toxic_spans) == [(0, 4), (6, 9), (15, 20)]


def test_score_threshold_drops_attributes_and_spans_below_it(client, engine, api_key):
    payload = {
        "comment": {"text": "damn idiot"},
        "requestedAttributes": {
            "INSULT": {"scoreThreshold": 0.9},
            "PROFANITY": {"scoreThreshold": 0.7},
            "TOXICITY": {"scoreThreshold": 0.7},
        },
        "spanAnnotations": True,
    }
    scores = call(client, api_key, payload).json()["attributeScores"]
    assert set(scores) == {"INSULT", "TOXICITY"}
    # TOXICITY's spans keep only the insult: the profanity span scores 0.62 < 0.7.
    assert [(s["begin"], s["end"]) for s in scores["TOXICITY"]["spanScores"]] == [(5, 10)]


def test_languages_omitted_are_detected_and_returned(client, engine, api_key):
    payload = {"comment": {"text": "أنت idiot"}, "requestedAttributes": {"TOXICITY": {}}}
    answer = call(client, api_key, payload).json()
    assert answer["languages"] == ["ar"]
    assert answer["detectedLanguages"] == ["ar"]
    assert engine.calls[0]["lang"] is None


def test_detection_beats_a_wrong_language_from_the_client(client, engine, api_key):
    # Coral sends "en" for every locale Perspective lacked, Arabic newsrooms included.
    payload = {
        "comment": {"text": "أنت غبي"},
        "requestedAttributes": {"TOXICITY": {}},
        "languages": ["en"],
    }
    answer = call(client, api_key, payload).json()
    assert answer["languages"] == ["en"]
    assert answer["detectedLanguages"] == ["ar"]
    assert [c["lang"] for c in engine.calls] == [None]


def test_client_language_is_used_when_the_engine_cannot_tell(client, engine, api_key):
    payload = {
        "comment": {"text": "~ok"},
        "requestedAttributes": {"TOXICITY": {}},
        "languages": ["tr-TR"],
    }
    answer = call(client, api_key, payload).json()
    assert answer["languages"] == ["tr-TR"]
    assert answer["detectedLanguages"] == []
    assert [c["lang"] for c in engine.calls] == [None, "tr"]


def test_undetectable_language_without_a_hint_is_refused(client, engine, api_key):
    payload = {"comment": {"text": "~ok"}, "requestedAttributes": {"TOXICITY": {}}}
    response = call(client, api_key, payload)
    assert response.status_code == 400
    assert response.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert "language" in response.json()["error"]["message"]


def test_context_is_the_article_and_gives_off_topic(client, engine, api_key):
    payload = {
        "comment": {"text": "What about the budget?"},
        "context": {"entries": [{"text": "City budget passes"}, {"text": "The council voted."}]},
        "requestedAttributes": {"OFF_TOPIC": {}, "TOXICITY": {}},
        "clientToken": "comment:42",
    }
    answer = call(client, api_key, payload).json()
    assert answer["attributeScores"]["OFF_TOPIC"]["summaryScore"] == probability(0.2)
    assert answer["clientToken"] == "comment:42"
    assert engine.calls[0]["article"] == {
        "title": "",
        "body": "City budget passes\n\nThe council voted.",
    }


def test_off_topic_without_context_is_a_400(client, engine, api_key):
    payload = {"comment": {"text": "hello"}, "requestedAttributes": {"OFF_TOPIC": {}}}
    response = call(client, api_key, payload)
    assert response.status_code == 400
    assert "context" in response.json()["error"]["message"]
    assert engine.calls == []


def test_experimental_names_are_answered_under_the_requested_name(client, engine, api_key):
    payload = {"comment": {"text": "idiot"}, "requestedAttributes": {"TOXICITY_EXPERIMENTAL": {}}}
    scores = call(client, api_key, payload).json()["attributeScores"]
    assert scores == {"TOXICITY_EXPERIMENTAL": {"summaryScore": probability(0.91)}}


@pytest.mark.parametrize(
    ("payload", "in_message"),
    [
        ({"comment": {"text": "hi"}, "requestedAttributes": {"FLIRTATION": {}}}, "FLIRTATION"),
        ({"comment": {"text": "hi"}, "requestedAttributes": {"ATTACK_ON_AUTHOR": {}}}, "INSULT"),
        (
            {"comment": {"text": "hi"}, "requestedAttributes": {"ATTACK_ON_COMMENTER": {}}},
            "not supported",
        ),
        (
            {
                "comment": {"text": "hi"},
                "requestedAttributes": {"TOXICITY": {}},
                "languages": ["es"],
            },
            "es",
        ),
        ({"comment": {"text": "hi"}, "requestedAttributes": {}}, "requestedAttributes"),
        ({"comment": {"text": "hi"}}, "requestedAttributes"),
        ({"comment": {}, "requestedAttributes": {"TOXICITY": {}}}, "comment.text"),
        ({"comment": {"text": "   "}, "requestedAttributes": {"TOXICITY": {}}}, "empty"),
        (
            {"comment": {"text": "hi", "type": "HTML"}, "requestedAttributes": {"TOXICITY": {}}},
            "PLAIN_TEXT",
        ),
        (
            {
                "comment": {"text": "hi"},
                "requestedAttributes": {"TOXICITY": {"scoreType": "STD_DEV_SCORE"}},
            },
            "scoreType",
        ),
        (
            {"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY": {"scoreThreshold": 2}}},
            "scoreThreshold",
        ),
        (
            {
                "comment": {"text": "hi"},
                "requestedAttributes": {"TOXICITY": {}},
                "langauges": ["en"],
            },
            '"langauges"',
        ),
        (
            {
                "comment": {"text": "hi"},
                "requestedAttributes": {"TOXICITY": {}},
                "doNotStore": "yes",
            },
            "doNotStore",
        ),
        ("{not json", "Invalid JSON"),
        ("[1, 2]", "JSON object"),
    ],
)
def test_bad_requests_get_perspectives_400_shape(client, engine, api_key, payload, in_message):
    response = call(client, api_key, payload)
    assert response.status_code == 400
    error = response.json()["error"]
    assert set(error) == {"code", "message", "status"}
    assert error["code"] == 400
    assert error["status"] == "INVALID_ARGUMENT"
    assert in_message in error["message"]
    assert engine.calls == []


def test_comment_over_20_kb_is_refused_and_just_under_is_scored(client, engine, api_key):
    too_long = {"comment": {"text": "é" * 10_241}, "requestedAttributes": {"TOXICITY": {}}}
    response = call(client, api_key, too_long)
    assert response.status_code == 400
    assert "20480 bytes" in response.json()["error"]["message"]
    fits = {"comment": {"text": "a" * 20_480}, "requestedAttributes": {"TOXICITY": {}}}
    assert call(client, api_key, fits).status_code == 200


def test_form_encoded_body_is_refused(client, engine, api_key):
    response = client.post(f"{URL}?key={api_key}", {"comment": "hi"})
    assert response.status_code == 400
    assert "application/json" in response.json()["error"]["message"]


@pytest.mark.parametrize("key", [None, "", "cvl_not-a-real-key"])
def test_missing_or_invalid_key_is_permission_denied(client, engine, db, key):
    response = call(
        client, key, {"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY": {}}}
    )
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == 403
    assert error["status"] == "PERMISSION_DENIED"
    assert "API key" in error["message"]
    assert engine.calls == []


def test_revoked_key_is_refused(client, engine, db):
    key, raw = ApiKey.create("old")
    key.revoked = True
    key.save()
    response = call(
        client, raw, {"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY": {}}}
    )
    assert response.status_code == 403


def test_per_key_rate_limit_answers_429_without_touching_other_keys(
    client, engine, db, monkeypatch
):
    from civility.web import ratelimit

    monkeypatch.setattr(ratelimit.time, "time", lambda: 1_000_000.25)  # one fixed 1 s window
    _, slow = ApiKey.create("slow", qps=2)
    _, other = ApiKey.create("other", qps=2)
    payload = {"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY": {}}}
    responses = [call(client, slow, payload) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert responses[2].json() == {
        "error": {
            "code": 429,
            "message": "Quota exceeded: this key allows 2 requests per second.",
            "status": "RESOURCE_EXHAUSTED",
        }
    }
    assert responses[2]["Retry-After"] == "1"
    assert call(client, other, payload).status_code == 200


def test_only_post_is_allowed(client, engine, api_key):
    assert client.get(f"{URL}?key={api_key}").status_code == 405


def test_analyze_needs_no_csrf_token(engine, api_key):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = call(
        strict, api_key, {"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY": {}}}
    )
    assert response.status_code == 200


def test_analyze_stores_nothing_whether_or_not_do_not_store(client, engine, api_key):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for do_not_store in (True, False):
        payload = {
            "comment": {"text": "a private thought, idiot"},
            "requestedAttributes": {"TOXICITY": {}},
            "doNotStore": do_not_store,
        }
        with CaptureQueriesContext(connection) as queries:
            assert call(client, api_key, payload).status_code == 200
        # The key's rate-limit bucket is the one row an analyze call moves (no text in it).
        writes = [
            q["sql"]
            for q in queries
            if not q["sql"].lstrip().upper().startswith("SELECT")
            and '"ratelimit_bucket"' not in q["sql"]
        ]
        assert writes == []
        assert all("private thought" not in q["sql"] for q in queries)


def test_oversized_body_is_413_and_never_scored(client, engine, api_key):
    payload = {
        "comment": {"text": "hi"},
        "context": {"entries": [{"text": "x" * 70_000}]},
        "requestedAttributes": {"TOXICITY": {}},
    }
    response = call(client, api_key, payload)
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == 413 and error["status"] == "INVALID_ARGUMENT"
    assert "larger than the limit" in error["message"]
    assert engine.calls == []


@pytest.mark.parametrize(
    ("text", "message"),
    [("metro hours \ud800 good", "invalid Unicode"), ("nul \x00 byte", "NUL character")],
)
def test_unstorable_text_is_invalid_argument(client, engine, api_key, text, message):
    payload = {"comment": {"text": text}, "requestedAttributes": {"TOXICITY": {}}}
    response = call(client, api_key, payload)
    assert response.status_code == 400
    assert response.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert message in response.json()["error"]["message"]
    assert engine.calls == []
