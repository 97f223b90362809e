"""suggestscore stores labelled examples; `apikey` and `perspective_feedback` commands."""

from __future__ import annotations

import json
from dataclasses import dataclass
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from civility.web.perspective import views
from civility.web.perspective.models import ApiKey, FeedbackExample, hash_key

URL = "/v1alpha1/comments:suggestscore"


@dataclass
class Detected:
    language: str


class LanguageOnlyModerator:
    """Arabic letters → 'ar'; text starting with '~' → 'other'; anything else 'en'."""

    def assess(self, text, article=None, lang=None):
        if lang:
            return Detected(lang)
        if any("\u0600" <= ch <= "\u06ff" for ch in text):
            return Detected("ar")
        return Detected("other" if text.startswith("~") else "en")


@pytest.fixture
def engine(monkeypatch):
    monkeypatch.setattr(views, "_moderator", LanguageOnlyModerator)


def add_key(name="coral", *extra) -> str:
    out = StringIO()
    call_command("apikey", "add", name, *extra, stdout=out)
    return out.getvalue().split()[-1]


def coral_suggestion(text, status, comment_id="c-1"):
    # The shape Coral Talk sends when a moderator approves (0) or rejects (1) a comment.
    return {
        "comment": {"text": text},
        "context": {
            "entries": [
                {
                    "text": json.dumps(
                        {
                            "url": f"https://news.example/story?commentID={comment_id}",
                            "reply_to_id_Coral_comment_id": None,
                            "Coral_comment_id": comment_id,
                        }
                    )
                }
            ]
        },
        "attributeScores": {
            "TOXICITY": {"summaryScore": {"value": 0 if status == "APPROVED" else 1}}
        },
        "languages": ["en"],
        "communityId": "Coral:https://comments.news.example",
        "clientToken": f"comment:{comment_id}",
    }


def post(client, key, payload):
    return client.post(f"{URL}?key={key}", json.dumps(payload), content_type="application/json")


def test_coral_feedback_is_stored_as_labelled_examples(client, db, engine):
    key = add_key()
    rejected = post(client, key, coral_suggestion("أنت غبي", "REJECTED", "c-9"))
    approved = post(client, key, coral_suggestion("Good point", "APPROVED", "c-10"))
    assert rejected.status_code == approved.status_code == 200
    assert rejected.json() == {"clientToken": "comment:c-9"}
    first, second = FeedbackExample.objects.all()
    assert (first.text, first.attribute, first.score) == ("أنت غبي", "TOXICITY", 1.0)
    assert first.lang == "ar"  # detected: Coral labels every unmapped locale "en"
    assert first.client_token == "comment:c-9"
    assert first.community_id == "Coral:https://comments.news.example"
    assert json.loads(first.context)["Coral_comment_id"] == "c-9"
    assert first.api_key.name == "coral"
    assert (second.score, second.lang) == (0.0, "en")


def test_several_attributes_give_one_example_each(client, db, engine):
    key = add_key()
    payload = {
        "comment": {"text": "~buy now"},
        "attributeScores": {
            "SPAM": {"summaryScore": {"value": 0.9}},
            "INSULT": {"summaryScore": {"value": 0}},
        },
        "languages": ["tr"],
    }
    assert post(client, key, payload).json() == {}
    rows = {(e.attribute, e.score, e.lang) for e in FeedbackExample.objects.all()}
    assert rows == {("SPAM", 0.9, "tr"), ("INSULT", 0.0, "tr")}


@pytest.mark.parametrize(
    ("payload", "in_message"),
    [
        ({"comment": {"text": "x"}}, "attributeScores"),
        ({"comment": {"text": "x"}, "attributeScores": {"TOXICITY": {}}}, "summaryScore.value"),
        (
            {
                "comment": {"text": "x"},
                "attributeScores": {"TOXICITY": {"summaryScore": {"value": 3}}},
            },
            "between 0 and 1",
        ),
        (
            {"comment": {"text": "x"}, "attributeScores": {"NOPE": {"summaryScore": {"value": 1}}}},
            "NOPE",
        ),
        ({"attributeScores": {"TOXICITY": {"summaryScore": {"value": 1}}}}, "comment.text"),
    ],
)
def test_bad_feedback_is_refused_and_nothing_stored(client, db, engine, payload, in_message):
    response = post(client, add_key(), payload)
    assert response.status_code == 400
    assert response.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert in_message in response.json()["error"]["message"]
    assert FeedbackExample.objects.count() == 0


def test_feedback_needs_a_key(client, db, engine):
    response = post(client, "", coral_suggestion("hi", "APPROVED"))
    assert response.status_code == 403
    assert FeedbackExample.objects.count() == 0


def test_export_writes_one_json_line_per_example(client, db, engine, tmp_path):
    key = add_key("newsroom")
    post(client, key, coral_suggestion("Good point", "APPROVED", "c-1"))
    post(client, key, coral_suggestion("أنت غبي", "REJECTED", "c-2"))
    target = tmp_path / "feedback.jsonl"
    out = StringIO()
    call_command("perspective_feedback", "--export", str(target), stdout=out)
    assert "wrote 2 examples" in out.getvalue()
    lines = [json.loads(line) for line in target.read_text("utf-8").splitlines()]
    assert [(r["text"], r["score"], r["lang"], r["client_token"]) for r in lines] == [
        ("Good point", 0.0, "en", "comment:c-1"),
        ("أنت غبي", 1.0, "ar", "comment:c-2"),
    ]
    assert {r["key"] for r in lines} == {"newsroom"}
    assert all(r["attribute"] == "TOXICITY" and r["created_at"] for r in lines)


def test_apikey_add_prints_the_key_last_and_stores_only_its_hash(db):
    out = StringIO()
    call_command("apikey", "add", "site", "--qps", "3", stdout=out)
    raw = out.getvalue().split()[-1]
    stored = ApiKey.objects.get(name="site")
    assert stored.qps == 3
    assert stored.key_hash == hash_key(raw) != raw
    assert raw not in stored.hint
    assert ApiKey.find_active(raw) == stored
    assert ApiKey.find_active(raw + "x") is None


def test_apikey_names_are_unique_and_keys_can_be_listed_and_revoked(db):
    raw = add_key("site")
    with pytest.raises(CommandError, match="exists"):
        add_key("site")
    out = StringIO()
    call_command("apikey", "list", stdout=out)
    assert "site" in out.getvalue() and raw not in out.getvalue()
    call_command("apikey", "revoke", "site", stdout=StringIO())
    assert ApiKey.find_active(raw) is None
    with pytest.raises(CommandError, match="no key"):
        call_command("apikey", "revoke", "nobody", stdout=StringIO())


def test_civility_cli_apikey_add_prints_a_working_key_as_its_last_word(
    db, capsys, client, engine, monkeypatch
):
    from django.db import connections

    from civility.cli import main

    # run_from_argv closes connections when a command ends; keep the test's transaction open.
    monkeypatch.setattr(connections, "close_all", lambda: None)
    assert main(["apikey", "add", "from-cli"]) == 0
    raw = capsys.readouterr().out.split()[-1]
    response = client.post(
        f"{URL}?key={raw}",
        json.dumps(coral_suggestion("Good point", "APPROVED")),
        content_type="application/json",
    )
    assert response.status_code == 200
