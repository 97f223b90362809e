"""The model store against broken files: a version is checked in full before it is promoted,
shadowed or rolled back to; bad JSON anywhere gives a StoreError that says what is wrong; and
while state.json is truncated every reader gets the last good state, so a process that starts
then scores with the version the running ones already use."""

from __future__ import annotations

import json

import numpy as np
import pytest

from civility.engine.learning import ModelStore, StoreError
from civility.engine.learning.adapter import ADAPTER_META, ADAPTER_WEIGHTS, Adapter, Head
from civility.engine.learning.store import GOOD_STATE_FILE


def adapter(version: str, base: str = "base-v1", seed: int = 0) -> Adapter:
    """A small learnt version for Kurmanji: an "overall" head with a few n-gram weights."""
    rng = np.random.default_rng(seed)
    meta = {
        "version": version,
        "base_version": base,
        "created": f"2026-12-0{seed + 1}T10:00:00Z",
        "parent": None,
        "languages": ["kmr"],
        "opened": ["kmr"],
        "language_columns": ["kmr"],
        "approve_below": {"kmr": 0.2},
        "reject_above": {"kmr": 0.9},
        "report": {"examples": 300, "worse": []},
    }
    head = Head(
        ngram_index=np.array([3, 70, 900], np.int32),
        ngram_weight=rng.normal(size=3).astype(np.float32),
        embedding_weight=rng.normal(size=384),
        bias=-1.0,
        stack_weight=rng.normal(size=4),
        stack_bias=0.2,
    )
    return Adapter(meta, {"overall": head})


@pytest.fixture
def store(tmp_path):
    store = ModelStore(tmp_path)
    for n, version in enumerate(("nr-1", "nr-2")):
        store.add(adapter(version, seed=n))
    return store


def folder(store: ModelStore, version: str):
    return store.versions_dir / version


def rewrite_weights(store, version, **changes):
    """Save the version's arrays again with some replaced."""
    path = folder(store, version) / ADAPTER_WEIGHTS
    with np.load(path) as stored:
        arrays = {k: stored[k] for k in stored.files}
    arrays.update(changes)
    np.savez(path, **arrays)


def rewrite_meta(store, name, **changes):
    path = folder(store, name) / ADAPTER_META
    meta = json.loads(path.read_text())
    meta.update(changes)
    path.write_text(json.dumps(meta))


CORRUPTIONS = {
    "truncated weights": (
        lambda s: (folder(s, "nr-2") / ADAPTER_WEIGHTS).write_bytes(
            (folder(s, "nr-2") / ADAPTER_WEIGHTS).read_bytes()[:200]
        ),
        "adapter.npz is unreadable",
    ),
    "weights replaced by text": (
        lambda s: (folder(s, "nr-2") / ADAPTER_WEIGHTS).write_text("not a zip"),
        "adapter.npz is unreadable",
    ),
    "a head's array missing": (
        lambda s: np.savez(folder(s, "nr-2") / ADAPTER_WEIGHTS, nothing=np.zeros(1)),
        "adapter.npz is unreadable",
    ),
    "truncated adapter.json": (
        lambda s: (folder(s, "nr-2") / ADAPTER_META).write_text('{"version": "nr-2", "langu'),
        "adapter.json is unreadable",
    ),
    "adapter.json is a list": (
        lambda s: (folder(s, "nr-2") / ADAPTER_META).write_text("[1, 2]"),
        "adapter.json holds no JSON object",
    ),
    "embedding of the wrong width": (
        lambda s: rewrite_weights(s, "nr-2", **{"overall.embedding_weight": np.zeros(100)}),
        "embedding_weight has shape (100,), expected (384,)",
    ),
    "weights that are NaN": (
        lambda s: rewrite_weights(s, "nr-2", **{"overall.stack_weight": np.full(4, np.nan)}),
        "weights that are not finite numbers",
    ),
    "n-gram columns out of range": (
        lambda s: rewrite_weights(
            s, "nr-2", **{"overall.ngram_index": np.array([1, 2, 1 << 30], np.int32)}
        ),
        "ngram_index points past the n-gram block",
    ),
    "a band outside 0-1": (
        lambda s: rewrite_meta(s, "nr-2", reject_above={"kmr": 7}),
        "the reject_above band of kmr is 7",
    ),
    "no band for an opened language": (
        lambda s: rewrite_meta(s, "nr-2", approve_below={}),
        "no approve_below band for kmr",
    ),
    "another version's files": (
        lambda s: rewrite_meta(s, "nr-2", version="nr-1"),
        "adapter.json names version 'nr-1'",
    ),
    "an unknown head": (
        lambda s: rewrite_meta(s, "nr-2", heads=["overall", "sarcasm"]),
        "unknown head(s) sarcasm",
    ),
}


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_a_corrupted_version_is_refused_before_any_process_uses_it(store, corruption):
    corrupt, message = CORRUPTIONS[corruption]
    store.promote("nr-1")
    corrupt(store)
    before = store.state_path.read_bytes()
    for attempt in (lambda: store.promote("nr-2"), lambda: store.set_shadow("nr-2")):
        with pytest.raises(StoreError, match="nr-2") as refused:
            attempt()
        assert message in str(refused.value)
    assert store.state_path.read_bytes() == before  # nothing switched
    assert store.state()["active"] == "nr-1"


def test_scores_that_are_not_probabilities_fail_the_trial_run(store):
    # Every weight is a finite number of the right shape; the evidence overflows to infinity
    # and the stacker weighs it by zero: the scores are NaN.
    rewrite_weights(
        store,
        "nr-2",
        **{
            "overall.embedding_weight": np.full(384, 1e308),
            "overall.bias": np.array([1.7e308, 0.0]),
            "overall.stack_weight": np.array([0.1, 0.1, 0.0, 0.1]),
        },
    )
    with pytest.raises(StoreError, match="version nr-2 cannot be used: head .* not finite"):
        store.promote("nr-2")


def test_rolling_back_to_a_version_broken_since_is_refused(store):
    store.promote("nr-1")
    store.promote("nr-2")
    (folder(store, "nr-1") / ADAPTER_WEIGHTS).write_bytes(b"")
    with pytest.raises(StoreError, match="nr-1 cannot be used"):
        store.rollback()
    assert store.state()["active"] == "nr-2"


def test_the_engine_check_can_refuse_a_version(store):
    def runs_here(candidate):
        raise RuntimeError(f"{candidate.version} was learnt on base-v1, this engine is base-v2")

    store.check = runs_here
    with pytest.raises(StoreError, match="nr-2 cannot be used: nr-2 was learnt on base-v1"):
        store.promote("nr-2")
    assert store.state()["active"] is None


def test_a_valid_version_passes_in_full(store):
    checked = []
    store.check = checked.append
    assert store.promote("nr-2") == "nr-2"
    assert [a.version for a in checked] == ["nr-2"]
    assert store.verify("nr-1").version == "nr-1"


def test_list_shows_a_broken_version_with_its_problem(store):
    (folder(store, "nr-2") / ADAPTER_META).write_text("{oops")
    listed = {v["version"]: v for v in store.versions()}
    assert listed["nr-1"]["problem"] == ""
    assert listed["nr-2"]["problem"].startswith("version nr-2: adapter.json is unreadable")


@pytest.mark.parametrize(
    "content, problem",
    [
        ("", "is unreadable: Expecting value"),
        ('{"active": "nr-1", "prev', "is unreadable"),
        ("[]", "holds no JSON object"),
        ('{"previous": 5}', "'previous' is not a list"),
        ('{"active": "../../etc"}', "'../../etc' is not a model version name"),
        ('{"active": 3}', "3 is not a model version name"),
    ],
)
def test_while_state_json_is_broken_every_reader_gets_the_last_good_state(store, content, problem):
    store.promote("nr-1")
    store.set_shadow("nr-2")
    good = store.state()
    store.state_path.write_text(content)  # truncated, or edited into nonsense
    fresh = ModelStore(store.root.parent)  # a process that starts now
    assert fresh.state() == good
    assert problem in fresh.problem and GOOD_STATE_FILE in fresh.problem
    assert fresh.active_adapter().version == "nr-1"
    # A change repairs the file; the good copy follows it.
    assert fresh.promote("nr-2") == "nr-2"
    assert json.loads(store.state_path.read_text())["active"] == "nr-2"
    assert json.loads((store.root / GOOD_STATE_FILE).read_text())["active"] == "nr-2"
    assert ModelStore(store.root.parent).problem == ""


def test_without_a_good_copy_a_broken_state_is_a_clear_error(tmp_path):
    store = ModelStore(tmp_path)
    store.root.mkdir(parents=True)
    store.state_path.write_text("{not json")
    with pytest.raises(StoreError, match="unreadable.*no earlier good state"):
        store.state()
    with pytest.raises(StoreError, match="no earlier good state"):
        store.promote("shipped")
