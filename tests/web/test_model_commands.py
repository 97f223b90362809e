"""`civility model list | promote | shadow | rollback` against a broken store: one-line errors,
never a traceback; a corrupted version is refused instead of "promoted" into a silent fall back
to the shipped model; and while state.json is truncated, a process that starts scores with the
same version as those already running (the site's engine reads the last good state)."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from civility.engine.learning import ModelStore
from civility.engine.learning.adapter import ADAPTER_META, ADAPTER_WEIGHTS
from civility.web import engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))
from test_model_store import adapter  # noqa: E402

CIVILITY = str(Path(sys.executable).with_name("civility"))


class FakeEngine:
    """What the site's engine needs of a moderator: the version it scores with."""

    def __init__(self, version: str | None, shadow=None):
        self.version, self.shadow = version, shadow

    @property
    def model_version(self) -> str:
        return f"base-v1+{self.version or 'shipped'}"

    def with_adapter(self, learnt):
        if learnt is not None and learnt.base_version != "base-v1":
            from civility.engine.learning.adapter import AdapterUnavailable

            raise AdapterUnavailable(f"{learnt.version} was learnt on {learnt.base_version}")
        return FakeEngine(learnt.version if learnt is not None else None)

    def with_shadow(self, shadow):
        return FakeEngine(self.version, shadow)


@pytest.fixture
def site(settings, tmp_path, monkeypatch):
    """A data directory with two stored versions, and the site's engine on a fake base that
    knows learnt versions."""
    settings.DATA_DIR = tmp_path / "data"
    store = ModelStore(settings.DATA_DIR)
    store.add(adapter("nr-1", seed=0))
    store.add(adapter("nr-2", seed=1))
    store.add(adapter("nr-other", base="base-v0", seed=2))
    monkeypatch.setattr(engine, "_base", FakeEngine(None))
    monkeypatch.setattr(engine, "RECHECK_SECONDS", 0.0)
    engine.reset()
    yield store
    engine.reset()


def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("model", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_promoting_a_corrupted_version_is_refused_and_nothing_changes(site):
    run("promote", "nr-1")
    (site.versions_dir / "nr-2" / ADAPTER_WEIGHTS).write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(CommandError, match="version nr-2 cannot be used: adapter.npz is unread"):
        run("promote", "nr-2")
    with pytest.raises(CommandError, match="version nr-2 cannot be used"):
        run("shadow", "nr-2")
    assert site.state()["active"] == "nr-1"
    assert engine.get_moderator().version == "nr-1"  # every process keeps scoring with nr-1


def test_a_version_the_site_engine_cannot_run_is_refused(site):
    with pytest.raises(CommandError, match="nr-other cannot be used: nr-other was learnt on base"):
        run("promote", "nr-other")
    assert run("promote", "nr-1")[0].strip() == "nr-1 is now active"


def test_bad_json_in_a_version_is_listed_and_refused_without_a_traceback(site):
    (site.versions_dir / "nr-2" / ADAPTER_META).write_text('{"version": "nr-2", "lang')
    out, _ = run("list")
    broken = [line for line in out.splitlines() if "nr-2" in line]
    assert broken == [
        "candidate  nr-2  broken: version nr-2: adapter.json is unreadable: "
        "Unterminated string starting at: line 1 column 21 (char 20)"
    ]
    for action in (("promote", "nr-2"), ("shadow", "nr-2")):
        with pytest.raises(CommandError, match="nr-2"):
            run(*action)


@pytest.mark.parametrize("content", ["", '{"active": "nr-1", "previ', "[]", '{"previous": {}}'])
def test_every_command_on_a_broken_state_file_without_a_good_copy_is_a_clear_error(site, content):
    site.state_path.parent.mkdir(parents=True, exist_ok=True)
    site.state_path.write_text(content)
    for action in (("list",), ("promote", "nr-1"), ("shadow", "nr-1"), ("rollback",)):
        with pytest.raises(CommandError, match="state.json is unreadable.*no earlier good state"):
            run(*action)


def test_while_state_json_is_truncated_a_new_process_scores_like_the_running_ones(site):
    run("promote", "nr-1")
    run("shadow", "nr-2")
    running = engine.get_moderator()
    assert (running.version, running.shadow.version) == ("nr-1", "nr-2")

    site.state_path.write_text('{"active": "nr-')  # truncated mid-write by something else
    # The running process notices the change and keeps the same versions...
    again = engine.get_moderator()
    assert (again.version, again.shadow.version) == ("nr-1", "nr-2")
    # ...and a process that starts now uses them too, not the shipped model.
    engine.reset()
    started = engine.get_moderator()
    assert (started.version, started.shadow.version) == ("nr-1", "nr-2")

    out, err = run("list")
    assert out.splitlines()[0] == "active: nr-1; shadow: nr-2"
    assert "warning:" in err and "using the last good state (state.good.json)" in err
    assert run("rollback")[0].strip() == "rolled back: shipped is now active"  # and repaired
    assert ModelStore(site.root.parent).state()["active"] is None


@pytest.mark.slow
def test_the_cli_prints_one_line_and_no_traceback(site, tmp_path):
    (site.versions_dir / "nr-2" / ADAPTER_META).write_text("{")
    site.state_path.parent.mkdir(parents=True, exist_ok=True)
    site.state_path.write_text("{")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        CIVILITY_DATA_DIR=str(site.root.parent),
        CIVILITY_PRODUCTION="0",
        DJANGO_SETTINGS_MODULE="civility.web.settings",
    )
    for action in (["list"], ["promote", "nr-2"], ["shadow", "nr-2"], ["rollback"]):
        done = subprocess.run(
            [CIVILITY, "model", *action], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 1, done
        assert "Traceback" not in done.stderr, done.stderr
        assert done.stderr.strip().splitlines() == [
            f"CommandError: {site.state_path} is unreadable: Expecting property name enclosed "
            "in double quotes: line 1 column 2 (char 1); there is no earlier good state to "
            "use: remove the file to return to the shipped model, or promote a version"
        ]
