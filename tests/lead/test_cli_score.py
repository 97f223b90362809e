"""`civility score` and `civility assess` honour the output contract on every input."""

import json
import subprocess
import sys

import pytest

from civility.cli import main
from civility.engine import ABUSE_KINDS, CATEGORIES

CONTRACT_KEYS = {
    "id",
    "decision",
    "score",
    "categories",
    "abuse_kinds",
    "relevance",
    "spans",
    "language",
    "reasons",
    "model_version",
}


def run_score(tmp_path, lines, *extra):
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    target = tmp_path / "out.jsonl"
    assert main(["score", str(source), "--output", str(target), "--no-progress", *extra]) == 0
    return [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]


def test_every_line_answered_in_order_with_the_contract(tmp_path):
    comments = [
        {"id": "a", "text": "Thoughtful piece on the security talks, thank you."},
        {"id": 2, "text": "You are a fucking idiot", "lang": "en"},
        {
            "id": "c",
            "text": "Talks resumed in Baghdad",
            "article": {
                "title": "Iraq and US resume security talks",
                "body": "Delegations met in Baghdad.",
            },
        },
    ]
    out = run_score(tmp_path, [json.dumps(c) for c in comments])
    assert [row["id"] for row in out] == ["a", 2, "c"]
    for row in out:
        assert set(row) == CONTRACT_KEYS
        assert row["decision"] in {"approve", "reject", "review"}
        assert set(row["categories"]) == set(CATEGORIES)
        assert set(row["abuse_kinds"]) == set(ABUSE_KINDS)
        assert 0.0 <= row["score"] <= 1.0
    assert out[0]["relevance"] is None
    assert out[2]["relevance"] is not None
    assert out[1]["score"] > out[0]["score"]


def test_spans_are_offsets_into_the_input_text(tmp_path):
    text = "Hey 𝐟𝐮𝐜𝐤 you, idiot"
    out = run_score(tmp_path, [json.dumps({"id": 1, "text": text})])
    for span in out[0]["spans"]:
        assert 0 <= span["start"] < span["end"] <= len(text)
        assert span["category"] in CATEGORIES


@pytest.mark.parametrize(
    ("line", "expected_id", "message"),
    [
        ("{not json", None, "not valid JSON"),
        ('["a list"]', None, "expected a JSON object"),
        ('{"id": 7}', 7, "missing field 'text'"),
        ('{"id": 8, "text": 42}', 8, "text must be a string"),
        ('{"id": 9, "text": "hi", "article": "not an object"}', 9, "article must be an object"),
        ('{"id": 10, "text": "hi", "lang": 5}', 10, "lang must be"),
        (json.dumps({"id": 11, "text": "x" * 20_001}), 11, "the limit is"),
    ],
)
def test_malformed_lines_get_error_lines_and_the_run_goes_on(tmp_path, line, expected_id, message):
    good = json.dumps({"id": "ok", "text": "Fine article."})
    out = run_score(tmp_path, [good, line, good])
    assert len(out) == 3
    assert out[0]["id"] == out[2]["id"] == "ok" and "decision" in out[2]
    assert out[1]["id"] == expected_id
    assert message in out[1]["error"]


def test_stdin_to_stdout_through_the_console_script():
    payload = json.dumps({"id": "x", "text": "Merhaba, güzel bir haber olmuş."}) + "\n"
    done = subprocess.run(
        [sys.executable, "-m", "civility.cli", "score", "-", "--output", "-"],
        input=payload,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(rows) == 1 and rows[0]["id"] == "x"


def test_missing_input_file_is_a_clear_error(tmp_path, capsys):
    assert main(["score", str(tmp_path / "absent.jsonl"), "--no-progress"]) == 2
    assert "cannot open" in capsys.readouterr().err


def test_check_prints_a_readable_verdict(capsys):
    assert main(["assess", "I will kill you tomorrow"]) == 0
    out = capsys.readouterr().out
    assert out.split()[0] in {"APPROVE", "REJECT", "REVIEW"}
    assert "threat" in out


def test_check_with_article_file_reports_relevance(tmp_path, capsys):
    article = tmp_path / "article.txt"
    article.write_text(
        "Iraq and US resume security talks\nDelegations met in Baghdad to discuss troops."
    )
    assert (
        main(["assess", "The troops question in Baghdad matters", "--article", str(article)]) == 0
    )
    assert "relevance to the article" in capsys.readouterr().out


def test_invalid_unicode_gets_an_error_line_not_a_crash(tmp_path):
    lines = [
        json.dumps({"id": 1, "text": "ok"}),
        json.dumps({"id": 2, "text": "metro hours \ud800 good"}),
        json.dumps({"id": "\ud800", "text": "hi"}),
    ]
    out = run_score(tmp_path, lines)
    assert [row["id"] for row in out] == [1, 2, "\ud800"]
    assert "decision" in out[0]
    assert "invalid Unicode" in out[1]["error"]
    assert "decision" in out[2]
