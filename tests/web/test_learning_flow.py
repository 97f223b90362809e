"""Learning from the newsroom's own decisions, end to end (docs/learning.md): `civility import`
of a history, `civility learn` (human decisions only), `civility model list | shadow | promote |
rollback`, what the site's engine then assesses with, a second running server that picks up a
promotion without a restart, and the periodic task run by Celery beat in a real worker.

The history is Sorani Kurdish (ckb), a language the default policy does not model: the shipped
model leaves every ckb comment to a human. The sentences below were written for these tests.
Each guideline category is named as a rejection's reason fewer than `min_positives` times, so
only the "overall" head is refitted: one head keeps `civility learn` to seconds here.

Learning runs with the default settings and limits on a seeded history, so its outcome is
asserted: 320 decisions open Sorani (decided automatically within 2% approved violations and
2% false rejects on the holdout), after which an abusive comment is rejected and a civil one
approved without a person.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from civility.engine.learning import Example, LearnSettings, ModelStore, learn
from civility.engine.learning.features import compute_features
from civility.web import engine
from civility.web import settings as site_settings
from civility.web.comments import services
from civility.web.comments.models import Assessment, Comment, Decision
from civility.web.learning.models import ShadowAssessment
from civility.web.learning.services import human_examples, model_store
from civility.web.learning.tasks import learn_periodically

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from scale_out import CIVILITY, Cluster  # noqa: E402

pytestmark = pytest.mark.django_db

CIVIL = (
    "سوپاس بۆ ئەم هەواڵە ڕوونە",
    "بابەتێکی زۆر بەسوودە، دەستتان خۆش بێت",
    "من پێموایە حکومەت دەبێت زیاتر کار بکات بۆ خەڵک",
    "ئەم ڕاپۆرتە زۆر ورد و هاوسەنگ بوو",
    "هیوادارم گفتوگۆکان سەرکەوتوو بن و ئاشتی بێت",
    "پرسیارێکم هەیە دەربارەی بودجەی ساڵی داهاتوو",
    "ئاوی خواردنەوە لە گوندەکەمان زۆر کەمە",
    "قوتابخانەکان پێویستیان بە مامۆستای زیاتر هەیە",
    "وتارێکی جوان بوو، چاوەڕێی بەشی دووەمین",
    "ڕێگای نێوان شارەکان پێویستی بە چاککردنەوە هەیە",
    "دەستخۆشی لە تیمی هەواڵەکە دەکەم",
    "کێشەی کارەبا هێشتا چارەسەر نەکراوە",
)
# (sentence, the guideline it breaks)
ABUSIVE = (
    ("تۆ گەمژەیەکی تەواویت", "personal_attack"),
    ("کوڕی سەگ، دەمت دابخە", "abuse"),
    ("نووسەری ئەم وتارە کەرێکی بێشەرەفە", "personal_attack"),
    ("تۆ حەیوانێکی پیسیت", "abuse"),
    ("خوا لەعنەتت لێ بکات، درۆزنی قەحبە", "profanity"),
    ("هەمووتان دزی بێشەرەفن", "abuse"),
    ("دایکت قەحبەیە", "profanity"),
    ("ئەی نەفامی گەمژە، هیچ نازانیت", "personal_attack"),
    ("سەگباب، بێدەنگ بە", "profanity"),
    ("بە خوا دەتکوژم ئەگەر بتبینم", "threat"),
)
OPENERS = ("", "بەڕێزان، ", "سڵاو، ", "بەڕاستی ", "ئەمڕۆ ")
CIVIL_CLOSERS = ("", ".", " سوپاس.", " 👍")
ABUSIVE_CLOSERS = ("", "!", "!!", " ...")
# Fresh sentences for the comments posted after learning (never in the history).
NEW_CIVIL = "زۆر سوپاس بۆ ئەم ڕوونکردنەوە باشە"
NEW_ABUSIVE = "تۆ گەمژەیەکی بێشەرەفی"
ARTICLE = {"slug": "kirkuk-budget", "title": "Kirkuk budget talks"}
START = datetime(2024, 1, 1, 8, tzinfo=UTC)
# The seeded history that opens Sorani: more than min_decisions (300) by named moderators.
APPROVED, REJECTED = 170, 150


def sentences(seed: int = 7):
    """Distinct civil sentences and distinct (abusive sentence, reason) pairs, shuffled."""
    civil = [o + s + c for o, s, c in itertools.product(OPENERS, CIVIL, CIVIL_CLOSERS)]
    abusive = [
        (o + s + c, reason)
        for o, (s, reason), c in itertools.product(OPENERS, ABUSIVE, ABUSIVE_CLOSERS)
    ]
    rng = random.Random(seed)
    rng.shuffle(civil)
    rng.shuffle(abusive)
    return civil, abusive


def decisions(approved: int, rejected: int, seed: int = 7) -> list[tuple[str, str, list[str]]]:
    """(text, decision, reasons): `approved` civil and `rejected` abusive comments, interleaved.
    A rejection names its guideline until that one has min_positives - 1, then "other"."""
    civil, abusive = sentences(seed)
    budget = LearnSettings().min_positives - 1
    named: dict[str, int] = {}
    out = []
    for i in range(max(approved, rejected)):
        if i < approved:
            out.append((civil[i], "approve", []))
        if i < rejected:
            text, reason = abusive[i]
            named[reason] = named.get(reason, 0) + 1
            out.append((text, "reject", [reason if named[reason] <= budget else "other"]))
    return out


def history(approved: int, rejected: int, unattributed: int = 0) -> list[dict]:
    """Import rows: the `decisions()`, each by a named moderator, an hour apart; then
    `unattributed` older decisions that name nobody (not human ones)."""
    rows = []
    for i, (text, decision, reasons) in enumerate(decisions(approved, rejected)):
        created = START + timedelta(hours=i)
        rows.append(
            {
                "article": ARTICLE,
                "author": f"Reader {i}",
                "text": text,
                "created_at": created.isoformat(),
                "decision": decision,
                "reasons": reasons,
                "decided_by": ("Shilan", "Karwan", "Awat")[i % 3],
                "decided_at": (created + timedelta(minutes=30)).isoformat(),
            }
        )
    civil, _ = sentences()
    for j in range(unattributed):
        # The opposite of what a moderator would say: if these were learnt from, it would show.
        created = START - timedelta(days=1, hours=j)
        rows.append(
            {
                "article": ARTICLE,
                "author": f"Old reader {j}",
                "text": civil[-1 - j],
                "created_at": created.isoformat(),
                "decision": "reject",
                "reasons": ["other"],
            }
        )
    return rows


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def until(predicate, timeout: float, what: str, pause: float = 0.05):
    """Poll until `predicate()` is truthy; its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        time.sleep(pause)


@pytest.fixture(scope="module")
def shipped():
    """The shipped engine, loaded once for the module (the process keeps it)."""
    return engine.base_moderator()


@pytest.fixture
def data_dir(settings, tmp_path):
    """A data directory of the test's own; the site's engine forgets any learnt version."""
    settings.DATA_DIR = tmp_path / "data"
    engine.reset()
    yield settings.DATA_DIR
    engine.reset()


def post(article, text: str, author: str = "Reader") -> Comment:
    comment = services.submit_comment(article, author, "", text, ip=f"10.9.{len(author)}.1")
    return Comment.objects.with_status().get(pk=comment.pk)


def automatic_decision(comment: Comment, action: str, reasons=()) -> Decision:
    return Decision.objects.create(
        comment=comment,
        action=action,
        reasons=list(reasons),
        actor_policy_version="policy-cascade-test",
    )


# -- the whole flow in one process --------------------------------------------------------------


@pytest.mark.real_engine
def test_import_learn_shadow_promote_and_rollback(
    shipped, data_dir, tmp_path, article, moderator_user, settings
):
    settings.CIVILITY_POST_LIMIT_PER_IP = (1000, 60)
    settings.CIVILITY_POST_LIMIT_PER_AUTHOR = (1000, 60)
    assert model_store().root == data_dir / "models"
    shipped_version = shipped.model_version
    assert "+nr-" not in shipped_version
    assert engine.get_moderator().model_version == shipped_version

    # 1. The newsroom's history: 320 decisions by named moderators, 12 by nobody known.
    rows = history(approved=APPROVED, rejected=REJECTED, unattributed=12)
    path = write_jsonl(tmp_path / "history.jsonl", rows)
    out = run("import", str(path), "--quiet")
    assert out.startswith("Imported 332 comment(s)")
    assert Decision.objects.filter(imported=True).count() == 332
    assert Decision.objects.human().count() == 320

    # 2. Live decisions: only people's count, and the latest one on a comment wins.
    civil, abusive = sentences()  # [200:] and [180:]: sentences the history does not use
    only_automatic = Comment.objects.create(article=article, author_name="A", body=civil[200])
    automatic_decision(only_automatic, "approve")  # the policy's call is never a label
    reversed_auto = Comment.objects.create(article=article, author_name="B", body=civil[201])
    automatic_decision(reversed_auto, "reject", ["abuse"])
    services.record_decision(reversed_auto, "approve", [], moderator_user)
    changed_mind = Comment.objects.create(article=article, author_name="C", body=abusive[180][0])
    services.record_decision(changed_mind, "approve", [], moderator_user)
    services.record_decision(changed_mind, "reject", ["other"], moderator_user)
    imported_then_reversed = Comment.objects.get(body=rows[0]["text"])  # an imported approval
    services.record_decision(imported_then_reversed, "reject", ["off_topic"], moderator_user)

    examples = {e.key: e for e in human_examples()}
    assert len(examples) == 322  # the 320 attributed, plus the two live comments
    assert str(only_automatic.pk) not in examples
    assert (examples[str(reversed_auto.pk)].decision, examples[str(reversed_auto.pk)].reasons) == (
        "approve",
        (),
    )
    assert examples[str(changed_mind.pk)].decision == "reject"
    assert examples[str(changed_mind.pk)].reasons == ("other",)
    assert examples[str(imported_then_reversed.pk)].decision == "reject"
    assert examples[str(imported_then_reversed.pk)].reasons == ("off_topic",)
    assert examples[str(imported_then_reversed.pk)].text == rows[0]["text"]
    unattributed = {r["text"] for r in rows[320:]}
    assert not unattributed & {e.text for e in examples.values()}
    keys = list(examples)
    assert keys[-3:] == [str(c.pk) for c in (reversed_auto, changed_mind, imported_then_reversed)]
    assert [e.key for e in human_examples(limit=2)] == keys[-2:]

    # 3. `civility learn` with its defaults (300 decisions before a language opens, the most
    # recent 20% the holdout, 2% approved violations, 2% false rejects): a candidate, stored,
    # not active, that opens Sorani.
    report = json.loads(run("learn", "--json"))
    version = report["version"]
    assert version.startswith("nr-")
    assert report["examples"] == 322
    assert (report["train"], report["holdout"]) == (258, 64)
    assert report["languages"] == {"ckb": 322}
    assert report["adapted"] == ["ckb"]
    assert report["opened"] == ["ckb"]
    assert report["heads"] == ["overall"]
    assert report["worse"] == []
    assert set(report["candidate"]) == set(report["active"]) == {"ckb"}
    assert report["active"]["ckb"]["automation"] == 0.0  # the shipped model: all to a human
    judged = report["candidate"]["ckb"]  # on the 64 most recent decisions
    assert judged["approved_violations"] == 0.0 and judged["false_rejects"] == 0.0
    assert judged["automation"] >= 0.9
    assert report["promoted"] is False and report["why"] == "auto-promotion is off"

    folder = data_dir / "models" / "versions" / version
    assert {p.name for p in folder.iterdir()} == {"adapter.json", "adapter.npz"}
    meta = json.loads((folder / "adapter.json").read_text())
    assert meta["base_version"] == shipped.base_version
    assert meta["parent"] is None
    assert meta["report"]["examples"] == 322
    assert model_store().state()["active"] is None

    # 4. `civility model list`.
    listing = run("model", "list")
    assert listing.splitlines()[0] == "active: shipped; shadow: none"
    assert listing.splitlines()[1].startswith(f"candidate  {version}  created ")
    assert "322 decisions  adapted ckb  opened ckb  worse in none" in listing
    as_json = json.loads(run("model", "list", "--json"))
    assert [(v["version"], v["status"]) for v in as_json["versions"]] == [(version, "candidate")]
    assert as_json["state"]["active"] is None

    # 5. Shadow: the candidate scores each new comment too; the shipped model still decides.
    assert run("model", "shadow").strip() == f"{version} now scores new comments in shadow"
    assert model_store().state()["shadow"] == version
    candidate_version = f"{shipped.base_version}+policy-{shipped.base_policy.version}+{version}"
    with_shadow = until(
        lambda: (m := engine.get_moderator()).shadow is not None and m,
        timeout=5,
        what="the site's engine picks up the shadow version",
    )
    assert with_shadow.model_version == shipped_version
    assert with_shadow.shadow.model_version == candidate_version
    assert with_shadow.cascade is shipped.cascade  # the shipped tiers are never reloaded

    in_shadow = post(article, NEW_ABUSIVE, author="Shadowed")
    assessment = Assessment.objects.get(comment=in_shadow)
    assert assessment.model_version == shipped_version
    assert assessment.suggested_decision == "review"
    assert "unsupported_language" in assessment.reason_codes
    assert not in_shadow.decisions.exists()  # the shipped model decided nothing
    assert in_shadow.current_status == "pending"
    shadow = ShadowAssessment.objects.get(comment=in_shadow)
    assert shadow.model_version == candidate_version
    assert shadow.language == "ckb"
    # The candidate's own view, recorded and never acted upon: it opened ckb, so it decides
    # there like in a modelled language, and would have rejected this comment.
    assert "unsupported_language" not in shadow.reason_codes
    assert shadow.suggested_decision == "reject"
    assert set(shadow.categories) == set(assessment.categories)
    # A language the candidate did not adapt: the same reading, the same scores and verdict;
    # whatever is decided automatically is the shipped policy's decision.
    english = post(article, "The talks in Baghdad seem constructive so far.", author="Eng")
    assessment = Assessment.objects.get(comment=english)
    shadow = ShadowAssessment.objects.get(comment=english)
    assert (assessment.language, shadow.language) == ("en", "en")
    assert assessment.model_version == shipped_version
    assert shadow.model_version == candidate_version
    assert shadow.categories == assessment.categories
    assert shadow.suggested_decision == assessment.suggested_decision
    for decision in english.decisions.all():
        assert decision.actor_policy_version == f"policy-{shipped.policy.version}"
    assert run("model", "list").splitlines()[1].startswith(f"shadow     {version}  ")

    # 6. Promote: new comments are assessed (and decided) by the learnt version.
    assert run("model", "promote", version).strip() == f"{version} is now active"
    state = model_store().state()
    assert (state["active"], state["shadow"], state["previous"]) == (version, None, [None])
    promoted = until(
        lambda: (m := engine.get_moderator()).model_version == candidate_version and m,
        timeout=5,
        what="the site's engine picks up the promotion without engine.reset()",
    )
    assert promoted.shadow is None
    assert "ckb" in promoted.policy.modelled_languages
    assert promoted.cascade is shipped.cascade
    after = post(article, NEW_ABUSIVE + "!", author="Promoted")
    assessment = Assessment.objects.get(comment=after)
    assert assessment.model_version == candidate_version
    assert "unsupported_language" not in assessment.reason_codes
    assert not ShadowAssessment.objects.filter(comment=after).exists()  # shadow ended
    # Rejected automatically: the newsroom's decisions taught what the shipped model left to a
    # person; the automatic decision names the learnt version.
    assert assessment.suggested_decision == "reject"
    assert [d.action for d in after.decisions.all()] == ["reject"]
    assert after.decisions.get().actor_policy_version.endswith(f"+{version}")
    welcome = post(article, NEW_CIVIL, author="Promoted too")
    assert Assessment.objects.get(comment=welcome).suggested_decision == "approve"
    assert [d.action for d in welcome.decisions.all()] == ["approve"]
    assert run("model", "list").splitlines()[0] == f"active: {version}; shadow: none"

    # 7. Roll back: the shipped model again.
    assert run("model", "rollback").strip() == "rolled back: shipped is now active"
    until(
        lambda: engine.get_moderator().model_version == shipped_version,
        timeout=5,
        what="the site's engine picks up the rollback",
    )
    back = post(article, NEW_CIVIL + ".", author="Rolled back")
    assessment = Assessment.objects.get(comment=back)
    assert assessment.model_version == shipped_version
    assert assessment.suggested_decision == "review"
    as_json = json.loads(run("model", "list", "--json"))
    assert as_json["state"]["active"] is None
    assert [v["status"] for v in as_json["versions"]] == ["candidate"]
    with pytest.raises(CommandError, match="nothing to roll back to"):
        run("model", "rollback")


# -- the site's engine re-reads the store, cheaply ----------------------------------------------


@pytest.mark.real_engine
def test_the_engine_checks_the_state_file_at_most_once_a_second(shipped, data_dir, monkeypatch):
    assert engine.RECHECK_SECONDS == 1.0
    checks = []
    signature = ModelStore.signature
    monkeypatch.setattr(ModelStore, "signature", lambda self: checks.append(1) or signature(self))
    monkeypatch.setattr(engine, "RECHECK_SECONDS", 3600.0)  # no second check by chance
    first = engine.get_moderator()
    assert len(checks) == 1
    for _ in range(200):
        assert engine.get_moderator() is first  # no stat, no new engine
    assert len(checks) == 1
    monkeypatch.setattr(engine, "RECHECK_SECONDS", 0.0)
    assert engine.get_moderator() is first  # checked again: nothing changed, same engine
    assert len(checks) == 2


# -- what the commands refuse --------------------------------------------------------------------


def test_promote_of_an_unknown_version_is_a_clear_error(data_dir):
    with pytest.raises(CommandError, match=r"no model version 'nr-20990101-000000-abcdef' \("):
        run("model", "promote", "nr-20990101-000000-abcdef")
    with pytest.raises(CommandError, match="shipped is already active"):
        run("model", "promote", "shipped")
    with pytest.raises(CommandError, match="no candidate version to promote"):
        run("model", "promote")
    assert not (data_dir / "models" / "state.json").exists()


def test_rollback_with_nothing_before_is_a_clear_error(data_dir):
    with pytest.raises(CommandError, match="nothing to roll back to"):
        run("model", "rollback")
    with pytest.raises(CommandError, match="no candidate version"):
        run("model", "shadow")
    with pytest.raises(CommandError, match="no model version 'nr-missing'"):
        run("model", "shadow", "nr-missing")
    assert run("model", "list").splitlines() == [
        "active: shipped; shadow: none",
        "no learnt versions yet (civility learn)",
    ]


def test_learn_with_too_few_human_decisions_is_a_clear_error(data_dir, article, tmp_path):
    # Plenty of decisions, but the policy's and unattributed imports are no labels.
    civil, _ = sentences()
    for i, text in enumerate(civil[:60]):
        comment = Comment.objects.create(article=article, author_name=f"R{i}", body=text)
        automatic_decision(comment, "approve")
    rows = history(approved=20, rejected=20, unattributed=30)
    run("import", str(write_jsonl(tmp_path / "h.jsonl", rows)), "--quiet")
    assert len(human_examples()) == 40
    with pytest.raises(CommandError, match="^40 human decisions; at least 50 are needed to learn$"):
        run("learn")
    assert not (data_dir / "models" / "versions").exists()


# -- periodic learning (Celery beat) -------------------------------------------------------------


def test_the_beat_schedule_follows_the_environment():
    assert site_settings.learning_schedule({}) == {}
    assert site_settings.learning_schedule({"CIVILITY_LEARN_EVERY_HOURS": ""}) == {}
    assert site_settings.learning_schedule({"CIVILITY_LEARN_EVERY_HOURS": "0"}) == {}
    assert site_settings.learning_schedule({"CIVILITY_LEARN_EVERY_HOURS": "-3"}) == {}
    assert site_settings.learning_schedule({"CIVILITY_LEARN_EVERY_HOURS": "6"}) == {
        "civility-learn": {
            "task": "civility.learn",
            "schedule": 6 * 3600,
            "kwargs": {"auto_promote": False},
        }
    }
    every_half_hour = site_settings.learning_schedule(
        {"CIVILITY_LEARN_EVERY_HOURS": "0.5", "CIVILITY_LEARN_AUTO_PROMOTE": "1"}
    )
    assert every_half_hour["civility-learn"]["schedule"] == 1800
    assert every_half_hour["civility-learn"]["kwargs"] == {"auto_promote": True}
    with pytest.raises(ValueError, match="CIVILITY_LEARN_EVERY_HOURS must be a number of hours"):
        site_settings.learning_schedule({"CIVILITY_LEARN_EVERY_HOURS": "daily"})

    # The site's own settings, read by a fresh process under a given environment.
    from civility.web.site.management.commands.worker import worker_argv
    from civility.web.workers import app

    assert (
        settings_schedule({"CIVILITY_LEARN_EVERY_HOURS": "", "CIVILITY_LEARN_AUTO_PROMOTE": ""})
        == {}
    )
    assert settings_schedule(
        {"CIVILITY_LEARN_EVERY_HOURS": "24", "CIVILITY_LEARN_AUTO_PROMOTE": "1"}
    ) == {
        "civility-learn": {
            "task": "civility.learn",
            "schedule": 86400,
            "kwargs": {"auto_promote": True},
        }
    }
    assert app.tasks["civility.learn"].name == learn_periodically.name == "civility.learn"
    assert site_settings.CELERY_TASK_ROUTES["civility.learn"] == {"queue": "civility.learn"}
    beat = worker_argv(1, "solo", "INFO", beat=True)
    assert "--beat" in beat and any(
        a.startswith("--queues=") and "civility.learn" in a for a in beat
    )
    plain = worker_argv(1, "solo", "INFO")
    assert "--beat" not in plain and not any("civility.learn" in a for a in plain)


def settings_schedule(environment: dict) -> dict:
    """CELERY_BEAT_SCHEDULE as the site's settings module builds it in a fresh process."""
    code = (
        "import json\n"
        "from civility.web import settings\n"
        "print(json.dumps(settings.CELERY_BEAT_SCHEDULE))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "CIVILITY_PRODUCTION": "0", **environment},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def test_periodic_learning_waits_for_enough_decisions(data_dir, tmp_path):
    run(
        "import",
        str(write_jsonl(tmp_path / "h.jsonl", history(approved=10, rejected=10))),
        "--quiet",
    )
    outcome = learn_periodically()
    assert outcome == {
        "learnt": False,
        "reason": "20 human decisions; at least 50 are needed to learn",
    }
    assert not (data_dir / "models" / "versions").exists()


@pytest.mark.real_engine
def test_periodic_learning_learns_and_stores_a_candidate(shipped, data_dir, tmp_path):
    # 52 decisions: enough to learn from; too few rejections to refit a head and too few
    # decisions to judge a language on, so nothing is adapted and auto-promotion declines.
    rows = history(approved=40, rejected=12)
    run("import", str(write_jsonl(tmp_path / "h.jsonl", rows)), "--quiet")
    outcome = learn_periodically.apply(kwargs={"auto_promote": True}).get()
    assert outcome["learnt"] is True
    assert outcome["promoted"] is False
    assert outcome["reason"] == "it adapts no language"
    assert outcome["worse"] == []
    versions = model_store().versions()
    assert [(v["version"], v["status"]) for v in versions] == [(outcome["version"], "candidate")]
    assert versions[0]["report"]["examples"] == 52
    assert versions[0]["adapted"] == []
    assert model_store().state()["active"] is None


# -- a second process: the running server -------------------------------------------------------


def assess_over_http(port: int, text: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/assess",
        data=json.dumps({"text": text}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
        return json.loads(response.read())


@pytest.mark.slow
@pytest.mark.real_engine
def test_a_running_server_picks_up_a_promotion_and_a_rollback_without_restart(shipped):
    database = os.environ.get("DATABASE_URL", "")
    cluster = Cluster(
        database if database.startswith("postgres") else "sqlite",
        redis_url="",
        servers=1,
        workers=0,
        extra_env={"CIVILITY_ASSESS_LIMIT_PER_IP": "100000/60", "LOG_LEVEL": "INFO"},
    )
    try:
        cluster.start()
        port = cluster.servers[0][0]
        shipped_version = shipped.model_version
        assert assess_over_http(port, NEW_ABUSIVE)["model_version"] == shipped_version

        # A candidate learnt in this process, on a small history, into the server's data dir.
        examples = [
            Example(text, decision, tuple(reasons), decided_at=i, key=str(i))
            for i, (text, decision, reasons) in enumerate(decisions(approved=40, rejected=12))
        ]
        features = compute_features(shipped, [e.text for e in examples])
        adapter, _ = learn(features, examples, shipped.base_policy, shipped.base_version)
        ModelStore(cluster.data_dir).add(adapter)
        learnt_version = f"{shipped_version}+{adapter.version}"

        # Promoted by another process (the CLI), seen by the server without a restart.
        assert cluster.civility("model", "promote", adapter.version).strip() == (
            f"{adapter.version} is now active"
        )
        until(
            lambda: assess_over_http(port, NEW_ABUSIVE)["model_version"] == learnt_version,
            timeout=30,
            what="the server assesses with the promoted version",
            pause=0.25,
        )
        assert cluster.civility("model", "rollback").strip() == (
            "rolled back: shipped is now active"
        )
        until(
            lambda: assess_over_http(port, NEW_ABUSIVE)["model_version"] == shipped_version,
            timeout=30,
            what="the server assesses with the shipped model again",
            pause=0.25,
        )
        assert cluster.servers[0][1].poll() is None  # the same process throughout
    except BaseException:
        print((cluster.data_dir / "server-0.log").read_text(errors="replace")[-5000:])
        raise
    finally:
        cluster.stop()


@pytest.mark.slow
@pytest.mark.real_engine
def test_beat_runs_periodic_learning_in_a_worker_that_promotes(redis_url, tmp_path):
    """`civility worker --beat` with CIVILITY_LEARN_EVERY_HOURS set: beat sends civility.learn
    on its own queue, the same worker learns from the site's history and, with
    CIVILITY_LEARN_AUTO_PROMOTE=1, promotes the candidate (it opens Sorani, worse nowhere)."""
    database = os.environ.get("DATABASE_URL", "")
    cluster = Cluster(
        database if database.startswith("postgres") else "sqlite",
        redis_url=redis_url,
        servers=0,
        workers=0,
        extra_env={
            "CIVILITY_LEARN_EVERY_HOURS": str(20 / 3600),  # every 20 s: the first 20 s in
            "CIVILITY_LEARN_AUTO_PROMOTE": "1",
            "LOG_LEVEL": "INFO",
        },
    )
    worker = None
    log_path = cluster.data_dir / "beat-worker.log"
    try:
        cluster.prepare()
        rows = history(approved=APPROVED, rejected=REJECTED)
        out = cluster.civility("import", str(write_jsonl(tmp_path / "h.jsonl", rows)), "--quiet")
        assert out.startswith("Imported 320 comment(s)")
        store = ModelStore(cluster.data_dir)
        assert store.versions() == [] and store.state()["active"] is None
        with open(log_path, "w") as log:
            worker = subprocess.Popen(
                [CIVILITY, "worker", "--beat", "--pool=solo", "--concurrency=1"],
                cwd=cluster.data_dir,  # beat's celerybeat-schedule file goes here
                env=cluster.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        active = until(
            lambda: worker.poll() is None and store.state()["active"],
            timeout=300,
            what="beat sends civility.learn and the worker learns and promotes",
            pause=0.5,
        )
        first = store.versions()[0]
        assert first["version"] == active
        assert first["report"]["examples"] == 320
        assert first["opened"] == ["ckb"]
        assert first["report"]["worse"] == []
        # The task's own outcome, as the worker logged it when it returned.
        succeeded = until(
            lambda: [
                line
                for line in log_path.read_text(errors="replace").splitlines()
                if "Task civility.learn[" in line and " succeeded in " in line
            ],
            timeout=60,
            what="the worker logs the task's outcome",
            pause=0.5,
        )
        assert f"'version': '{active}'" in succeeded[0]
        assert "'learnt': True" in succeeded[0] and "'promoted': True" in succeeded[0]
        assert "beat: Starting" in log_path.read_text(errors="replace")
    except BaseException:
        print(log_path.read_text(errors="replace")[-5000:] if log_path.exists() else "no log")
        raise
    finally:
        if worker is not None and worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
        cluster.stop()
