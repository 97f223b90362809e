"""`civility import`: a newsroom's past comments and decisions, from Civility's JSON Lines,
Coral and Disqus (the readers in civility/imports.py, the writing in comments/importing.py).
The sample files in fixtures/import/ were written for these tests."""

import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, transaction

from civility import imports
from civility.web import events
from civility.web.articles.models import Article
from civility.web.comments import importing, services
from civility.web.comments.models import (
    REASON_CODES,
    Assessment,
    AwaitingAssessment,
    Comment,
    Decision,
)

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures" / "import"


def run_import(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import", *args, "--quiet", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def no_engine_no_events(fake_engine, monkeypatch):
    """Fails the test if an import reaches the engine or announces anything."""
    emitted = []
    monkeypatch.setattr(events, "emit", lambda event, items: emitted.append(event))
    yield emitted
    assert fake_engine.calls == []
    assert emitted == []
    assert not Assessment.objects.exists()
    assert not AwaitingAssessment.objects.exists()


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# -- JSON Lines -------------------------------------------------------------------------------


def test_jsonl_history_keeps_timestamps_and_is_marked_imported(article, no_engine_no_events):
    out, err = run_import(str(FIXTURES / "history.jsonl"))
    assert out.strip() == (
        "Imported 4 comment(s) (1 new article(s)); 0 already imported; 0 bad row(s)."
    )
    assert err == ""

    budget = Article.objects.get(slug="budget-vote")
    assert budget.title == "Parliament passes the budget"
    assert budget.body == "The vote was 141 to 88."
    assert budget.url == "https://news.example.org/budget-vote"
    # An existing article is reused as it is.
    article.refresh_from_db()
    assert article.title == "Iraq and the US resume security talks"
    assert article.body.startswith("Delegations met in Baghdad")

    comments = {c.author_name: c for c in Comment.objects.with_status()}
    assert set(comments) == {"Samir", "Karim", "Nadia", "Yusuf"}
    samir, karim, nadia, yusuf = (comments[n] for n in ("Samir", "Karim", "Nadia", "Yusuf"))
    assert samir.created == utc(2023, 3, 1, 9, 15)
    assert karim.created == utc(2023, 3, 1, 8, 20)  # +03:00 kept as the same moment
    assert yusuf.created == utc(2023, 3, 2, 18, 30)  # no offset: the site's zone (UTC)
    assert nadia.article_id == article.pk and samir.article_id == budget.pk
    assert all(c.import_key and len(c.import_key) == 64 for c in comments.values())
    assert [c.current_status for c in (samir, karim, nadia, yusuf)] == [
        "approved",
        "rejected",
        "rejected",
        "approved",
    ]
    assert not any(c.decided_automatically for c in comments.values())
    assert not Comment.objects.pending().exists()  # history never waits in the queue

    decision = samir.decisions.get()
    assert decision.imported and decision.decided_by == "Layla" and decision.actor is None
    assert decision.actor_policy_version == ""
    assert decision.created == utc(2023, 3, 1, 10, 0)
    assert not decision.automatic
    assert decision.actor_label == "Layla (imported)"
    assert karim.decisions.get().reasons == ["personal_attack"]
    assert karim.decisions.get().created == utc(2023, 3, 1, 9, 5)
    undated = nadia.decisions.get()
    assert undated.created == nadia.created  # no decided_at: the posting time
    assert undated.decided_by == "" and undated.actor_label == "unknown (imported)"

    # Learning's labels: human decisions, imported or live, never the policy's.
    assert set(Decision.objects.human().values_list("comment__author_name", flat=True)) == {
        "Samir",
        "Karim",
        "Yusuf",
    }


def test_human_decisions_include_moderators_and_exclude_the_policy(post, moderator_user):
    automatic = post("Nice piece.").decisions.get()
    live = services.record_decision(post("hmm, unsure"), "approve", [], moderator_user)
    assert list(Decision.objects.human()) == [live]
    assert automatic.automatic and not live.automatic


def test_a_second_run_adds_nothing(article, no_engine_no_events):
    run_import(str(FIXTURES / "history.jsonl"))
    before = (Comment.objects.count(), Decision.objects.count(), Article.objects.count())
    out, _ = run_import(str(FIXTURES / "history.jsonl"))
    assert out.strip() == (
        "Imported 0 comment(s) (0 new article(s)); 4 already imported; 0 bad row(s)."
    )
    assert (Comment.objects.count(), Decision.objects.count(), Article.objects.count()) == before


def test_a_moderator_may_reverse_an_imported_decision(article, moderator_user):
    run_import(str(FIXTURES / "history.jsonl"))
    comment = Comment.objects.get(author_name="Samir")
    services.record_decision(comment, "reject", ["other"], moderator_user)
    assert Comment.objects.get(pk=comment.pk).status == "rejected"
    first, second = comment.decisions.all()
    assert first.imported and not second.imported and second.created >= first.created


def good_row(author: str, **changes) -> dict:
    row = {
        "article": {"slug": "budget-vote", "title": "Parliament passes the budget"},
        "author": author,
        "text": f"A comment by {author}.",
        "created_at": "2023-03-01T09:15:00Z",
        "decision": "approve",
        "reasons": [],
    }
    row.update(changes)
    return row


def write_lines(path: Path, lines: list) -> Path:
    with path.open("wb") as f:
        for line in lines:
            if isinstance(line, bytes):
                f.write(line + b"\n")
            elif isinstance(line, str):
                f.write(line.encode() + b"\n")
            else:
                f.write(json.dumps(line).encode() + b"\n")
    return path


def test_bad_rows_are_reported_by_line_and_their_neighbours_kept(tmp_path, no_engine_no_events):
    lines = [
        good_row("Ann"),  # 1
        '{"article": ',  # 2
        good_row("", text="no author"),  # 3
        good_row("Bob", decision="publish"),  # 4
        good_row("Cem", created_at="yesterday"),  # 5
        good_row("Dan", text="x" * (services.MAX_COMMENT_CHARS + 1)),  # 6
        '{"article": {"slug": "a", "title": "t"}, "author": "Eda", "text": "bad \\ud800 half",'
        ' "created_at": "2023-01-01T00:00:00Z", "decision": "approve"}',  # 7
        good_row("Fay", text="nul \x00 inside"),  # 8
        good_row("Gus", decision="reject", reasons=["rudeness"]),  # 9
        good_row("Hal", created_at="2999-01-01T00:00:00Z"),  # 10
        good_row("Ida", decided_at="2023-03-01T09:00:00Z"),  # 11
        b'{"author": "J\xff"}',  # 12
        "[1, 2]",  # 13
        good_row("Kim", article={"slug": "not a slug!", "title": "T"}),  # 14
        good_row("Lea", decision="reject", reasons=["threat"], decided_by="Omar"),  # 15
    ]
    path = write_lines(tmp_path / "mixed.jsonl", lines)
    out, err = run_import(str(path), "--batch-size", "4")
    assert out.strip() == (
        "Imported 2 comment(s) (1 new article(s)); 0 already imported; 13 bad row(s)."
    )
    assert set(Comment.objects.values_list("author_name", flat=True)) == {"Ann", "Lea"}
    reported = dict(line.split(": ", 1) for line in err.strip().splitlines())
    assert list(reported) == [f"line {n}" for n in range(2, 15)]
    expected = {
        2: "not valid JSON",
        3: "author is empty",
        4: "decision must be 'approve' or 'reject'",
        5: "is not an ISO 8601 date and time",
        6: f"the limit is {services.MAX_COMMENT_CHARS}",
        7: "lone surrogate",
        8: "NUL",
        9: "unknown reason code(s) ['rudeness']",
        10: "in the future",
        11: "decided_at is earlier than created_at",
        12: "not valid UTF-8",
        13: "expected a JSON object",
        14: "article slug 'not a slug!'",
    }
    for number, fragment in expected.items():
        assert fragment in reported[f"line {number}"], (number, reported[f"line {number}"])
    assert Decision.objects.get(comment__author_name="Lea").reasons == ["threat"]


def test_a_rejection_without_reasons_cites_other(tmp_path):
    path = write_lines(tmp_path / "h.jsonl", [good_row("Ann", decision="reject")])
    run_import(str(path))
    assert Decision.objects.get().reasons == ["other"]


def test_a_failing_batch_is_written_again_row_by_row(tmp_path, monkeypatch):
    real_write = importing._write
    calls = []

    def flaky_write(rows):
        calls.append(len(rows))
        if len(rows) > 1:
            raise IntegrityError("simulated failure of the whole batch")
        if rows[0].author == "Bob":
            raise IntegrityError("simulated failure of one row")
        return real_write(rows)

    monkeypatch.setattr(importing, "_write", flaky_write)
    path = write_lines(tmp_path / "h.jsonl", [good_row(n) for n in ("Ann", "Bob", "Cem")])
    out, err = run_import(str(path))
    assert calls == [3, 1, 1, 1]
    assert set(Comment.objects.values_list("author_name", flat=True)) == {"Ann", "Cem"}
    assert "line 2: could not be stored: simulated failure of one row" in err
    assert "Imported 2 comment(s)" in out and "1 bad row(s)" in out


def test_repeats_within_one_file_are_counted_once(tmp_path):
    path = write_lines(tmp_path / "h.jsonl", [good_row("Ann")] * 3 + [good_row("Bob")])
    out, _ = run_import(str(path), "--batch-size", "2")
    assert "Imported 2 comment(s)" in out and "2 already imported" in out
    assert Comment.objects.count() == 2


def test_dry_run_checks_and_stores_nothing(article, tmp_path):
    lines = [*(json.loads(x) for x in (FIXTURES / "history.jsonl").read_text().split("\n") if x)]
    path = write_lines(tmp_path / "h.jsonl", [*lines, lines[0], '{"bad"}'])
    out, err = run_import(str(path), "--dry-run", "--batch-size", "2")
    assert out.strip() == (
        "Dry run: would import 4 comment(s) (1 new article(s)); 1 already imported; 1 bad row(s)."
    )
    assert "line 6: not valid JSON" in err
    assert not Comment.objects.exists() and not Article.objects.filter(slug="budget-vote").exists()


def test_only_bad_rows_fail_with_status_1(tmp_path):
    path = write_lines(tmp_path / "bad.jsonl", ["nonsense"])
    with pytest.raises(CommandError) as caught:
        run_import(str(path))
    assert caught.value.returncode == 1
    assert "nothing was imported: 1 bad row(s)" in str(caught.value)


def test_missing_file_and_unknown_format_are_errors(tmp_path):
    with pytest.raises(CommandError) as caught:
        run_import(str(tmp_path / "missing.jsonl"))
    assert caught.value.returncode == 2
    assert "cannot read" in str(caught.value) and "No such file" in str(caught.value)
    with pytest.raises(CommandError, match="invalid choice: 'wordpress'"):
        run_import(str(FIXTURES / "history.jsonl"), "--format", "wordpress")
    assert not Comment.objects.exists()


def test_the_civility_command_exits_2_on_a_missing_file_or_unknown_format(tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "civility.web.settings_test"}
    civility = [sys.executable, "-m", "civility.cli"]
    missing = subprocess.run(
        [*civility, "import", str(tmp_path / "nope.xml"), "--format", "disqus"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert missing.returncode == 2
    assert "cannot read" in missing.stderr and "nope.xml" in missing.stderr
    unknown = subprocess.run(
        [*civility, "import", str(FIXTURES / "history.jsonl"), "--format", "csv"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert unknown.returncode == 2 and "invalid choice: 'csv'" in unknown.stderr


def test_an_imported_decision_needs_no_actor_but_may_not_have_one(moderator_user, post):
    comment = post("hmm, pending")
    with pytest.raises(IntegrityError), transaction.atomic():
        Decision.objects.create(
            comment=comment, action="approve", imported=True, actor=moderator_user
        )


def test_a_live_decision_may_not_name_an_imported_decider(post, moderator_user):
    comment = post("hmm, pending")
    with pytest.raises(IntegrityError), transaction.atomic():
        Decision.objects.create(
            comment=comment, action="approve", actor=moderator_user, decided_by="Layla"
        )


# -- Coral ------------------------------------------------------------------------------------


def test_coral_export(no_engine_no_events):
    out, err = run_import(str(FIXTURES / "coral.jsonl"), "--format", "coral")
    assert out.strip() == (
        "Imported 4 comment(s) (2 new article(s)); 0 already imported; 0 bad row(s);"
        " 2 without a decision."
    )
    assert err.splitlines() == [
        "line 4: skipped, Coral status PREMOD: no moderation decision",
        "line 5: skipped, Coral status SYSTEM_WITHHELD: no moderation decision",
    ]
    flood = Article.objects.get(slug="flood-warnings")
    assert flood.title == "Flood warnings along the river"
    assert flood.url == "https://news.example.org/2022/11/flood-warnings"
    # A story id that is no slug: the last segment of the story's URL.
    assert Article.objects.get(slug="bridge-reopens").title == "The bridge reopens"

    by_author = {c.author_name: c for c in Comment.objects.with_status()}
    good = by_author["reader_one"]
    assert good.body == "Good reporting.\n\nThanks & well done."
    assert good.current_status == "approved"
    decision = good.decisions.get()
    assert decision.decided_by == "desk-anna" and decision.created == utc(2022, 11, 5, 15)
    spam = by_author["loanbot"].decisions.get()
    assert (spam.action, spam.reasons, spam.decided_by) == ("reject", ["promotion"], "desk-anna")
    assert by_author["loanbot"].body == "Cheap loans here!\nClick now"
    system = by_author["reader_two"].decisions.get()
    # Coral's system rejected it (no moderator): kept, but not a human label.
    assert (system.action, system.reasons, system.decided_by) == ("reject", ["other"], "")
    veteran = by_author["veteran"].decisions.get()
    assert (veteran.action, veteran.decided_by) == ("approve", "desk-ben")
    assert Decision.objects.human().count() == 3


# -- Disqus -----------------------------------------------------------------------------------


def test_disqus_export(no_engine_no_events):
    out, err = run_import(str(FIXTURES / "disqus.xml"), "--format", "disqus")
    assert out.strip() == (
        "Imported 3 comment(s) (2 new article(s)); 0 already imported; 1 bad row(s)."
    )
    assert err.strip() == "line 68: the post's thread '7777' is not declared before it"
    strike = Article.objects.get(slug="harbour-strike")  # the thread's identifier
    assert strike.title == "Dock workers strike at the harbour"
    tram = Article.objects.get(slug="new-tram-line")  # identifier no slug: the link
    assert tram.url == "https://news.example.org/2018/06/new-tram-line.html"

    by_author = {c.author_name: c for c in Comment.objects.all()}
    hana = by_author["Hana"]
    assert hana.body == "They deserve a fair wage.\n\nSolidarity & respect."
    assert hana.created == utc(2018, 6, 1, 8)
    assert hana.author_email == ""  # the export's e-mail addresses are not imported
    assert hana.decisions.get().action == "approve"
    spam = by_author["Container Deals"].decisions.get()
    assert (spam.action, spam.reasons) == ("reject", ["promotion"])
    deleted = by_author["Deniz"]
    assert deleted.body == "Line one\nline two"
    assert (deleted.decisions.get().action, deleted.decisions.get().reasons) == (
        "reject",
        ["other"],
    )
    # The export names no moderator: nothing here is a human label unless the newsroom says so.
    assert not Decision.objects.human().exists()


def test_decided_by_names_the_deciders_the_export_leaves_out():
    run_import(str(FIXTURES / "disqus.xml"), "--format", "disqus", "--decided-by", "Desk")
    assert set(Decision.objects.values_list("decided_by", flat=True)) == {"Desk"}
    assert Decision.objects.human().count() == 3


# -- The readers alone (no database) ------------------------------------------------------------


def read(fmt: str, data: bytes, **kwargs) -> list:
    return list(imports.read(fmt, io.BytesIO(data), reason_codes=REASON_CODES, **kwargs))


def test_malformed_xml_keeps_what_came_before_and_names_the_line():
    data = (FIXTURES / "disqus.xml").read_bytes().replace(b'<post dsq:id="9003">', b"<post <")
    items = read("disqus", data)
    rows = [i for i in items if isinstance(i, imports.Row)]
    assert [r.author for r in rows] == ["Hana", "Container Deals"]
    assert items[-1] == imports.Skipped(
        57, "the XML is malformed (not well-formed (invalid token)); nothing after it was read"
    )


def test_naive_timestamps_are_read_in_the_given_zone():
    from zoneinfo import ZoneInfo

    line = json.dumps(good_row("Ann", created_at="2023-03-01 12:00")).encode()
    (row,) = read("jsonl", line, default_tz=ZoneInfo("Asia/Baghdad"))
    assert row.created_at == utc(2023, 3, 1, 9, 0)


def test_the_import_key_depends_on_article_author_time_and_text():
    key = imports.import_key("a", "Ann", utc(2023, 1, 1), "Hello")
    assert key == imports.import_key("a", "Ann", utc(2023, 1, 1), "Hello")
    others = {
        imports.import_key("b", "Ann", utc(2023, 1, 1), "Hello"),
        imports.import_key("a", "Bob", utc(2023, 1, 1), "Hello"),
        imports.import_key("a", "Ann", utc(2023, 1, 2), "Hello"),
        imports.import_key("a", "Ann", utc(2023, 1, 1), "Hello!"),
    }
    assert key not in others and len(others) == 4


def test_html_to_text():
    assert imports.html_to_text("<p>a &lt; b</p><p>c<br/>d</p><script>x()</script>") == (
        "a < b\n\nc\nd"
    )
    assert imports.html_to_text("plain text, 2 < 3") == "plain text, 2 < 3"
